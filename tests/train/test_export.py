"""SFT/DPO exports from real rollouts (episodes played in sandboxes, stored as Parquet)."""

from __future__ import annotations

import dataclasses
import json

import gymnasium as gym
import pytest
from datasets import load_from_disk
from typer.testing import CliRunner

from sandgym.agents import ScriptedPolicy, run_episodes
from sandgym.rollouts.storage import TrajectoryStore
from sandgym.train.export import export_dpo, export_sft

ENV = "sandgym/PythonTests-v0"
GOOD = "```python\ndef add(a: int, b: int) -> int:\n    return a + b\n```"
# Wrong on negative a: it passes 2 of the 4 hidden tests, more than a constant does
# (graded mode pays failing tests -0.3 only then).
WRONG = "def add(a, b):\n    return abs(a) + b\n"
BROKEN = "def add(a, b) return"


@pytest.fixture(scope="module")
def rollouts(tmp_path_factory, pool):
    """Six episodes of builtin/add (rewards 1, 0, -1 in graded mode twice) + a sandbox error."""
    replies = [GOOD, WRONG, BROKEN, GOOD, WRONG, BROKEN]
    envs = [gym.make(ENV, pool=pool, reward_mode="graded") for _ in replies]
    script = iter(replies)  # one generate call replies to the six episodes in order
    policy = ScriptedPolicy(lambda conversation: next(script))
    trajectories = run_episodes(envs, policy, max_turns=1, task_ids=["builtin/add"] * 6,
                                episode_ids=[f"{ENV}|builtin/add|{i}" for i in range(6)])
    for env in envs:
        env.close()
    path = tmp_path_factory.mktemp("rollouts") / "add.parquet"
    with TrajectoryStore(path) as store:
        for i, traj in enumerate(trajectories):
            store.append(_record(traj, i))
        broken = dataclasses.replace(trajectories[0], episode_id=f"{ENV}|builtin/add|9",
                                     sandbox_error=True, final_reward=None)
        store.append(_record(broken, 9))
    return path, trajectories


def _record(traj, index: int) -> dict:
    record = traj.to_record()
    record.update(env_id=ENV, policy="scripted", sample_index=index, attempts=1,
                  worker="test", node_id=None, error=None, finished_at=0.0)
    return record


def test_sft_keeps_successful_episodes_as_conversations(rollouts, tmp_path):
    path, trajectories = rollouts
    assert [t.final_reward for t in trajectories] == [1.0, -0.3, -1.0, 1.0, -0.3, -1.0]
    result = export_sft(path, tmp_path / "sft")
    assert (result.episodes, result.usable, result.rows) == (7, 6, 1)  # two identical, deduped
    dataset = load_from_disk(str(tmp_path / "sft"))
    row = dataset[0]
    assert [m["role"] for m in row["messages"]] == ["system", "user", "assistant"]
    assert row["messages"][-1]["content"] == GOOD
    assert row["task_id"] == "builtin/add" and row["reward"] == 1.0
    assert export_sft(path, tmp_path / "all", dedupe=False).rows == 2
    assert export_sft(path, tmp_path / "min", min_reward=-0.5).rows == 2  # pass and fail


def test_dpo_pairs_are_reward_ranked_within_a_task(rollouts, tmp_path):
    path, _ = rollouts
    result = export_dpo(path, tmp_path / "dpo")
    dataset = load_from_disk(str(tmp_path / "dpo"))
    # distinct pairs: pass>syntax error (2.0), pass>failing (1.3), failing>syntax error (0.7)
    assert result.rows == len(dataset) == 3
    assert [(r["chosen_reward"], r["rejected_reward"]) for r in dataset] == \
        [(1.0, -1.0), (1.0, -0.3), (-0.3, -1.0)]
    for row in dataset:
        assert row["chosen_reward"] > row["rejected_reward"]
        assert [m["role"] for m in row["prompt"]] == ["system", "user"]
        assert row["chosen"][0]["role"] == "assistant"
        assert row["chosen"] != row["rejected"]
    assert dataset[0]["chosen"][0]["content"] == GOOD
    assert dataset[0]["rejected"][0]["content"] == BROKEN  # the widest margin first
    assert export_dpo(path, tmp_path / "one", max_pairs_per_task=1).rows == 1
    assert export_dpo(path, tmp_path / "wide", min_margin=1.5).rows == 1


def test_cli_exports_and_reports_counts(rollouts, tmp_path):
    import typer

    from sandgym.cli import export as export_cli

    app = typer.Typer()  # the root app, as sandgym.cli builds it
    app.callback()(lambda: None)
    export_cli.register(app)
    path, _ = rollouts
    result = CliRunner().invoke(app, ["export", "sft", "--from", str(path), "--out",
                                      str(tmp_path / "sft")])
    assert result.exit_code == 0, result.output
    line = next(x for x in result.output.splitlines() if x.startswith("{"))
    assert json.loads(line)["rows"] == 1
    missing = CliRunner().invoke(app, ["export", "dpo", "--from", str(tmp_path / "nope.parquet"),
                                       "--out", str(tmp_path / "x")])
    assert missing.exit_code != 0
    assert "no trajectories" in str(missing.exception)


def test_an_export_with_nothing_qualifying_fails_and_writes_nothing(rollouts, tmp_path):
    """An empty dataset does not load (`load_from_disk`: IndexError): say why instead."""
    from sandgym.train.export import EmptyExportError

    path, _ = rollouts
    with pytest.raises(EmptyExportError, match=r"reached --min-reward 2; lower --min-reward"):
        export_sft(path, tmp_path / "sft", min_reward=2.0)
    with pytest.raises(EmptyExportError, match="no task had a better and a worse episode"):
        export_dpo(path, tmp_path / "dpo", min_margin=5.0)
    assert not (tmp_path / "sft").exists() and not (tmp_path / "dpo").exists()


def test_cli_export_of_nothing_is_one_error_line_and_status_1(rollouts, tmp_path, capsys):
    from sandgym.cli import run

    path, _ = rollouts
    assert run(["export", "dpo", "--from", str(path), "--out", str(tmp_path / "dpo"),
                "--min-margin", "5"]) == 1
    errors = [line for line in capsys.readouterr().err.splitlines()
              if line.startswith("error:")]
    assert len(errors) == 1 and "EmptyExportError" in errors[0] and "--min-margin" in errors[0]
    assert not (tmp_path / "dpo").exists()


def test_sft_export_logs_one_line_counting_passed_duplicates_and_written(rollouts, tmp_path,
                                                                         caplog):
    path, _ = rollouts
    with caplog.at_level("INFO", logger="sandgym.train.export"):
        export_sft(path, tmp_path / "sft")
    lines = [r.getMessage() for r in caplog.records if r.name == "sandgym.train.export"]
    assert len(lines) == 1, lines
    assert "2 of 7 episodes passed, 1 duplicates dropped" in lines[0]
    assert "1 rows written" in lines[0]
    stats = json.loads((tmp_path / "sft" / "sandgym_export.json").read_text())
    assert (stats["passed"], stats["duplicates"], stats["rows"]) == (2, 1, 1)
