"""`sandgym social simulate|scenarios|export` with scripted players (no model)."""

from __future__ import annotations

import json

import pytest
import typer
from datasets import load_from_disk
from typer.testing import CliRunner

from sandgym.cli import social as social_cli


@pytest.fixture(scope="module")
def app() -> typer.Typer:
    root = typer.Typer()
    social_cli.register(root)
    return root


def run(app, *args):
    out = CliRunner().invoke(app, [str(a) for a in args])
    assert out.exit_code == 0, out.output
    return json.loads([line for line in out.output.splitlines() if line.startswith("{")][-1])


def fails(app, *args) -> str:
    """A user error (`sandgym.cli.run` shows it as one ``error:`` line, status 1)."""
    from sandgym.errors import SandgymError

    out = CliRunner().invoke(app, [str(a) for a in args])
    assert out.exit_code != 0, out.output
    assert isinstance(out.exception, SandgymError), out.exception
    message = str(out.exception)
    assert "\n" not in message.strip()
    return message


def test_simulate_then_export_ranked_and_dpo(app, tmp_path):
    run_file = tmp_path / "society.parquet"
    stats = run(app, "social", "simulate", "--agents", 4, "--rounds", 2, "--policy", "scripted",
                "--questions-per-round", 1, "--out", run_file)
    assert stats["answers"] == 16 and stats["missing"] == 0 and stats["ratings"] > 0
    ranked = run(app, "social", "export", "ranked", "--from", run_file, "--out",
                 tmp_path / "ranked")
    assert ranked["rows"] == 2
    rows = load_from_disk(str(tmp_path / "ranked"))
    assert all(r["ratings"] == sorted(r["ratings"], reverse=True) for r in rows)
    # the template's revisions are all rated alike: no gap of 2, so nothing is written
    err = fails(app, "social", "export", "dpo", "--from", run_file, "--out", tmp_path / "dpo")
    assert "no question had two different rated revisions" in err and "--min-gap" in err
    assert not (tmp_path / "dpo").exists()


def test_matrix_mode_refuses_scripted_players(app, tmp_path):
    out = CliRunner().invoke(app, ["social", "simulate", "--policy", "scripted", "--mode",
                                   "matrix", "--out", str(tmp_path / "m.parquet")])
    assert out.exit_code != 0 and "matrix mode" in out.output


def test_simulate_refuses_an_existing_output_or_its_parts_without_overwrite(app, tmp_path):
    """A finished run's file, or a killed run's parts, are never deleted silently."""
    run_file = tmp_path / "society.parquet"
    args = ["social", "simulate", "--agents", 2, "--rounds", 1, "--policy", "scripted"]
    run(app, *args, "--out", run_file)
    before = run_file.read_bytes()
    err = fails(app, *args, "--out", run_file)
    assert "already exists" in err and "--overwrite" in err
    assert run_file.read_bytes() == before
    killed = tmp_path / "killed.parquet"  # a killed run left only its parts
    parts = tmp_path / "killed.parquet.parts"
    parts.mkdir()
    (parts / "part-00001.parquet").write_bytes(before)
    assert "killed.parquet.parts" in fails(app, *args, "--out", killed)
    assert (parts / "part-00001.parquet").read_bytes() == before
    assert run(app, *args, "--out", run_file, "--overwrite")["answers"] == 4
    assert run(app, *args, "--out", killed, "--overwrite")["answers"] == 4
    assert killed.is_file() and not parts.exists()


def test_social_exports_name_the_right_command_for_the_wrong_kind_of_file(app, tmp_path):
    """A rollout file given to `social export` says `sandgym export`, not KeyError: 'kind'."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rollouts = tmp_path / "canon.parquet"
    pq.write_table(pa.Table.from_pylist([{"episode_id": "e|t|0", "env_id": "sandgym/X-v0",
                                          "messages": "[]", "final_reward": 1.0}]),
                   str(rollouts))
    for kind in ("dpo", "ranked", "sft"):
        err = fails(app, "social", "export", kind, "--from", rollouts, "--out", tmp_path / kind)
        assert "holds rollouts" in err and "`sandgym export sft|dpo" in err, err
        assert not (tmp_path / kind).exists()
    society = tmp_path / "society.parquet"
    run(app, "social", "simulate", "--agents", 2, "--rounds", 1, "--policy", "scripted",
        "--out", society)
    err = fails(app, "social", "export", "sft", "--from", society, "--out", tmp_path / "s")
    assert "a society run" in err and "`sandgym social export dpo|ranked" in err


def test_social_sft_export_with_nothing_above_the_bar_fails_and_writes_nothing(app, tmp_path):
    from sandgym.envs.social.scenario_env import ScenarioEnv
    from sandgym.envs.social.scenario_runs import play_scenarios, scenario_record_schema
    from sandgym.envs.social.storage import ParquetSink

    episodes = tmp_path / "scenarios.parquet"
    env = ScenarioEnv(max_turns=1)
    with ParquetSink(episodes, scenario_record_schema()) as sink:  # goals 8 and 3
        play_scenarios(env, lambda convs: ["No, I can't do that. [leave]"] * len(convs),
                       ["refusal/00", "persuasion/00"], on_record=lambda r: sink.write([r]))
    ok = run(app, "social", "export", "sft", "--from", episodes, "--out", tmp_path / "ok")
    assert ok["rows"] == 1 and ok["records"] == 2
    err = fails(app, "social", "export", "sft", "--from", episodes, "--out", tmp_path / "sft",
                "--min-goal", 10)
    assert "--min-goal 10" in err and "lower --min-goal" in err
    assert not (tmp_path / "sft").exists()
