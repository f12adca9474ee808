"""Does training from execution feedback help? Base model vs trained, on held-out tasks.

Minutes on a CPU, so a benchmark, not a test. In one run, with the same sampling for
every model (greedy decoding, the same token budget, replies cut after the code block):

1. evaluate the base model on the held-out split (``--eval-split``, default ``test``);
2. for each trainer (``--trainers rft,grpo``) train with its *shipped defaults* on the
   training split, then evaluate the trained adapter on the same held-out tasks;
3. report each pass@1 with its bootstrap 95% interval, the paired gain over the base
   (tasks resampled, both runs scored on the same draw) with its interval, the
   training's own reward curve (first vs last), steps, wall times and the share of time
   spent in sandboxes.

Nothing here is tuned on the held-out split: the trainers run with their defaults and
the training split only (the config rejects ``split="test"``).

Prints one JSON line, e.g. (``sandgym bench learning --json``)::

    {"benchmark": "learning", "env": "sandgym/PythonBasics-v0", "eval_split": "test",
     "tasks": 67, "base": {"pass@1": 0.40, ...}, "rft": {"pass@1": ..., "gain": ...,
     "gain_interval": {...}, ...}, "wall_s": ..., "cpus": 2, "load": {...}}

``load`` says whether the wall times are the benchmark's own: the 1-minute load average
when the run starts and its mean and maximum over the run, sampled every 15 s. Run
alone, the mean stays at or below the number of CPUs the process may use (``cpus``):
1.9 on 2 CPUs for rft, whose torch threads use every core; 1.2 for grpo, which uses
half of them. Well above ``cpus``, other jobs shared the cores and the times are too
long.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

ENV_ID = "sandgym/PythonBasics-v0"
TRAINERS = ("rft", "grpo")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options (every one has a default)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trainers", default="rft",
                        help="Comma-separated trainers to compare with the base: rft, grpo.")
    parser.add_argument("--env", default=ENV_ID, help="Env with train/test splits.")
    parser.add_argument("--eval-split", default="test", help="Held-out split to score on.")
    parser.add_argument("--eval-limit", type=int, default=None,
                        help="Score the first N held-out tasks only (a quick look).")
    parser.add_argument("--max-new-tokens", type=int, default=192,
                        help="Token budget per reply when evaluating.")
    parser.add_argument("--out", default="runs/learning", help="Where the runs go.")
    parser.add_argument("--train-arg", action="append", default=[],
                        help="TRAINER.FIELD=VALUE to override a trainer default (the "
                        "headline figure is the defaults'; a quick smoke run may shrink "
                        "them), e.g. rft.limit=8; repeatable.")
    parser.add_argument("--json", action="store_true", help="Print only the JSON line.")
    return parser.parse_args(argv)


def _overrides(args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for item in args.train_arg:
        key, sep, value = item.partition("=")
        trainer, dot, name = key.partition(".")
        if not sep or not dot or trainer not in TRAINERS:
            raise SystemExit(f"--train-arg {item!r}: use TRAINER.FIELD=VALUE, TRAINER in "
                             f"{TRAINERS}")
        try:
            parsed: Any = json.loads(value)
        except json.JSONDecodeError:
            parsed = value
        out.setdefault(trainer, {})[name] = parsed
    return out


def _evaluate(env_id: str, policy: str, args: argparse.Namespace) -> tuple[Any, float]:
    from sandgym.rollouts.evaluation import evaluate

    started = time.perf_counter()
    report = evaluate(env_id, policy, env_kwargs={"split": args.eval_split},
                      limit=args.eval_limit, samples=1, temperature=0.0,
                      max_new_tokens=args.max_new_tokens, batch_size=128)
    return report, time.perf_counter() - started


def _load_1m() -> float | None:
    """The 1-minute load average, or None where the system does not tell it."""
    try:
        return round(os.getloadavg()[0], 2)
    except (OSError, AttributeError):
        return None


def _usable_cpus() -> int:
    """CPUs this process may run on (its affinity set where the system has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


class LoadSampler:
    """Samples the 1-minute load average every ``interval_s`` in a daemon thread.

    One reading at the end would not do: the kernel's averages decay exponentially, so a
    reading reflects the last minutes, not the run.
    """

    def __init__(self, interval_s: float = 15.0) -> None:
        self.start = _load_1m()
        self.samples: list[float] = []  # readings during the run, not the one before it
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(interval_s,), daemon=True,
                                        name="load-sampler")
        self._thread.start()

    def _run(self, interval_s: float) -> None:
        while not self._stop.wait(interval_s):
            value = _load_1m()
            if value is not None:
                self.samples.append(value)

    def stop(self) -> dict[str, Any]:
        """End sampling; the start value, the mean and maximum and how many samples."""
        self._stop.set()
        self._thread.join(timeout=1.0)
        samples = list(self.samples)
        return {"start_1m": self.start,
                "mean_1m": round(sum(samples) / len(samples), 2) if samples else None,
                "max_1m": max(samples) if samples else None, "samples": len(samples)}


def _counts(report: Any) -> dict[str, tuple[int, int]]:
    return {t.task_id: (t.episodes, t.passed) for t in report.tasks}


def _train(trainer: str, args: argparse.Namespace, overrides: dict[str, Any]) -> Any:
    out = str(Path(args.out) / trainer)
    if trainer == "rft":
        from sandgym.train.rft import RFTRunConfig, train_rft

        return train_rft(RFTRunConfig(env_id=args.env, out=out, **overrides))
    from sandgym.train.grpo import GRPORunConfig, train_grpo

    return train_grpo(GRPORunConfig(env_id=args.env, out=out, **overrides))


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the comparison; print and return the JSON record."""
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING if args.json else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    log = logging.getLogger("benchmarks.learning")
    trainers = [t.strip() for t in args.trainers.split(",") if t.strip()]
    unknown = sorted(set(trainers) - set(TRAINERS))
    if unknown:
        raise SystemExit(f"unknown trainers {unknown}; choose from {TRAINERS}")
    overrides = _overrides(args)

    from sandgym.envs.metrics import paired_difference_interval, pass_at_k_interval

    started = time.perf_counter()
    # Wall times are only comparable on an idle machine: other jobs on the same cores
    # made an earlier run of this benchmark take 2.5 times as long (docs/training.md).
    cpus = _usable_cpus()
    load = LoadSampler()
    if load.start is not None and load.start >= cpus / 2:
        log.warning("1-minute load average %.1f on %d CPUs before the run: the benchmark "
                    "expects an idle machine, and other jobs make its wall times too long",
                    load.start, cpus)
    base, base_s = _evaluate(args.env, "default", args)
    base_counts = _counts(base)
    record: dict[str, Any] = {
        "benchmark": "learning", "env": args.env, "eval_split": args.eval_split,
        "tasks": len(base.tasks), "decoding": "greedy", "max_new_tokens": args.max_new_tokens,
        "base": {"pass@1": base.pass_at_k["pass@1"],
                 "interval": pass_at_k_interval(list(base_counts.values()), 1).as_dict(),
                 "eval_s": round(base_s, 1)},
    }
    log.info("base pass@1 %.3f on %d held-out tasks", base.pass_at_k["pass@1"],
             len(base.tasks))
    for trainer in trainers:
        t0 = time.perf_counter()
        result = _train(trainer, args, overrides.get(trainer, {}))
        train_s = time.perf_counter() - t0
        trained, eval_s = _evaluate(args.env, str(result.model_dir), args)
        counts = _counts(trained)
        gain = paired_difference_interval(base_counts, counts, k=1)
        summary = result.summary
        record[trainer] = {
            "pass@1": trained.pass_at_k["pass@1"],
            "interval": pass_at_k_interval(list(counts.values()), 1).as_dict(),
            "gain": gain.estimate, "gain_interval": gain.as_dict(),
            "gain_shown": gain.low > 0,
            "defaults_overridden": overrides.get(trainer, {}),
            **({"objective": summary["objective"]} if "objective" in summary else {}),
            "steps": summary.get("rounds", summary.get("steps")),
            "train_reward_first": summary.get("reward_first"),
            "train_reward_last": summary.get("reward_last"),
            "train_s": round(train_s, 1), "eval_s": round(eval_s, 1),
            "train_plus_evals_s": round(base_s + train_s + eval_s, 1),
            "sandbox_share_of_training": summary.get("grading_share"),
            "run_dir": str(result.out_dir),
        }
        log.info("%s: pass@1 %.3f (gain %+.3f, 95%% interval [%.3f, %.3f]) after %.0f s",
                 trainer, trained.pass_at_k["pass@1"], gain.estimate, gain.low, gain.high,
                 train_s)
    record["wall_s"] = round(time.perf_counter() - started, 1)
    record.update({"cpus": cpus, "load": load.stop()})
    print(json.dumps(record), flush=True)
    return record


if __name__ == "__main__":
    main(sys.argv[1:])
