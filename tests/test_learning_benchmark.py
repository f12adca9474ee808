"""benchmarks/learning.py end to end, shrunken: what it prints is what it returns, the
held-out tasks stay out of training, and its figures agree with each other.

The real run takes minutes (docs/training.md); this one trains RFT for one round on four
training tasks and scores four held-out tasks, with the real model and sandboxes.
"""

from __future__ import annotations

import json
import runpy
from pathlib import Path

import pytest

from sandgym.envs.tasks import load_tasks

ROOT = Path(__file__).resolve().parents[1]


def test_learning_benchmark_runs_end_to_end_and_its_record_adds_up(tmp_path, capsys):
    learning = runpy.run_path(str(ROOT / "benchmarks/learning.py"), run_name="learning")
    overrides = ["rft.limit=4", "rft.rounds=1", "rft.samples_per_task=2"]
    record = learning["main"](["--trainers", "rft", "--eval-limit", "4", "--out",
                               str(tmp_path), "--json",
                               *[arg for o in overrides for arg in ("--train-arg", o)]])

    printed = capsys.readouterr().out.strip().splitlines()
    assert json.loads(printed[-1]) == record

    assert record["eval_split"] == "test" and record["tasks"] == 4
    rft = record["rft"]
    assert rft["defaults_overridden"] == {"limit": 4, "rounds": 1, "samples_per_task": 2}
    assert rft["steps"] == 1
    assert rft["gain"] == pytest.approx(rft["pass@1"] - record["base"]["pass@1"])
    interval = rft["gain_interval"]
    assert interval["low"] <= interval["estimate"] <= interval["high"]
    assert interval["tasks"] == 4 and rft["gain_shown"] == (interval["low"] > 0)
    for figures in (record["base"], rft):
        assert 0.0 <= figures["pass@1"] <= 1.0
        assert figures["interval"]["estimate"] == pytest.approx(figures["pass@1"], abs=1e-6)

    # Training saw training tasks only: every sampled task is in `train`.
    run_dir = Path(rft["run_dir"])
    sampled = {json.loads(line)["task_id"]
               for line in (run_dir / "samples_round1.jsonl").read_text().splitlines()}
    train_ids = {t.id for t in load_tasks("builtin:basics", split="train")}
    assert len(sampled) == 4 and sampled <= train_ids
    assert rft["train_reward_first"] == rft["train_reward_last"]  # one round
