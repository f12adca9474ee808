"""`sandgym eval`: play episodes with a policy and report pass@k and mean reward.

A thin shell over `sandgym.rollouts.evaluate`. It exits 1 when every episode ended in
a sandbox error: such a report measured nothing, and a 0 would let a script take it for
a result.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import typer

from sandgym.cli.options import PLAYED_ENV_ARG_HELP, parse_env_args
from sandgym.rollouts.policies import POLICY_HELP

logger = logging.getLogger(__name__)

AUTO = "auto"
"""``--max-turns auto``: the env's declared ``max_episode_turns``, else 10."""


def parse_max_turns(value: str) -> int | None:
    """``--max-turns``: ``auto`` (None: the env decides) or a positive int."""
    if value.strip().lower() == AUTO:
        return None
    try:
        turns = int(value)
    except ValueError:
        turns = 0
    if turns < 1:
        raise typer.BadParameter(f"expected 'auto' or a positive integer, got {value!r}",
                                 param_hint="--max-turns")
    return turns


def exit_status(report: Any) -> int:
    """1 when nothing was measured (every episode a sandbox error), else 0.

    ``report`` is an `EvalReport`; an env whose every episode failed in the
    infrastructure gives pass@k None and sandbox errors only, which must not pass for a
    successful evaluation.
    """
    return 1 if report.nothing_measured else 0


def register(root: typer.Typer) -> None:
    """Attach `sandgym eval` to the root app."""
    root.command("eval")(eval_command)


def eval_command(
    env: str = typer.Option(..., "--env", help="Registered env id, e.g. sandgym/HumanEval-v0."),
    policy: str = typer.Option("canonical", help=POLICY_HELP + "."),
    tasks: Path | None = typer.Option(None, "--tasks", help="A task-set JSONL file of your "
                                      "own, given to the env as tasks= (default: the env's)."),
    env_arg: list[str] = typer.Option([], "--env-arg", help=PLAYED_ENV_ARG_HELP),
    limit: int = typer.Option(None, min=1, help="Evaluate the first N tasks only."),
    samples: int = typer.Option(1, min=1, help="Episodes per task (k of pass@k up to it)."),
    temperature: float = typer.Option(None, help="Sampling temperature (default: 0 for one "
                                      "sample, 0.8 for several)."),
    max_new_tokens: int = typer.Option(512, min=1, help="Tokens per model reply."),
    max_turns: str = typer.Option(AUTO, "--max-turns", help="Policy replies per episode at "
                                  "most: a number, or 'auto' (the turn limit the env declares "
                                  "for its tasks, max_episode_turns; 10 when it declares none)."),
    batch_size: int = typer.Option(None, "--batch-size", "--concurrency", min=1,
                                   help="Episodes played at once, one batched generate per "
                                   "turn (default 16, whatever the sandbox pool's size)."),
    timeout: float = typer.Option(None, "--timeout", min=0.001, help="Seconds per sandboxed "
                                  "request (default: the env's own budget)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object (with "
                                 "per-task results)."),
) -> None:
    """Run episodes and report pass@k (unbiased estimator), τ-bench's pass^k (all k
    samples pass) and mean reward."""
    from sandgym.rollouts.evaluation import evaluate

    turns = parse_max_turns(max_turns)
    env_kwargs = parse_env_args(env_arg)
    if tasks is not None:
        env_kwargs["tasks"] = str(tasks)
    result = evaluate(env, policy, env_kwargs=env_kwargs, limit=limit, samples=samples,
                      temperature=temperature, max_new_tokens=max_new_tokens,
                      max_turns=turns, batch_size=batch_size, timeout_s=timeout)
    report = result.to_dict()
    if as_json:
        typer.echo(json.dumps(report))
    else:
        typer.echo(f"{report['env']} with policy {report['policy']}: solved "
                   f"{report['solved']}/{report['tasks']} tasks, "
                   + ", ".join(f"{k} {v}" for k, v in report["pass@k"].items())
                   + ", " + ", ".join(f"{k} {v}" for k, v in report["pass^k"].items())
                   + f", mean reward {report['mean_reward']}, sandbox errors "
                   f"{report['sandbox_errors']}")
    status = exit_status(result)
    if status:
        typer.echo(f"error: every episode ({report['episodes']}) ended in a sandbox error; "
                   "nothing was measured (the warnings above say why)",
                   err=True)
    raise typer.Exit(status)
