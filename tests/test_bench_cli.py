"""`sandgym bench NAME`: a benchmark's JSON goes to stdout and its status is the exit code."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from sandgym.cli import bench as bench_cli

FAKE_BENCHMARKS = {
    "returns_record": 'import json\n'
                      'def main(argv):\n'
                      '    record = {"benchmark": "fake", "argv": argv}\n'
                      '    print(json.dumps(record))\n'
                      '    return record\n',
    "returns_status": "def main(argv):\n    return 3\n",
    "returns_none": "def main(argv):\n    return None\n",
}


@pytest.fixture
def app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> typer.Typer:
    for name, source in FAKE_BENCHMARKS.items():
        (tmp_path / f"{name}.py").write_text(source)
    monkeypatch.setattr(bench_cli, "benchmarks_dir", lambda: tmp_path)
    root = typer.Typer()
    bench_cli.register(root)

    @root.command("version")  # a second command, so typer keeps `bench` as a subcommand
    def version() -> None:
        """Unused."""

    return root


def test_a_benchmark_returning_its_record_exits_0_with_the_json_on_stdout(app):
    result = CliRunner().invoke(app, ["bench", "returns_record", "--json", "--n", "3"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"benchmark": "fake", "argv": ["--json", "--n", "3"]}


def test_a_benchmark_returning_a_status_exits_with_it(app):
    assert CliRunner().invoke(app, ["bench", "returns_status"]).exit_code == 3
    assert CliRunner().invoke(app, ["bench", "returns_none"]).exit_code == 0


def test_bench_list_names_the_benchmarks(app):
    result = CliRunner().invoke(app, ["bench", "list"])
    assert result.exit_code == 0
    assert result.stdout.split() == sorted(FAKE_BENCHMARKS)


def test_the_real_benchmarks_are_found():
    assert {"learning", "sandbox", "tool_fuzz"} <= set(bench_cli.available())
