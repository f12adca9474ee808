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
