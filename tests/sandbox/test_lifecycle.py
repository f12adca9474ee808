"""Containers disappear when their owner exits, is signalled, or dies; gc finds leftovers."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

from sandgym.sandbox import DockerSandbox, docker_client

OWNER_SCRIPT = textwrap.dedent("""
    import sys, time
    from sandgym.sandbox import SandboxPool
    pool = SandboxPool(size=2)
    pool.wait_ready()
    boxes = [pool.acquire(), pool.acquire()]
    print(" ".join(b.container_id for b in boxes), flush=True)
    time.sleep(300)
""")


def _spawn_owner() -> tuple[subprocess.Popen, list[str]]:
    proc = subprocess.Popen([sys.executable, "-c", OWNER_SCRIPT], stdout=subprocess.PIPE,
                            text=True)
    line = proc.stdout.readline()
    assert line, "owner process did not start its sandboxes"
    return proc, line.split()


def _wait_gone(ids: list[str], timeout: float = 30) -> set[str]:
    client = docker_client()
    deadline = time.monotonic() + timeout
    while True:
        alive = {c["Id"] for c in client.api.containers(all=True)} & set(ids)
        if not alive or time.monotonic() > deadline:
            return alive


def test_sigterm_removes_the_owners_containers():
    proc, ids = _spawn_owner()
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=60)
    assert not _wait_gone(ids)


def test_sigint_removes_the_owners_containers():
    proc, ids = _spawn_owner()
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=60)
    assert not _wait_gone(ids)


def test_sigkill_of_the_owner_still_removes_its_containers():
    proc, ids = _spawn_owner()
    proc.kill()
    proc.wait(timeout=60)
    # The attach connection closes, the executor reads EOF, the engine auto-removes.
    assert not _wait_gone(ids)


def test_gc_removes_containers_of_dead_owners():
    dead_owner = {"sandgym.owner_pid": "999999", "sandgym.owner_start": "1",
                  "sandgym.owner": "test:999999:1"}
    orphan = DockerSandbox(labels=dead_owner)
    live = DockerSandbox()
    try:
        out = subprocess.run([os.path.join(os.path.dirname(sys.executable), "sandgym"),
                              "sandbox", "gc"], capture_output=True, text=True, check=True)
        assert orphan.container_id[:12] in out.stdout
        assert live.container_id[:12] not in out.stdout
        assert not _wait_gone([orphan.container_id], timeout=10)
        assert live.run_python("print('still here')").stdout == "still here\n"
    finally:
        orphan.close()
        live.close()


def _labelled_image(client, label: str, marker: str) -> str:
    """A metadata-only image on top of the sandbox image (no layer to build)."""
    import io

    from sandgym.sandbox.image import DEFAULT_IMAGE

    recipe = f"FROM {DEFAULT_IMAGE}\nLABEL {label} test.marker={marker}\n"
    image, _ = client.images.build(fileobj=io.BytesIO(recipe.encode()), rm=True, pull=False)
    return image.id


def test_image_gc_removes_unused_labelled_images_and_keeps_used_ones():
    from sandgym.sandbox.gc import collect_images

    client = docker_client()
    label = f"sandgym.image=gc-test-{os.getpid()}"
    unused = _labelled_image(client, label, "unused")
    used = _labelled_image(client, label, "used")
    holder = client.api.create_container(used, command=["true"])  # created, never started
    try:
        listed = collect_images(client, label=label, dry_run=True)
        assert [entry["id"] for entry in listed] == [unused]
        assert client.images.get(unused)  # a dry run removes nothing
        removed = collect_images(client, label=label)
        assert [entry["id"] for entry in removed] == [unused]
        ids = {image.id for image in client.images.list(filters={"label": label})}
        assert ids == {used}
    finally:
        client.api.remove_container(holder["Id"], force=True)
        for image in (unused, used):
            try:
                client.api.remove_image(image, force=True)
            except Exception:  # noqa: BLE001 - already gone
                pass


def test_cli_gc_lists_isolated_images_on_a_dry_run():
    sandgym = os.path.join(os.path.dirname(sys.executable), "sandgym")
    out = subprocess.run([sandgym, "sandbox", "gc", "--images", "--dry-run"],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "isolated-env image(s)" in out.stdout


def test_cli_exec_prints_json():
    sandgym = os.path.join(os.path.dirname(sys.executable), "sandgym")
    out = subprocess.run([sandgym, "sandbox", "exec", "--code", "print(6 * 7)", "--json"],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["status"] == "ok" and result["stdout"] == "42\n"
    failing = subprocess.run([sandgym, "sandbox", "exec", "--code", "raise SystemExit(3)",
                              "--json"], capture_output=True, text=True)
    assert failing.returncode == 1
    assert json.loads(failing.stdout)["exit_code"] == 3
