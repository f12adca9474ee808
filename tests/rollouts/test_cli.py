"""`sandgym rollout` end to end: Ctrl-C stops cleanly, saves what finished, leaves no
containers, and the same command resumes to every episode exactly once."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

from sandgym.rollouts import load_trajectories

RUN_CLI = """
import sys
from sandgym.cli import app, main
if "rollout" not in {c.name for c in app.registered_commands}:
    from sandgym.cli.rollout import register
    register(app)
sys.argv[0] = "sandgym"
main()
"""


def _managed_containers() -> dict[str, dict]:
    from sandgym.sandbox import docker_client
    from sandgym.sandbox.owner import LABEL_MANAGED

    return {c.id: c.labels for c in docker_client().containers.list(
        all=True, filters={"label": LABEL_MANAGED})}


def _is_rollout_or_dead(labels: dict) -> bool:
    """Owner is gone, or is a Ray worker process (which must be gone after the run)."""
    from sandgym.sandbox.owner import owner_is_alive

    if owner_is_alive(labels) is False:
        return True
    try:
        cmdline = Path(f"/proc/{labels.get('sandgym.owner_pid')}/cmdline").read_bytes()
    except OSError:
        return True
    return b"_WorkerActor" in cmdline


def test_ctrl_c_saves_finished_episodes_leaves_no_containers_and_resumes(tmp_path):
    out = tmp_path / "interrupted.parquet"
    before = set(_managed_containers())
    with open(tmp_path / "stdout", "wb") as stdout, open(tmp_path / "stderr", "wb") as stderr:
        proc = subprocess.Popen(
            [sys.executable, "-c", RUN_CLI, "rollout", "--env", "sandgym/HumanEval-v0",
             "--policy", "canonical", "--samples", "2", "--workers", "2", "--out", str(out),
             "--limit", "40", "--batch-size", "2", "--row-group-size", "4",
             "--flush-interval-s", "0.5", "--json"],
            stdout=stdout, stderr=stderr, cwd=Path(__file__).parents[2])
        try:
            parts = tmp_path / "interrupted.parquet.parts"
            deadline = time.monotonic() + 180
            while not any(parts.glob("part-*.parquet")):
                assert proc.poll() is None, (tmp_path / "stderr").read_text()[-3000:]
                assert time.monotonic() < deadline, "no episode was written within 180 s"
                time.sleep(0.2)
            proc.send_signal(signal.SIGINT)
            rc = proc.wait(timeout=90)
        finally:
            if proc.poll() is None:
                proc.kill()
    err = (tmp_path / "stderr").read_text()
    assert rc == 130, err[-3000:]
    summary = json.loads((tmp_path / "stdout").read_text().strip().splitlines()[-1])
    assert summary["interrupted"] is True and 0 < summary["episodes"] < 80
    ids = load_trajectories(out)["episode_id"]
    assert len(ids) == len(set(ids)) == summary["episodes"]
    assert not (tmp_path / "interrupted.parquet.parts").exists(), "parts merged at exit"

    deadline = time.monotonic() + 30
    while True:
        leaked = [cid[:12] for cid, labels in _managed_containers().items()
                  if cid not in before and _is_rollout_or_dead(labels)]
        if not leaked or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert not leaked, f"containers left after Ctrl-C: {leaked}"

    from sandgym.rollouts import RolloutConfig, collect

    resumed = collect("sandgym/HumanEval-v0", "canonical", limit=40, samples_per_task=2,
                      num_workers=2, out=out, config=RolloutConfig(batch_size=4),
                      progress=False)
    assert resumed.skipped == summary["episodes"]
    assert resumed.episodes == 80 - summary["episodes"]
    ds = load_trajectories(out)
    assert len(ds) == len(set(ds["episode_id"])) == 80
    assert set(ds["final_reward"]) == {1.0}
