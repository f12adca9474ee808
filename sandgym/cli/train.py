"""`sandgym train grpo ...`: GRPO fine-tuning on execution rewards (TRL)."""

from __future__ import annotations

import json

import typer

app = typer.Typer(help="Train agents from execution feedback (TRL).", no_args_is_help=True)


def register(root: typer.Typer) -> None:
    """Attach this command group to the root app."""
    root.add_typer(app, name="train")


@app.command("grpo")
def grpo(
    env: str = typer.Option("sandgym/PythonTests-v0", "--env", help="Registered env id."),
    model: str = typer.Option("default", help="'default' (the local SmolLM2-135M-Instruct) or "
                              "a model directory."),
    lora: bool = typer.Option(True, "--lora/--full", help="Train a LoRA adapter or every "
                              "weight."),
    steps: int = typer.Option(30, help="Optimizer steps."),
    num_generations: int = typer.Option(4, help="Completions per prompt (GRPO group size)."),
    prompts_per_step: int = typer.Option(1, help="Distinct prompts per step."),
    max_completion_length: int = typer.Option(96, help="Most new tokens per completion."),
    learning_rate: float | None = typer.Option(
        None, help="Learning rate (default 5e-5 LoRA, 1e-6 full)."),
    reward_mode: str | None = typer.Option(
        None, help="binary | fraction | graded (default: the env's)."),
    mode: str = typer.Option("auto", help="auto | reward | tools | ray (auto: reward for "
                             "one-turn Python-test envs, tools for multi-turn envs)."),
    limit: int | None = typer.Option(None, help="Train on the first N tasks."),
    out: str = typer.Option("runs/grpo", help="Run directory."),
    report_to: str = typer.Option("none", help="none | tensorboard | wandb (passed to TRL)."),
    seed: int = typer.Option(0, help="Random seed."),
    max_turns: int = typer.Option(3, help="tools/ray modes: most turns per episode."),
    num_workers: int = typer.Option(2, help="ray mode: rollout workers."),
    address: str | None = typer.Option(
        None, help="ray mode: cluster address ('auto' joins a running cluster)."),
) -> None:
    """Fine-tune with GRPO; writes metrics.jsonl, reward_curve.png and the adapter/model."""
    from sandgym.train.grpo import GRPORunConfig, train_grpo
    from sandgym.train.metrics import json_safe

    try:
        config = GRPORunConfig(env_id=env, model=model, lora=lora, steps=steps,
                               num_generations=num_generations,
                               prompts_per_step=prompts_per_step,
                               max_completion_length=max_completion_length,
                               learning_rate=learning_rate, reward_mode=reward_mode, mode=mode,
                               limit=limit, out=out, report_to=report_to, seed=seed,
                               max_turns=max_turns, num_workers=num_workers, address=address)
    except ValueError as e:
        raise typer.BadParameter(str(e)) from e
    result = train_grpo(config)
    s = result.summary
    typer.echo(json.dumps(json_safe({
        "mode": result.mode, "steps": s["steps"], "reward_first": s["reward_first"],
        "reward_last": s["reward_last"], "pass_rate_first": s["pass_rate_first"],
        "pass_rate_last": s["pass_rate_last"], "grading_share": s["grading_share"],
        "wall_s": round(result.wall_s, 1), "model": str(result.model_dir),
        "metrics": str(result.metrics_path),
        "reward_curve": str(result.curve_path) if result.curve_path else None})))
