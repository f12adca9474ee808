"""`sandgym train grpo|rft ...`: fine-tuning on execution feedback (TRL).

Options are the fields of `sandgym.train.grpo.GRPORunConfig` and
`sandgym.train.rft.RFTRunConfig` (help and defaults written once, there).
"""

from __future__ import annotations

import json
import logging
from typing import Any

import typer

from sandgym.cli.options import PLAYED_ENV_ARG_HELP, config_options, parse_env_args
from sandgym.train.grpo import GRPORunConfig
from sandgym.train.rft import RFTRunConfig

logger = logging.getLogger(__name__)

app = typer.Typer(help="Train agents from execution feedback (TRL).", no_args_is_help=True)


def register(root: typer.Typer) -> None:
    """Attach this command group to the root app."""
    root.add_typer(app, name="train")


@app.command("grpo")
@config_options(GRPORunConfig, skip=("env_kwargs",))
def grpo(config: GRPORunConfig,
         env_arg: list[str] = typer.Option([], "--env-arg", help=PLAYED_ENV_ARG_HELP)) -> None:
    """Fine-tune with GRPO; writes metrics.jsonl, episodes.jsonl, reward_curve.png and the
    adapter/model.

    Ctrl-C finishes the step in flight, saves OUT/checkpoint-N and exits with status 130;
    rerun the same command with --resume to continue to --steps. A second Ctrl-C aborts
    that step at once (containers are still removed; resume starts at the last checkpoint).
    """
    from sandgym.train.checkpoints import resume_point
    from sandgym.train.grpo import train_grpo
    from sandgym.train.interrupt import TrainingInterrupted
    from sandgym.train.metrics import json_safe

    config.env_kwargs = parse_env_args(env_arg)
    try:
        resume_point(config.out, config.resume)  # refuse before loading anything
    except ValueError as e:
        # The library's message names the option; BadParameter names it again.
        raise typer.BadParameter(str(e).removeprefix("--resume: "), param_hint="--resume") \
            from e
    try:
        result = train_grpo(config)
    except TrainingInterrupted as e:
        logger.warning("%s", e)
        typer.echo(json.dumps({"interrupted": True, "aborted": e.aborted, "step": e.step,
                               "checkpoint": str(e.checkpoint) if e.checkpoint else None,
                               "next": e.hint}))
        raise typer.Exit(130) from None
    except KeyboardInterrupt:
        logger.warning("interrupted before training started; nothing to resume")
        raise typer.Exit(130) from None
    s: dict[str, Any] = result.summary
    typer.echo(json.dumps(json_safe({
        "mode": result.mode, "steps": s["steps"], "reward_first": s["reward_first"],
        "reward_last": s["reward_last"], "pass_rate_first": s["pass_rate_first"],
        "pass_rate_last": s["pass_rate_last"], "grading_share": s["grading_share"],
        "wall_s": round(result.wall_s, 1), "model": str(result.model_dir),
        "metrics": str(result.metrics_path),
        "reward_curve": str(result.curve_path) if result.curve_path else None})))


@app.command("rft")
@config_options(RFTRunConfig, skip=("env_kwargs",))
def rft(config: RFTRunConfig,
        env_arg: list[str] = typer.Option([], "--env-arg", help=PLAYED_ENV_ARG_HELP)) -> None:
    """Expert iteration: sample, have the sandbox judge, fine-tune (LoRA), repeat.

    By default each round samples a fresh share of the training tasks with the model
    trained so far (its pass rate is measured on tasks not yet trained on);
    --no-fresh-tasks samples every task each round and retrains from the base (ReST-EM).
    For one-turn envs the default (--objective auto) trains on (passed, failed) reply
    pairs of the same task, DPO plus an NLL term (rpo); it also decodes each task
    greedily and pairs a failed greedy reply first (--no-pair-greedy: samples only).
    Multi-turn envs, and --objective sft, fine-tune on the passed replies (SFT).

    Writes metrics.jsonl (one row per round), samples_round*.jsonl, pairs_round*.jsonl
    and greedy_round*.jsonl (rpo), reward_curve.png, summary.json and adapter/
    (evaluate it with `sandgym eval --policy RUN_DIR`).
    """
    from sandgym.train.metrics import json_safe
    from sandgym.train.rft import train_rft

    config.env_kwargs = parse_env_args(env_arg)
    result = train_rft(config)
    s: dict[str, Any] = result.summary
    typer.echo(json.dumps(json_safe({
        "trainer": "rft", "objective": s["objective"], "rounds": s["rounds"],
        "tasks_per_round": s["tasks_per_round"], "reward_per_round": s["reward_per_round"],
        "greedy_pass_rate_per_round": s["greedy_pass_rate_per_round"],
        "examples_per_round": s["examples_per_round"], "grading_share": s["grading_share"],
        "wall_s": round(result.wall_s, 1), "model": str(result.model_dir),
        "metrics": str(result.metrics_path),
        "reward_curve": str(result.curve_path) if result.curve_path else None})))
