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
    dpo = run(app, "social", "export", "dpo", "--from", run_file, "--out", tmp_path / "dpo")
    assert dpo["rows"] == 0  # the template's revisions are all rated alike: no gap of 2
    assert json.loads((tmp_path / "dpo" / "sandgym_export.json").read_text())["rows"] == 0


def test_matrix_mode_refuses_scripted_players(app, tmp_path):
    out = CliRunner().invoke(app, ["social", "simulate", "--policy", "scripted", "--mode",
                                   "matrix", "--out", str(tmp_path / "m.parquet")])
    assert out.exit_code != 0 and "matrix mode" in out.output
