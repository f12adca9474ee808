"""`sandgym envs list|check` and `sandgym eval` (on a local root app, as the CLI wires them)."""

from __future__ import annotations

import json

import pytest
import typer
from typer.testing import CliRunner

from sandgym.cli import envs as envs_cli
from sandgym.cli import eval as eval_cli
from sandgym.envs.metrics import mean_pass_at_k, pass_at_k


@pytest.fixture(scope="module")
def app() -> typer.Typer:
    root = typer.Typer()
    envs_cli.register(root)
    eval_cli.register(root)
    return root


def run(app, *args):
    return CliRunner().invoke(app, list(args))


def test_envs_list_shows_ids_families_and_task_counts(app):
    out = run(app, "envs", "list")
    assert out.exit_code == 0, out.output
    line = next(x for x in out.output.splitlines() if x.startswith("sandgym/HumanEval-v0"))
    assert line.split()[1:3] == ["code", "164"]
    rows = [json.loads(x) for x in run(app, "envs", "list", "--json").output.splitlines()]
    assert {"sandgym/Shell-v0", "sandgym/PythonRepair-v0"} <= {r["id"] for r in rows}


def test_envs_check_reports_ok(app, default_pool_closed):
    out = run(app, "envs", "check", "sandgym/PythonTests-v0", "--json")
    assert out.exit_code == 0, out.output
    report = json.loads(out.output)
    assert report["ok"] and report["check_env"] == "ok"
    assert report["episode"]["reference_passed"] is True


def test_envs_check_unknown_id_suggests_the_right_one(app):
    out = run(app, "envs", "check", "sandgym/PythonTest-v0")
    assert out.exit_code == 2
    assert "Did you mean: `PythonTests`?" in out.output


def test_eval_canonical_humaneval_solves_all_164(app, default_pool_closed):
    out = run(app, "eval", "--env", "sandgym/HumanEval-v0", "--policy", "canonical", "--json")
    assert out.exit_code == 0, out.output
    report = json.loads(out.output.strip().splitlines()[-1])
    assert (report["tasks"], report["solved"], report["sandbox_errors"]) == (164, 164, 0)
    assert report["pass@k"] == {"pass@1": 1.0} and report["mean_reward"] == 1.0


def test_eval_canonical_repair_and_shell_with_samples(app, default_pool_closed):
    for env_id in ("sandgym/PythonRepair-v0", "sandgym/Shell-v0"):
        out = run(app, "eval", "--env", env_id, "--limit", "3", "--samples", "2", "--json")
        assert out.exit_code == 0, out.output
        report = json.loads(out.output.strip().splitlines()[-1])
        assert (report["tasks"], report["episodes"], report["solved"]) == (3, 6, 3)
        assert report["pass@k"] == {"pass@1": 1.0, "pass@2": 1.0}


def test_pass_at_k_is_the_unbiased_estimator():
    assert pass_at_k(5, 0, 1) == 0.0
    assert pass_at_k(5, 5, 3) == 1.0
    assert pass_at_k(4, 1, 1) == pytest.approx(0.25)
    assert pass_at_k(4, 1, 2) == pytest.approx(1 - (3 * 2) / (4 * 3))  # 1 - C(3,2)/C(4,2)
    assert mean_pass_at_k([(4, 1), (4, 4)], 1) == pytest.approx(0.625)
    with pytest.raises(ValueError, match="k must be in 1..n=2"):
        pass_at_k(2, 1, 3)


def test_eval_canonical_tau2_airline_solves_every_accepted_task(app):
    out = run(app, "eval", "--env", "sandgym/Tau2Airline-v0", "--policy", "canonical", "--json")
    assert out.exit_code == 0, out.output
    report = json.loads(out.output.strip().splitlines()[-1])
    assert (report["tasks"], report["solved"], report["mean_reward"]) == (30, 30, 1.0)


def test_eval_canonical_bfcl_multi_turn_solves_every_accepted_task(app):
    # Up to 7 user turns, two replies each (the gold calls, then a reply that ends the
    # turn): the env declares its longest reference (14), which eval plays by default.
    out = run(app, "eval", "--env", "sandgym/BFCLMultiTurn-v0", "--policy", "canonical",
              "--json")
    assert out.exit_code == 0, out.output
    report = json.loads(out.output.strip().splitlines()[-1])
    assert (report["tasks"], report["solved"], report["mean_reward"]) == (196, 196, 1.0)
    assert report["max_turns"] == 14


def test_envs_list_counts_the_tasks_an_env_plays(app):
    # τ² and BFCL reject tasks on load (their gold cannot be replayed); eval plays the rest.
    import gymnasium

    rows = {r["id"]: r["tasks"]
            for r in map(json.loads, run(app, "envs", "list", "--json").output.splitlines())}
    for env_id in ("sandgym/Tau2Retail-v0", "sandgym/BFCLMultiTurnMissFunc-v0"):
        env = gymnasium.make(env_id)
        try:
            assert rows[env_id] == len(env.unwrapped.task_ids), env_id
        finally:
            env.close()
    assert rows["sandgym/Tau2Retail-v0"] == 90
