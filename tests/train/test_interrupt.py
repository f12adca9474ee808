"""Ctrl-C of `sandgym train grpo`: the step in flight finishes, a checkpoint is saved, no
container is left, and ``--resume`` completes the run with every step and every episode
logged exactly once. Plus the pieces on their own: the SIGINT handler, checkpoint
discovery and log trimming, the episode log."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from typer.testing import CliRunner

from sandgym.train.checkpoints import last_checkpoint, resume_point, trim_jsonl
from sandgym.train.episode_log import EpisodeLog
from sandgym.train.interrupt import GracefulStop, sigint_held

ROOT = Path(__file__).parents[2]
RUN_CLI = """
import sys, sandgym
print("sandgym from", sandgym.__file__, file=sys.stderr, flush=True)
from sandgym.cli import main
sys.argv[0] = "sandgym"
main()
"""
ARGS = ["train", "grpo", "--env", "sandgym/PythonBasics-v0", "--steps", "3",
        "--num-generations", "2", "--prompts-per-step", "1", "--max-completion-length", "32",
        "--limit", "2", "--no-progress"]


def _containers_of(pid: int) -> list[str]:
    from sandgym.sandbox import docker_client
    from sandgym.sandbox.owner import LABEL_MANAGED, LABEL_OWNER_PID

    return [c.id[:12] for c in docker_client().containers.list(
        all=True, filters={"label": [LABEL_MANAGED, f"{LABEL_OWNER_PID}={pid}"]})]


def _assert_no_containers(pid: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while (left := _containers_of(pid)) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not left, f"containers left by pid {pid}: {left}"


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT)}


def _interrupt_after_first_step(cmd: list[str], tmp_path: Path,
                                presses: int) -> tuple[subprocess.Popen, int]:
    """Start the run, press Ctrl-C once its first step is logged (a second time once it
    says it is finishing the step), and wait for it to exit."""
    out = Path(cmd[cmd.index("--out") + 1])
    with open(tmp_path / "stdout", "wb") as stdout, open(tmp_path / "stderr", "wb") as stderr:
        proc = subprocess.Popen(cmd, stdout=stdout, stderr=stderr, cwd=ROOT, env=_env())
        try:
            deadline = time.monotonic() + 600
            while not (out / "metrics.jsonl").is_file() or not _jsonl(out / "metrics.jsonl"):
                assert proc.poll() is None, (tmp_path / "stderr").read_text()[-3000:]
                assert time.monotonic() < deadline, "no step finished within 600 s"
                time.sleep(0.2)
            proc.send_signal(signal.SIGINT)  # during step 2: it finishes, then saves
            if presses == 2:
                while "finishing the current step" not in (tmp_path / "stderr").read_text():
                    assert proc.poll() is None, (tmp_path / "stderr").read_text()[-3000:]
                    time.sleep(0.1)
                proc.send_signal(signal.SIGINT)  # step 2 is still in flight: abort it
            rc = proc.wait(timeout=600)
        finally:
            if proc.poll() is None:
                proc.kill()
    return proc, rc


@pytest.mark.slow
def test_ctrl_c_checkpoints_leaves_no_containers_and_resume_logs_each_step_once(tmp_path):
    out = tmp_path / "run"
    cmd = [sys.executable, "-c", RUN_CLI, *ARGS, "--out", str(out)]
    proc, rc = _interrupt_after_first_step(cmd, tmp_path, presses=1)
    err = (tmp_path / "stderr").read_text()
    assert f"sandgym from {ROOT / 'sandgym'}" in err
    assert rc == 130, err[-3000:]
    report = json.loads((tmp_path / "stdout").read_text().strip().splitlines()[-1])
    assert report["interrupted"] is True and report["aborted"] is False
    assert report["next"] == "rerun the same command with --resume"
    step = report["step"]
    assert 1 <= step < 3
    checkpoint = out / f"checkpoint-{step}"
    assert report["checkpoint"] == str(checkpoint) and last_checkpoint(out) == checkpoint
    for name in ("adapter_model.safetensors", "optimizer.pt", "scheduler.pt",
                 "trainer_state.json"):
        assert (checkpoint / name).is_file(), name
    assert "--resume" in err
    assert [r["step"] for r in _jsonl(out / "metrics.jsonl")] == list(range(1, step + 1))
    logged = [h["step"] for h in json.loads((out / "trainer_log.json").read_text())
              if "reward" in h]
    assert logged == list(range(1, step + 1))
    assert [e["step"] for e in _jsonl(out / "episodes.jsonl")] == [
        s for s in range(1, step + 1) for _ in range(2)]
    _assert_no_containers(proc.pid)

    # A fresh run into the same --out is refused before any work, naming the fix.
    from sandgym.cli import app

    refused = CliRunner().invoke(app, [*ARGS, "--out", str(out)])
    assert refused.exit_code == 2 and "--resume" in refused.output

    resumed = subprocess.Popen([*cmd, "--resume"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, cwd=ROOT, env=_env())
    try:
        _, resumed_err = resumed.communicate(timeout=900)
    finally:
        if resumed.poll() is None:
            resumed.kill()
    assert resumed.returncode == 0, resumed_err[-3000:]
    assert f"from checkpoint-{step} (step {step} of 3)" in resumed_err
    logged = [h["step"] for h in json.loads((out / "trainer_log.json").read_text())
              if "reward" in h]
    assert logged == [1, 2, 3]
    assert [r["step"] for r in _jsonl(out / "metrics.jsonl")] == [1, 2, 3]
    episodes = _jsonl(out / "episodes.jsonl")
    assert [(e["step"], e["index"]) for e in episodes] == [(s, i) for s in (1, 2, 3)
                                                           for i in (0, 1)]
    assert all(e["status"] and e["task_id"] for e in episodes)
    assert json.loads((out / "summary.json").read_text())["steps"] == 3
    assert (out / "adapter" / "adapter_model.safetensors").is_file()
    assert last_checkpoint(out) is None, "a completed run keeps no checkpoint"
    _assert_no_containers(resumed.pid)


@pytest.mark.slow
def test_second_ctrl_c_aborts_the_step_and_still_removes_containers(tmp_path):
    out = tmp_path / "run"
    proc, rc = _interrupt_after_first_step(
        [sys.executable, "-c", RUN_CLI, *ARGS, "--out", str(out)], tmp_path, presses=2)
    err = (tmp_path / "stderr").read_text()
    assert rc == 130, err[-3000:]
    report = json.loads((tmp_path / "stdout").read_text().strip().splitlines()[-1])
    assert report == {"interrupted": True, "aborted": True, "step": 0, "checkpoint": None,
                      "next": "rerun the same command to start over"}
    assert "no checkpoint was saved" in err
    assert last_checkpoint(out) is None and resume_point(out, resume=False) is None
    assert [r["step"] for r in _jsonl(out / "metrics.jsonl")] == [1]  # step 2 never logged
    assert {e["step"] for e in _jsonl(out / "episodes.jsonl")} == {1}
    _assert_no_containers(proc.pid)


# --------------------------------------------------------------------- the pieces alone


def test_first_ctrl_c_stops_after_the_step_second_aborts():
    stop = GracefulStop()
    state, control = SimpleNamespace(global_step=4), SimpleNamespace(
        should_save=False, should_training_stop=False)
    with stop.installed():
        stop.on_step_end(None, state, control)
        assert not control.should_save  # no press yet: train on
        os.kill(os.getpid(), signal.SIGINT)  # the real signal, through the real handler
        time.sleep(0.1)
        assert stop.requested
        stop.on_step_end(None, state, control)
        assert control.should_save and control.should_training_stop and stop.stopped_at == 4
        os.kill(os.getpid(), signal.SIGINT)  # while the checkpoint is written: held
        time.sleep(0.1)
        stop.on_save(None, state, control)
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(1)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_sigint_held_drops_presses_during_cleanup():
    with sigint_held():
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.1)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_resume_point_and_trimming(tmp_path):
    assert resume_point(tmp_path, resume=False) is None
    with pytest.raises(ValueError, match="holds no checkpoint"):
        resume_point(tmp_path, resume=True)
    (tmp_path / "checkpoint-1").mkdir()
    (tmp_path / "checkpoint-1" / "trainer_state.json").write_text("{}")
    (tmp_path / "checkpoint-2").mkdir()  # half-written: no trainer state yet
    assert resume_point(tmp_path, resume=True) == tmp_path / "checkpoint-1"
    with pytest.raises(ValueError, match="pass --resume"):
        resume_point(tmp_path, resume=False)
    log = tmp_path / "metrics.jsonl"
    log.write_text("".join(json.dumps({"step": s}) + "\n" for s in (1, 2, 2, 3)))
    assert trim_jsonl(log, 2) == 3
    assert [r["step"] for r in _jsonl(log)] == [1, 2, 2]


def test_episode_log_writes_each_history_entry_once(tmp_path):
    source = SimpleNamespace(history=[])
    log = EpisodeLog(tmp_path, [source])
    source.history.append({"task_id": "a", "reward": 1.0})
    log.on_step_end(None, SimpleNamespace(global_step=1), None)
    log.on_step_end(None, SimpleNamespace(global_step=1), None)  # nothing new
    source.history.extend([{"task_id": "b", "reward": float("nan")}, {"task_id": "c"}])
    del source.history[0]  # histories drop their oldest entries
    log.on_step_end(None, SimpleNamespace(global_step=2), None)
    assert _jsonl(tmp_path / "episodes.jsonl") == [
        {"step": 1, "index": 0, "task_id": "a", "reward": 1.0},
        {"step": 2, "index": 0, "task_id": "b", "reward": None},
        {"step": 2, "index": 1, "task_id": "c"}]
