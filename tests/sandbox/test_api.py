"""DockerSandbox API: files, reset, commands, errors, image checks."""

from __future__ import annotations

import re
import subprocess

import pytest

from sandgym.errors import ImageMismatchError, ImageNotFoundError
from sandgym.sandbox import DockerSandbox, SandboxLimits, docker_client
from sandgym.sandbox.image import DEFAULT_IMAGE


def test_state_persists_in_files_between_requests(sandbox):
    assert sandbox.run("echo hello > notes.txt").ok
    assert sandbox.run("cat notes.txt").stdout == "hello\n"
    sandbox.write_file("sub/data.bin", b"\x00\x01binary")
    assert sandbox.read_file("sub/data.bin") == b"\x00\x01binary"
    result = sandbox.run_python("print(open('sub/data.bin','rb').read()[2:])")
    assert result.stdout == "b'binary'\n"


def test_files_argument_and_import_from_workdir(sandbox):
    result = sandbox.run_python("import helper; print(helper.answer())",
                                files={"helper.py": "def answer():\n    return 42\n"})
    assert result.stdout == "42\n", result


def test_reset_wipes_scratch_space(sandbox):
    sandbox.run("mkdir -p d/e && touch d/e/f /tmp/t /dev/shm/s && chmod 000 d/e d")
    sandbox.reset()
    result = sandbox.run("ls -A /work /tmp /dev/shm")
    assert result.stdout.split() == ["/dev/shm:", "/tmp:", "/work:"], result


def test_paths_must_stay_in_the_workdir(sandbox):
    for bad in ["/etc/passwd", "../x", "a/../../b", ""]:
        with pytest.raises(ValueError, match="relative to /work"):
            sandbox.write_file(bad, "x")


def test_read_file_follows_permissions_of_the_sandbox_user(sandbox):
    sandbox.run("ln -sf /etc/shadow shadow")
    with pytest.raises(FileNotFoundError, match="Permission denied"):
        sandbox.read_file("shadow")
    sandbox.reset()


def test_environment_and_argv_commands(sandbox):
    result = sandbox.run(["python3", "-c", "import os; print(os.environ['GREETING'])"],
                         env={"GREETING": "hi"})
    assert result.stdout == "hi\n"
    missing = sandbox.run(["no-such-program"])
    assert missing.status == "error" and missing.exit_code == 127
    assert "cannot execute" in missing.stderr


def test_timeout_must_be_positive(sandbox):
    with pytest.raises(ValueError, match=re.escape("timeout must be > 0 seconds, got 0.0")):
        sandbox.run_python("pass", timeout=0)


def test_limits_validate_with_clear_messages():
    with pytest.raises(ValueError, match=re.escape("SandboxLimits.memory_mb must be >= 64")):
        SandboxLimits(memory_mb=16)
    with pytest.raises(ValueError, match=re.escape("SandboxLimits.cpus must be > 0")):
        SandboxLimits(cpus=0)
    assert SandboxLimits(network=True).loosened() == ["network"]


def test_missing_image_is_a_clear_error():
    with pytest.raises(ImageNotFoundError, match=re.escape("run `sandgym image build`")):
        DockerSandbox(image="sandgym/does-not-exist:nope")


def test_protocol_mismatch_is_a_clear_error(tmp_path):
    (tmp_path / "Dockerfile").write_text(f"FROM {DEFAULT_IMAGE}\nLABEL sandgym.protocol=999\n")
    client = docker_client()
    client.images.build(path=str(tmp_path), tag="sandgym/test-mismatch:latest", rm=True)
    try:
        with pytest.raises(ImageMismatchError, match=re.escape("sandgym image build --force")):
            DockerSandbox(image="sandgym/test-mismatch:latest")
    finally:
        client.images.remove("sandgym/test-mismatch:latest", force=True)


def test_container_killed_from_outside_gives_sandbox_error():
    box = DockerSandbox()
    try:
        import threading

        def kill_soon() -> None:
            import time

            time.sleep(0.5)
            subprocess.run(["docker", "kill", box.container_id], capture_output=True)

        threading.Thread(target=kill_soon).start()
        result = box.run_python("import time; time.sleep(20)", timeout=30)
        assert result.status == "sandbox_error", result
        assert not box.healthy
    finally:
        box.close()


def test_hardening_is_applied(sandbox):
    attrs = docker_client().api.inspect_container(sandbox.container_id)
    host = attrs["HostConfig"]
    assert host["NetworkMode"] == "none"
    assert host["ReadonlyRootfs"] is True
    assert host["CapDrop"] == ["ALL"]
    assert sorted(host["CapAdd"]) == ["SETGID", "SETUID", "KILL"].__class__(
        sorted(["SETGID", "SETUID", "KILL"]))
    assert "no-new-privileges" in host["SecurityOpt"]
    assert host["Memory"] == host["MemorySwap"] == 512 * 1024 * 1024
    assert host["PidsLimit"] == 128
    assert host["NanoCpus"] == 1_000_000_000
    assert host["Init"] is True
    assert not attrs["Mounts"]
    assert attrs["Config"]["Labels"]["sandgym.managed"] == "1"
    assert set(host["Tmpfs"]) == {"/tmp", "/work", "/dev/shm"}
    assert all("nr_inodes=" in options for options in host["Tmpfs"].values())
    assert host["LogConfig"]["Type"] == "none"
