"""`sandgym eval`'s defaults: the env's declared turn limit, a non-zero exit when nothing
was measured, and a missing sandbox image failing at once with one line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid

from sandgym.cli import run
from sandgym.rollouts.evaluation import DEFAULT_MAX_TURNS, EvalReport, TaskResult, evaluate

BFCL = "sandgym/BFCLMultiTurn-v0"


def test_eval_defaults_pass_every_bfcl_task_with_the_canonical_policy():
    # With a fixed 10 turns, 13 of the 196 base tasks were cut short even for the oracle.
    report = evaluate(BFCL, "canonical")
    summary = report.to_dict()
    assert summary["tasks"] == summary["solved"] == 196
    assert summary["pass@k"]["pass@1"] == 1.0 and summary["sandbox_errors"] == 0
    assert summary["max_turns"] > DEFAULT_MAX_TURNS


def test_max_turns_given_still_wins_over_the_declared_limit(capsys):
    assert run(["eval", "--env", BFCL, "--max-turns", "10", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["max_turns"] == 10
    assert summary["solved"] < summary["tasks"]  # the long tasks are truncated again


def test_max_turns_is_auto_or_a_positive_number(capsys):
    assert run(["eval", "--env", BFCL, "--max-turns", "0"]) == 2
    assert "auto" in capsys.readouterr().err


def test_an_env_without_a_declared_limit_gets_ten_turns():
    # HumanEval is one-turn and declares nothing: the default stays what it was.
    report = evaluate("sandgym/HumanEval-v0", "canonical", limit=1)
    assert report.max_turns == DEFAULT_MAX_TURNS


def _report(per_task: list[tuple[int, int]]) -> EvalReport:
    """(scored episodes, sandbox errors) per task."""
    tasks = [TaskResult(f"t{i}", episodes=scored, passed=0, rewards=[0.0] * scored,
                        sandbox_errors=errors) for i, (scored, errors) in enumerate(per_task)]
    return EvalReport("sandgym/X-v0", "p", 1, tasks)


def test_only_sandbox_errors_means_nothing_was_measured():
    from sandgym.cli.eval import exit_status

    assert _report([(0, 1), (0, 2)]).nothing_measured
    assert exit_status(_report([(0, 1), (0, 2)])) == 1
    assert exit_status(_report([(1, 0), (0, 2)])) == 0  # one episode was scored
    assert exit_status(_report([(1, 0)])) == 0


def test_eval_exits_1_but_still_prints_the_report_when_every_episode_failed(
        monkeypatch, capsys):
    import sandgym.rollouts.evaluation as evaluation

    monkeypatch.setattr(evaluation, "evaluate", lambda *a, **k: _report([(0, 1), (0, 1)]))
    assert run(["eval", "--env", BFCL, "--json"]) == 1
    out, err = capsys.readouterr()
    assert json.loads(out)["sandbox_errors"] == 2
    assert "every episode (2) ended in a sandbox error" in err


def test_a_missing_image_fails_eval_at_once_with_one_line():
    # It used to wait out the pool's acquire timeout per batch (2 min for one task),
    # then exit 0 with every episode a sandbox error.
    image = f"sandgym-missing-{uuid.uuid4().hex[:12]}:latest"
    proc = subprocess.run(
        [sys.executable, "-c", "from sandgym.cli import main; main()", "eval",
         "--env", "sandgym/HumanEval-v0", "--limit", "1"],
        env={**os.environ, "SANDGYM_IMAGE": image}, capture_output=True, text=True,
        timeout=100)  # a guard only: it takes about a second
    assert proc.returncode == 1, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, proc.stderr
    assert f"image '{image}' not found" in errors[0]
    assert "sandgym image build" in errors[0]
    assert "solved" not in proc.stdout


def test_tool_envs_declare_their_own_turn_limit():
    # τ² episodes may run 30 turns; eval's generic 10 would truncate what the env allows.
    import gymnasium

    from sandgym.envs import ensure_registered
    from sandgym.envs.contract import episode_turn_limit

    ensure_registered()
    env = gymnasium.make("sandgym/Tau2Retail-v0", max_turns=23)
    try:
        assert episode_turn_limit(env) == 23
    finally:
        env.close()
