"""`sandgym eval`: play episodes with a policy and report pass@k and mean reward."""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Sequence
from typing import Any

import typer

logger = logging.getLogger(__name__)


def register(root: typer.Typer) -> None:
    """Attach `sandgym eval` to the root app."""
    root.command("eval")(eval_command)


def eval_command(
    env: str = typer.Option(..., "--env", help="Registered env id, e.g. sandgym/HumanEval-v0."),
    policy: str = typer.Option("canonical", help="canonical (each task's reference answer), "
                               "default, openai:URL#MODEL, or a model directory."),
    limit: int = typer.Option(None, min=1, help="Evaluate the first N tasks only."),
    samples: int = typer.Option(1, min=1, help="Episodes per task (k of pass@k up to it)."),
    temperature: float = typer.Option(None, help="Sampling temperature (default: 0 for one "
                                      "sample, 0.8 for several)."),
    max_new_tokens: int = typer.Option(512, min=1, help="Tokens per model reply."),
    max_turns: int = typer.Option(10, min=1, help="Policy replies per episode at most."),
    concurrency: int = typer.Option(None, min=1, help="Episodes in flight (default: the "
                                    "sandbox pool's size)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Run episodes and report pass@k (unbiased estimator) and mean reward."""
    report = evaluate(env, policy, limit=limit, samples=samples, temperature=temperature,
                      max_new_tokens=max_new_tokens, max_turns=max_turns,
                      concurrency=concurrency)
    if as_json:
        typer.echo(json.dumps(report))
    else:
        typer.echo(f"{report['env']} with policy {report['policy']}: solved "
                   f"{report['solved']}/{report['tasks']} tasks, "
                   + ", ".join(f"{k} {v}" for k, v in report["pass@k"].items())
                   + f", mean reward {report['mean_reward']}, sandbox errors "
                   f"{report['sandbox_errors']}")
    raise typer.Exit(0)


def evaluate(env_id: str, policy_spec: str, *, limit: int | None = None, samples: int = 1,
             temperature: float | None = None, max_new_tokens: int = 512,
             max_turns: int = 10, concurrency: int | None = None) -> dict[str, Any]:
    """Play ``samples`` episodes per task and summarise them (the `sandgym eval` report)."""
    import gymnasium

    import sandgym.envs
    from sandgym.agents import SamplingParams, run_episodes
    from sandgym.rollouts.policies import build_policy

    sandgym.envs.ensure_registered()
    pool = sandgym.envs.default_pool()
    width = concurrency or pool.size
    if _holds_sandbox(env_id):
        width = min(width, pool.size)  # more would wait for sandboxes held by the others
    envs = [gymnasium.make(env_id) for _ in range(width)]
    try:
        task_ids = list(envs[0].unwrapped.task_ids)[:limit]
        policy = build_policy(policy_spec, env=envs[0])
        if temperature is None:
            temperature = 0.0 if samples == 1 else 0.8
        sampling = SamplingParams(temperature=temperature, max_new_tokens=max_new_tokens)
        queue = [t for t in task_ids for _ in range(samples)]
        trajectories = []
        for start in range(0, len(queue), width):
            batch = queue[start:start + width]
            trajectories += run_episodes(envs[:len(batch)], policy, sampling=sampling,
                                         task_ids=batch, max_turns=max_turns)
    finally:
        for env in envs:
            env.close()
    return summarize(env_id, policy_spec, task_ids, samples, trajectories)


def _holds_sandbox(env_id: str) -> bool:
    import gymnasium

    entry = gymnasium.spec(env_id).entry_point
    if isinstance(entry, str):
        entry = gymnasium.envs.registration.load_env_creator(entry)
    return bool(getattr(entry, "holds_sandbox", False))


def summarize(env_id: str, policy_spec: str, task_ids: Sequence[str], samples: int,
              trajectories: Sequence[Any]) -> dict[str, Any]:
    """pass@k per task (episodes with a sandbox error are left out) and mean reward."""
    from sandgym.envs.metrics import mean_pass_at_k

    counts = {t: [0, 0] for t in task_ids}
    rewards, sandbox_errors = [], 0
    for traj in trajectories:
        if traj.sandbox_error or traj.final_reward is None:
            sandbox_errors += 1
            continue
        passed = bool(traj.verdicts) and traj.verdicts[-1].get("status") == "pass"
        counts[traj.task_id][0] += 1
        counts[traj.task_id][1] += int(passed)
        rewards.append(traj.final_reward)
    ks = sorted({1, samples} | {k for k in (5, 10, 100) if k <= samples})
    pairs = [tuple(v) for v in counts.values()]
    pass_k = {f"pass@{k}": round(mean_pass_at_k(pairs, k), 6) for k in ks}
    return {
        "env": env_id,
        "policy": policy_spec,
        "tasks": len(task_ids),
        "samples": samples,
        "episodes": len(trajectories),
        "solved": sum(1 for n, c in pairs if c > 0),
        "passed_episodes": sum(c for _, c in pairs),
        "pass@k": {k: (None if math.isnan(v) else v) for k, v in pass_k.items()},
        "mean_reward": round(sum(rewards) / len(rewards), 6) if rewards else None,
        "sandbox_errors": sandbox_errors,
    }
