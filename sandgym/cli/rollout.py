"""`sandgym rollout`: collect episodes on a local or existing Ray cluster into Parquet."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Annotated

import typer


def register(root: typer.Typer) -> None:
    """Attach `sandgym rollout` to the root app."""
    root.command("rollout")(rollout)


def rollout(
    env: Annotated[str, typer.Option("--env", help="Environment id, e.g. sandgym/HumanEval-v0.")],
    out: Annotated[Path, typer.Option(help="Output .parquet; rerunning with the same file "
                                      "resumes (finished episodes are skipped).")],
    policy: Annotated[str, typer.Option(
        help="'default', 'openai:URL#MODEL', a model directory, or 'canonical' "
        "(reference answers).")] = "default",
    samples: Annotated[int, typer.Option("--samples", help="Episodes per task.")] = 1,
    limit: Annotated[int | None, typer.Option(help="Use only the first N tasks.")] = None,
    tasks: Annotated[str | None, typer.Option(
        help="Comma-separated task ids to play (default: all).")] = None,
    workers: Annotated[int, typer.Option(help="Rollout workers (Ray actors).")] = 2,
    address: Annotated[str | None, typer.Option(
        help="Join a Ray cluster ('auto', 'ray://HOST:10001'); default: start a local "
        "one.")] = None,
    batch_size: Annotated[int, typer.Option(
        help="Episodes each worker plays concurrently (one batched generate per turn).")] = 4,
    max_turns: Annotated[int, typer.Option(help="Most policy replies per episode.")] = 10,
    max_new_tokens: Annotated[int, typer.Option(help="Token budget per reply.")] = 256,
    temperature: Annotated[float | None, typer.Option(
        help="Sampling temperature (0 = greedy); default 0 for one sample per task, "
        "0.8 for several.")] = None,
    num_gpus: Annotated[float, typer.Option(help="GPUs per worker for a local model.")] = 0.0,
    max_attempts: Annotated[int, typer.Option(
        help="Most tries per episode (sandbox errors, dead workers).")] = 3,
    json_out: Annotated[bool, typer.Option(
        "--json", help="Print the summary as JSON (no progress bar).")] = False,
    progress: Annotated[bool | None, typer.Option(
        "--progress/--no-progress", help="Live progress bar (default: on a terminal).")] = None,
) -> None:
    """Collect SAMPLES episodes per task with W workers and write them to OUT."""
    from rich.console import Console

    from sandgym.rollouts import RolloutConfig, RolloutInterrupted, collect, summary_table
    from sandgym.rollouts.driver import default_sampling

    try:
        config = RolloutConfig(batch_size=batch_size, max_turns=max_turns,
                               max_attempts=max_attempts, num_gpus_per_worker=num_gpus)
        sampling = default_sampling(samples, max_new_tokens)
        if temperature is not None:
            sampling = dataclasses.replace(sampling, temperature=temperature)
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
