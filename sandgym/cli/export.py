"""`sandgym export sft|dpo --from runs/X.parquet --out DIR`: rollouts to TRL datasets."""

from __future__ import annotations

import json

import typer

app = typer.Typer(help="Turn rollouts into offline alignment datasets (SFT, DPO).",
                  no_args_is_help=True)


def register(root: typer.Typer) -> None:
    """Attach this command group to the root app."""
    root.add_typer(app, name="export")


def _echo(result: object) -> None:
    typer.echo(json.dumps({"kind": result.kind, "out": str(result.out), "rows": result.rows,
                           "episodes": result.episodes, "usable": result.usable,
                           "tasks": result.tasks}))


@app.command("sft")
def sft(
    source: str = typer.Option(..., "--from", help="Rollouts (.parquet from `sandgym "
                                "rollout`)."),
    out: str = typer.Option(..., help="Output directory (datasets.load_from_disk)."),
    min_reward: float | None = typer.Option(None, help="Keep episodes with at least this "
                                            "return (default: those whose tests all passed)."),
    dedupe: bool = typer.Option(True, help="Drop repeated identical conversations."),
) -> None:
    """Successful episodes as a `messages` dataset for TRL's SFTTrainer."""
    from sandgym.train.export import export_sft

    _echo(export_sft(source, out, min_reward=min_reward, dedupe=dedupe))


@app.command("dpo")
def dpo(
    source: str = typer.Option(..., "--from", help="Rollouts (.parquet from `sandgym "
                                "rollout`)."),
    out: str = typer.Option(..., help="Output directory (datasets.load_from_disk)."),
    max_pairs_per_task: int = typer.Option(4, help="Most chosen/rejected pairs per task."),
    min_margin: float = typer.Option(0.0, help="Smallest reward gap of a pair (exclusive)."),
) -> None:
    """Reward-ranked chosen/rejected pairs per task for TRL's DPOTrainer."""
    from sandgym.train.export import export_dpo

    _echo(export_dpo(source, out, max_pairs_per_task=max_pairs_per_task,
                     min_margin=min_margin))
