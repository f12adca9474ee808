"""`sandgym report SOURCE [--out report.html]`: one static HTML page of a run."""

from __future__ import annotations

import json

import typer


def register(root: typer.Typer) -> None:
    """Attach `sandgym report` to the root app."""

    @root.command("report")
    def report(
        source: str = typer.Argument(..., help="A collection (.parquet from `sandgym "
                                     "rollout`) or a run directory (its collections and "
                                     "training metrics.jsonl)."),
        out: str | None = typer.Option(None, help="HTML file to write (default: "
                                       "SOURCE.html, or SOURCE/report.html for a directory)."),
        train_dir: str | None = typer.Option(None, "--train-dir", help="A `sandgym train` "
                                             "output directory whose curves to add."),
        max_episodes: int = typer.Option(2000, min=1, help="Most episodes embedded for "
                                         "browsing; the plots and table count all."),
    ) -> None:
        """Write a self-contained HTML report: reward and verdict plots, pass rate per
        task, every episode's conversation with verdicts and reward components, filters
        by task, verdict and reward, and training curves. No network needed to view it."""
        from sandgym.rollouts.report import build_report

        result = build_report(source, out, train_dir=train_dir, max_episodes=max_episodes)
        typer.echo(json.dumps({"out": str(result.out), "episodes": result.episodes,
                               "shown": result.shown, "curves": result.curves}))
