"""Cost per step of a Gymnasium env run wholly in a container vs. the same env in-process.

Both are measured here, now, with the same env, seeds and actions
(``examples/untrusted_env``'s ``UntrustedEnv/Walk-v0``, a Dict observation of ~1 KB
on the wire), because absolute times on shared machines drift. Rounds alternate
between the two so drift hits both alike.

* ``in_process_step``: ``gymnasium.make(id).step(a)`` on the host (the baseline);
* ``isolated_step``: ``sandgym.make_isolated(id, package).step(a)``: one line of
  JSON each way through the Docker engine's attach stream, plus validation;
* ``isolated_reset``: the same for ``reset(seed=...)``;
* ``isolated_start``: ``make_isolated`` with its image already built (container start,
  interpreter and gymnasium import, env construction, spaces sent back).

Usage: ``sandgym bench isolated_env [--json] [--n 500]``. Prints one JSON object whose
``overhead_per_step_ms`` is the isolated step's mean minus the in-process one's.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "examples" / "untrusted_env"
ENV_ID = "untrusted_env:UntrustedEnv/Walk-v0"


def _summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)

    def pick(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    return {"p50_ms": round(pick(0.5), 4), "p99_ms": round(pick(0.99), 4),
            "mean_ms": round(statistics.fmean(ordered) * 1000, 4), "n": len(ordered)}


def _steps(env, actions: list[int], out: list[float], resets: list[float] | None) -> None:
    start = time.perf_counter()
    env.reset(seed=len(out))
    if resets is not None:
        resets.append(time.perf_counter() - start)
    for action in actions:
        start = time.perf_counter()
        *_, terminated, truncated, _ = env.step(action)
        out.append(time.perf_counter() - start)
        if terminated or truncated:
            env.reset(seed=len(out))


def run(n: int, rounds: int = 10) -> dict[str, object]:
    """Measure both ways in alternating rounds; returns the JSON-ready report."""
    import gymnasium

    import sandgym

    sys.path.insert(0, str(PACKAGE / "src"))
    local = gymnasium.make(ENV_ID)
    sandgym.make_isolated(ENV_ID, PACKAGE).close()  # builds (or finds) the image
    start = time.perf_counter()
    isolated = sandgym.make_isolated(ENV_ID, PACKAGE)
    start_s = time.perf_counter() - start
    actions = [i % 4 for i in range(max(1, n // rounds))]
    baseline: list[float] = []
    steps: list[float] = []
    resets: list[float] = []
    try:
        _steps(local, actions[:20], [], None)  # warm both
        _steps(isolated, actions[:20], [], None)
        for i in range(rounds):
            pair = [(local, baseline, None), (isolated, steps, resets)]
            for env, out, reset_out in pair if i % 2 == 0 else reversed(pair):
                _steps(env, actions, out, reset_out)
    finally:
        isolated.close()
        local.close()
    in_process, isolated_step = _summary(baseline), _summary(steps)
    return {
        "benchmark": "isolated_env",
        "env": ENV_ID,
        "in_process_step": in_process,
        "isolated_step": isolated_step,
        "isolated_reset": _summary(resets),
        "isolated_start_s": round(start_s, 3),
        "overhead_per_step_ms": round(isolated_step["mean_ms"] - in_process["mean_ms"], 4),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "platform": platform.platform()},
    }


def main(argv: list[str]) -> int:
    """Entry point of `sandgym bench isolated_env`."""
    parser = argparse.ArgumentParser(prog="sandgym bench isolated_env", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", action="store_true", help="print only the JSON object")
    parser.add_argument("--n", type=int, default=500, help="steps to time each way")
    args = parser.parse_args(argv)
    report = run(args.n)
    print(json.dumps(report) if args.json else json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
