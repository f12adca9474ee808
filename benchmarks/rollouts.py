"""Rollout throughput on a local Ray: 1 vs 2 workers, and where a model's time goes.

Measured in one run, on one local Ray (``num_cpus`` = this machine's cores):

* ``in_process``: the same canonical HumanEval episodes played by `run_episodes` in
  this process with one pool (no Ray): the baseline the workers are compared with;
* ``scripted_1_worker`` / ``scripted_2_workers``: `collect` with the ``canonical``
  policy (reference answers, so every step runs real tests in a sandbox) on
  ``sandgym/HumanEval-v0``; ``episodes_per_s`` counts the whole call (worker start-up
  included), ``steady_episodes_per_s`` the time after the first batch came back;
* ``scaling_2_over_1``: the 2-to-1 worker ratio of both rates;
* ``ray_over_in_process``: 1 worker's steady rate over the in-process loop's (the cost
  of the Ray path when the work is CPU-bound);
* ``delayed_N_workers`` (N = 1, 2, 4): the same canonical answers from a policy that
  waits ``--delay-ms`` per generate call, like a remote inference server
  (`sandgym.agents.latency.DelayedPolicy`); workers request a quarter CPU each, since
  they mostly wait. ``delayed_scaling`` gives the 2/1 and 4/1 ratios of both rates:
  near 2 and 4 when the driver↔worker path adds little. Batches of 2 keep 4 workers'
  sandboxed steps (the CPU-bound part) under what 2 cores can grade, so the ratio
  measures the rollout path, not the CPU;
* ``default_model``: `collect` with the default model (CPU): ``tokens_per_s`` is the
  workers' generation throughput (tokens over time inside generate, summed over
  batches), ``tokens_per_s_whole_run`` tokens over the whole call, ``env_share`` the
  share of the workers' batch time spent in the environment rather than generating.

On a 2-core machine two workers share the cores with the Docker engine and the
sandboxed tests, so the ratio says how much a second worker still adds, not what a
cluster gives.

Usage: ``sandgym bench rollouts [--json] [--episodes 96] [--model-episodes 8]
[--skip-model] [--delay-ms 200] [--delay-episodes 160] [--delay-batch 2]``. Prints one
JSON object.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ENV_ID = "sandgym/HumanEval-v0"


def _in_process(task_ids: list[str], batch_size: int) -> dict[str, Any]:
    """Play the episodes here with run_episodes and one pool: the no-Ray baseline."""
    import gymnasium

    from sandgym.agents import run_episodes
    from sandgym.rollouts.policies import canonical_policy, ensure_envs
    from sandgym.sandbox import SandboxPool

    ensure_envs()
    with SandboxPool(size=batch_size) as pool:
        envs = [gymnasium.make(ENV_ID, pool=pool) for _ in range(batch_size)]
        policy = canonical_policy(envs[0])
        pool.wait_ready()
        started = time.perf_counter()
        passed = 0
        for i in range(0, len(task_ids), batch_size):
            batch = task_ids[i:i + batch_size]
            trajs = run_episodes(envs[:len(batch)], policy, task_ids=batch,
                                 env_workers=len(batch))
            passed += sum(1 for t in trajs if t.success)
        wall = time.perf_counter() - started
        for env in envs:
            env.close()
    return {"episodes": len(task_ids), "passed": passed, "wall_s": round(wall, 3),
            "episodes_per_s": round(len(task_ids) / wall, 3)}


def _collect(policy: str, limit: int, workers: int, out: Path, config: Any = None,
             samples_per_task: int = 1, **kwargs: Any) -> dict[str, Any]:
    from sandgym.rollouts import RolloutConfig, collect

    result = collect(ENV_ID, policy, limit=limit, samples_per_task=samples_per_task,
                     num_workers=workers, out=out, config=config or RolloutConfig(batch_size=4),
                     progress=False, **kwargs)
    keep = ("episodes", "pass_rate", "mean_reward", "sandbox_errors", "retries", "wall_s",
            "episodes_per_s", "steady_episodes_per_s", "step_latency_s", "completion_tokens",
            "tokens_per_s", "env_share", "num_workers")
    return {k: (round(v, 4) if isinstance(v, float) else v)
            for k, v in result.to_dict().items() if k in keep}


def _ratios(runs: dict[int, dict[str, Any]]) -> dict[str, float | None]:
    out: dict[str, float | None] = {}
    for n in sorted(runs)[1:]:
        for key in ("episodes_per_s", "steady_episodes_per_s"):
            base = runs[1][key]
            out[f"{n}_over_1_{key}"] = round(runs[n][key] / base, 3) if base else None
    return out


def _delayed(tmp: Path, episodes: int, delay_ms: float, batch_size: int
             ) -> dict[str, Any]:
    """1, 2 and 4 workers whose policy waits like a remote inference server."""
    from sandgym.rollouts import RolloutConfig

    config = RolloutConfig(batch_size=batch_size, num_cpus_per_worker=0.25,
                           policy_options={"latency_s": delay_ms / 1000})
    tasks = min(episodes, 164)
    samples = max(1, -(-episodes // tasks))
    runs = {n: _collect("canonical", tasks, n, tmp / f"delayed{n}.parquet", config=config,
                        samples_per_task=samples) for n in (1, 2, 4)}
    report: dict[str, Any] = {f"delayed_{n}_worker{'s' if n > 1 else ''}": r
                              for n, r in runs.items()}
    report["delayed_scaling"] = {"delay_ms": delay_ms, "batch_size": batch_size,
                                 **_ratios(runs)}
    return report


def run(episodes: int, model_episodes: int, max_new_tokens: int, skip_model: bool,
        delay_ms: float = 200.0, delay_episodes: int = 160, delay_batch: int = 2
        ) -> dict[str, Any]:
    """Measure everything; returns the JSON-ready report."""
    import ray

    from sandgym.agents import SamplingParams
    from sandgym.rollouts import SANDBOX_RESOURCE
    from sandgym.rollouts.driver import resolve_tasks

    os.environ.setdefault("RAY_ENABLE_UV_RUN_RUNTIME_ENV", "0")
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    report: dict[str, Any] = {
        "benchmark": "rollouts", "env": ENV_ID, "cpus": os.cpu_count(),
        "python": platform.python_version(), "ray": ray.__version__}
    report["in_process"] = _in_process(resolve_tasks(ENV_ID, None, episodes), batch_size=4)
    ray.init(num_cpus=os.cpu_count(), resources={SANDBOX_RESOURCE: 4},
             include_dashboard=False, logging_level=logging.WARNING,
             object_store_memory=256 * 1024**2)
    try:
        with tempfile.TemporaryDirectory(prefix="sandgym-bench-") as tmp:
            one = _collect("canonical", episodes, 1, Path(tmp) / "one.parquet")
            two = _collect("canonical", episodes, 2, Path(tmp) / "two.parquet")
            report["scripted_1_worker"], report["scripted_2_workers"] = one, two
            report["scaling_2_over_1"] = {
                key: round(two[key] / one[key], 3) if one[key] else None
                for key in ("episodes_per_s", "steady_episodes_per_s")}
            base = report["in_process"]["episodes_per_s"]
            report["ray_over_in_process"] = {
                "1_worker_steady": round(one["steady_episodes_per_s"] / base, 3),
                "2_workers_steady": round(two["steady_episodes_per_s"] / base, 3)}
            if delay_episodes:
                report.update(_delayed(Path(tmp), delay_episodes, delay_ms, delay_batch))
            if not skip_model:
                sampling = SamplingParams(max_new_tokens=max_new_tokens)
                report["default_model"] = _collect(
                    "default", model_episodes, 2, Path(tmp) / "model.parquet",
                    sampling=sampling)
                model = report["default_model"]
                model["max_new_tokens"] = max_new_tokens
                model["tokens_per_s_whole_run"] = round(
                    model["completion_tokens"] / model["wall_s"], 3) if model["wall_s"] else None
    finally:
        ray.shutdown()
    return report


def main(argv: list[str]) -> int:
    """Entry point of `sandgym bench rollouts`."""
    parser = argparse.ArgumentParser(prog="sandgym bench rollouts", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", action="store_true", help="print only the JSON object")
    parser.add_argument("--episodes", type=int, default=96,
                        help="HumanEval tasks played by the scripted runs (one sample each)")
    parser.add_argument("--model-episodes", type=int, default=8,
                        help="HumanEval tasks played by the default model")
    parser.add_argument("--max-new-tokens", type=int, default=128,
                        help="token budget per reply of the default model")
    parser.add_argument("--skip-model", action="store_true", help="scripted runs only")
    parser.add_argument("--delay-ms", type=float, default=200.0,
                        help="the delayed policy's wait per generate call")
    parser.add_argument("--delay-episodes", type=int, default=160,
                        help="episodes per delayed run (0 skips the delayed runs)")
    parser.add_argument("--delay-batch", type=int, default=2,
                        help="episodes per batch in the delayed runs")
    args = parser.parse_args(argv)
    report = run(args.episodes, args.model_episodes, args.max_new_tokens, args.skip_model,
                 args.delay_ms, args.delay_episodes, args.delay_batch)
    print(json.dumps(report) if args.json else json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
