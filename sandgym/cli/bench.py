"""`sandgym bench NAME [ARGS]`: run a benchmark from benchmarks/ (each prints JSON)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import typer


def benchmarks_dir() -> Path:
    """benchmarks/ of the source checkout, or its copy inside the installed wheel."""
    package = Path(__file__).resolve().parents[1]
    for candidate in (package / "_resources" / "benchmarks", package.parent / "benchmarks"):
        if candidate.is_dir():
            return candidate
    raise typer.BadParameter("benchmarks/ is missing from this sandgym installation")


def available() -> list[str]:
    """Names of the benchmarks that can be run."""
    return sorted(p.stem for p in benchmarks_dir().glob("*.py") if not p.stem.startswith("_"))


def register(root: typer.Typer) -> None:
    """Attach `sandgym bench` to the root app."""

    @root.command("bench", context_settings={"allow_extra_args": True,
                                             "ignore_unknown_options": True})
    def bench(ctx: typer.Context,
              name: str = typer.Argument(..., help="Benchmark name (see `sandgym bench list`)."),
              ) -> None:
        """Run benchmarks/NAME.py; extra arguments (e.g. --json) go to the benchmark.

        `sandgym bench NAME -h` shows the benchmark's own options (--help shows these).
        """
        if name == "list":
            for item in available():
                typer.echo(item)
            return
        path = benchmarks_dir() / f"{name}.py"
        if not path.exists():
            raise typer.BadParameter(f"no benchmark {name!r}; choose from {available()}")
        spec = importlib.util.spec_from_file_location(f"sandgym_bench_{name}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        raise typer.Exit(exit_code(module.main(list(ctx.args))))


def exit_code(returned: object) -> int:
    """The status for what a benchmark's ``main`` returned.

    Some return their exit status, others the JSON record they printed; a record is
    success (a failed benchmark raises), never an exit status of 1 with the record
    written again to stderr, which is what ``sys.exit(dict)`` does.
    """
    if isinstance(returned, bool) or not isinstance(returned, int):
        return 0
    return returned
