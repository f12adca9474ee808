"""`sandgym rollout`: collect episodes on a local or existing Ray cluster into Parquet.

How to collect (batch size, retries, resources, timeouts) are the fields of
`sandgym.rollouts.RolloutConfig`, turned into options here (help and defaults written
once, there); what to collect are `sandgym.rollouts.collect`'s arguments.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import typer

from sandgym.cli.options import PLAYED_ENV_ARG_HELP, config_options, parse_env_args
from sandgym.rollouts.config import RolloutConfig
from sandgym.rollouts.policies import POLICY_HELP


def register(root: typer.Typer) -> None:
    """Attach `sandgym rollout` to the root app."""
    root.command("rollout")(rollout)


@config_options(RolloutConfig)
def rollout(
    config: RolloutConfig,
    env: str = typer.Option(..., "--env", help="Environment id, e.g. sandgym/HumanEval-v0."),
    out: Path = typer.Option(..., help="Output .parquet; rerunning with the same file "
                             "resumes (finished episodes are skipped)."),
    policy: str = typer.Option("default", help=POLICY_HELP + "."),
    samples: int = typer.Option(1, "--samples", help="Episodes per task."),
    limit: int | None = typer.Option(None, help="Use only the first N tasks."),
    tasks: str | None = typer.Option(None, help="Comma-separated task ids to play "
                                     "(default: all). Your own task file: --env-arg "
                                     "tasks=FILE."),
    env_arg: list[str] = typer.Option([], "--env-arg", help=PLAYED_ENV_ARG_HELP),
    timeout: float | None = typer.Option(None, "--timeout", min=0.001, help="Seconds per "
                                         "sandboxed request (default: the env's own budget)."),
    workers: int = typer.Option(2, help="Rollout workers (Ray actors)."),
    address: str | None = typer.Option(None, help="Join a Ray cluster ('auto', "
                                       "'ray://HOST:10001'); default: start a local one."),
    max_new_tokens: int = typer.Option(256, help="Token budget per reply."),
    temperature: float | None = typer.Option(None, help="Sampling temperature (0 = greedy); "
                                             "default 0 for one sample per task, 0.8 for "
                                             "several."),
    json_out: bool = typer.Option(False, "--json", help="Print the summary as JSON (no "
                                  "progress bar)."),
    progress: bool | None = typer.Option(None, "--progress/--no-progress", help="Live "
                                         "progress bar (default: on a terminal)."),
) -> None:
    """Collect SAMPLES episodes per task with W workers and write them to OUT."""
    from rich.console import Console

    from sandgym.rollouts import RolloutInterrupted, collect, summary_table
    from sandgym.rollouts.driver import default_sampling

    env_kwargs = parse_env_args(env_arg)
    if timeout is not None:
        from sandgym.envs import env_traits

        if env_traits(env).default_timeout_s is None:
            raise typer.BadParameter(f"{env} declares no time budget per request "
                                     "(default_timeout_s)", param_hint="--timeout")
        env_kwargs["timeout_s"] = timeout
    try:
        config = dataclasses.replace(config, env_kwargs=env_kwargs)
        sampling = default_sampling(samples, max_new_tokens)
        if temperature is not None:
            sampling = dataclasses.replace(sampling, temperature=temperature)
    except ValueError as e:
        raise typer.BadParameter(str(e)) from e
    task_list = [t.strip() for t in tasks.split(",") if t.strip()] if tasks else None
    if task_list and any(t.endswith((".jsonl", ".json")) for t in task_list):
        # `sandgym eval --tasks` takes a file; here the file is the env's constructor's.
        raise typer.BadParameter(f"{tasks!r} looks like a task file; --tasks takes task "
                                 "ids here. Play your own task set with --env-arg "
                                 "tasks=FILE", param_hint="--tasks")
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
