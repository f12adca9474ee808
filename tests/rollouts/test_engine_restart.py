"""Chaos: the Docker engine restarts in the middle of a collection.

The test never touches the machine's own engine (other work uses it): it starts a
private ``dockerd`` with its own data root, exec root, pid file and socket, loads the
sandbox image into it, points the collection at it through ``DOCKER_HOST`` and
restarts that engine once a few episodes are in. Every episode must still be written
exactly once with the right reward, and the private engine must hold no container
at the end.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from sandgym.rollouts import RolloutConfig, collect, load_trajectories
from tests.rollouts.conftest import stored_ids


class PrivateEngine:
    """A dockerd of our own under ``root`` (no bridge, no iptables changes)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.socket = root / "docker.sock"
        self.host = f"unix://{self.socket}"
        self.pidfile = root / "docker.pid"
        self.restarted_at: float | None = None

    def start(self) -> None:
        dockerd = shutil.which("dockerd")
        if dockerd is None:
            pytest.fail("dockerd is not installed; scripts/setup.sh installs docker.io")
        with open(self.root / "dockerd.log", "ab") as log:
            subprocess.Popen(
                [dockerd, "--data-root", str(self.root / "data"), "--exec-root",
                 str(self.root / "exec"), "--pidfile", str(self.pidfile), "-H", self.host,
                 "--bridge=none", "--iptables=false", "--ip6tables=false",
                 f"--cgroup-parent=/sandgym-test-{os.getpid()}"],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True)
        deadline = time.monotonic() + 60
        while not self.answers():
            assert time.monotonic() < deadline, (self.root / "dockerd.log").read_text()[-2000:]
            time.sleep(0.3)

    def client(self):
        import docker

        return docker.DockerClient(base_url=self.host, timeout=120)

    def answers(self) -> bool:
        try:
            return bool(self.client().ping())
        except Exception:  # noqa: BLE001 - not up yet
            return False

    def stop(self) -> None:
        try:
            pid = int(self.pidfile.read_text())
        except (OSError, ValueError):
            return
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 60
        while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
            time.sleep(0.2)

    def restart(self) -> None:
        self.stop()
        self.restarted_at = time.time()
        self.start()


def _main_host() -> str:
    return os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"


@pytest.fixture
def engine(tmp_path_factory):
    from sandgym.sandbox import docker_client
    from sandgym.sandbox.image import DEFAULT_IMAGE

    root = Path(tmp_path_factory.mktemp("dockerd"))
    private = PrivateEngine(root)
    private.start()
    try:
        docker_client().images.get(DEFAULT_IMAGE)  # a clear error if it is not built
        save = subprocess.Popen(["docker", "save", DEFAULT_IMAGE], stdout=subprocess.PIPE,
                                env={**os.environ, "DOCKER_HOST": _main_host()})
        load = subprocess.run(["docker", "load", "-q"], stdin=save.stdout, capture_output=True,
                              env={**os.environ, "DOCKER_HOST": private.host}, timeout=600)
        save.stdout.close()
        assert save.wait(timeout=60) == 0 and load.returncode == 0, load.stderr
        yield private
    finally:
        private.stop()
        shutil.rmtree(root, ignore_errors=True)


def test_engine_restart_mid_collection_loses_nothing_and_leaks_nothing(engine, tmp_path,
                                                                       monkeypatch):
    import ray

    monkeypatch.setenv("DOCKER_HOST", engine.host)  # the workers' pools use this engine
    out = tmp_path / "restart.parquet"
    seen: list[float] = []

    def restart_after_six(record: dict) -> None:
        seen.append(time.time())
        if len(seen) == 6:
            threading.Thread(target=engine.restart, daemon=True).start()

    assert not ray.is_initialized()
    result = collect("sandgym/HumanEval-v0", "canonical", limit=12, samples_per_task=2,
                     num_workers=2, out=out, progress=False, on_record=restart_after_six,
                     config=RolloutConfig(batch_size=2, policy_options={"latency_s": 0.3}))
    assert engine.restarted_at is not None
    assert any(t > engine.restarted_at for t in seen), "the run went on after the restart"
    ids = stored_ids(out)
    assert len(ids) == 24 and Counter(ids).most_common(1)[0][1] == 1
    assert set(load_trajectories(out)["final_reward"]) == {1.0}
    assert result.sandbox_errors == 0
    deadline = time.monotonic() + 30
    while engine.client().containers.list(all=True) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert engine.client().containers.list(all=True) == [], "containers left on the engine"
