"""`sandgym rollout`: collect episodes on a local or existing Ray cluster into Parquet."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer


def register(root: typer.Typer) -> None:
    """Attach `sandgym rollout` to the root app."""
    root.command("rollout")(rollout)


def rollout(
    env: str = typer.Option(..., "--env", help="Environment id, e.g. sandgym/HumanEval-v0."),
    policy: str = typer.Option(
        "default", help="'default', 'openai:URL#MODEL', a model directory, or 'canonical' "
        "(reference answers)."),
    out: Path = typer.Option(..., help="Output .parquet; rerunning with the same file "
                             "resumes (finished episodes are skipped)."),
    samples: int = typer.Option(1, "--samples", help="Episodes per task."),
    limit: Optional[int] = typer.Option(None, help="Use only the first N tasks."),  # noqa: UP007
    tasks: Optional[str] = typer.Option(  # noqa: UP007
        None, help="Comma-separated task ids to play (default: all)."),
    workers: int = typer.Option(2, help="Rollout workers (Ray actors)."),
    address: Optional[str] = typer.Option(  # noqa: UP007
        None, help="Join a Ray cluster ('auto', 'ray://HOST:10001'); default: start a "
        "local one."),
    batch_size: int = typer.Option(4, help="Episodes each worker plays concurrently."),
    max_turns: int = typer.Option(10, help="Most policy replies per episode."),
    max_new_tokens: int = typer.Option(256, help="Token budget per reply."),
    temperature: float = typer.Option(0.7, help="Sampling temperature (0 = greedy)."),
    num_gpus: float = typer.Option(0.0, help="GPUs per worker for a local model."),
    max_attempts: int = typer.Option(3, help="Most tries per episode (sandbox errors, "
                                     "dead workers)."),
    json_out: bool = typer.Option(False, "--json", help="Print the summary as JSON (no "
                                  "progress bar)."),
    progress: Optional[bool] = typer.Option(  # noqa: UP007
        None, "--progress/--no-progress", help="Live progress bar (default: on a terminal)."),
) -> None:
    """Collect SAMPLES episodes per task with W workers and write them to OUT."""
    from rich.console import Console

    from sandgym.agents import SamplingParams
    from sandgym.rollouts import RolloutConfig, RolloutInterrupted, collect, summary_table

    try:
        config = RolloutConfig(batch_size=batch_size, max_turns=max_turns,
                               max_attempts=max_attempts, num_gpus_per_worker=num_gpus)
        sampling = SamplingParams(temperature=temperature, max_new_tokens=max_new_tokens)
    except ValueError as e:
        raise typer.BadParameter(str(e)) from e
    task_list = [t.strip() for t in tasks.split(",") if t.strip()] if tasks else None
    code = 0
    try:
        result = collect(env, policy, out=out, tasks=task_list, limit=limit,
                         samples_per_task=samples, num_workers=workers, address=address,
                         sampling=sampling, config=config,
                         progress=False if json_out else progress)
    except RolloutInterrupted as e:
        result, code = e.result, 130
    if json_out:
        typer.echo(json.dumps(result.to_dict()))
    else:
        Console().print(summary_table(result))
    raise typer.Exit(code)
