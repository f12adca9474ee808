"""Soak: thousands of episodes through 16 sandboxes, mixed answers, leaks and memory watched.

One `collect` on a local Ray plays ``--samples`` episodes of every HumanEval task (164
tasks × 13 = 2,132 by default) with 2 workers × 8 sandboxes. Each task gets one kind
of answer, so every episode's expected verdict is known in advance:

* ``pass``: the reference solution (reward 1, verdict ``pass``);
* ``fail``: a function returning None (reward 0, ``fail``, or ``error`` where a test
  uses the result);
* ``timeout``: a function sleeping past the request's budget (reward 0, ``timeout``);
* ``hostile``: answers that try to game the grader or break the sandbox: exit 0 at
  import, an object equal to anything, killing the parent process, printing a fake
  pass (reward 0, ``fail`` or ``error``; never ``pass``, never a sandbox error).

While it runs, a sampler reads the resident memory of the driver, the workers and the
Docker engine (dockerd + containerd) every ``--sample-s`` seconds. At the end it counts
wrong rewards (an episode whose reward or verdict differs from its expected one),
containers left by the run's processes and worker processes still alive.

Reported (one JSON line): episodes, episodes_per_s, step latency p50/p99 (sandboxed
seconds per env step, from each episode's ``env_s``), per-kind verdict counts, wrong
rewards, sandbox errors, memory (MiB) at the end of warm-up (20% into the samples taken
while workers ran) and at the last such sample, their ratio, and leaks.

Usage: ``sandgym bench soak [--samples 13] [--workers 2] [--sandboxes-per-worker 8]
[--timeout-s 5.0] [--sample-s 2.0]``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

ENV_ID = "sandgym/HumanEval-v0"
KINDS = ("pass", "fail", "timeout", "hostile")
HOSTILE = (
    "raise SystemExit(0)\n",
    "class _Any:\n    def __eq__(self, other):\n        return True\n    __hash__ = None\n\n"
    "def {name}(*args, **kwargs):\n    return _Any()\n",
    "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\n"
    "def {name}(*args, **kwargs):\n    return None\n",
    "print('PASSED: all tests passed')\nimport sys\nsys.stdout.flush()\nos = __import__('os')\n"
    "os._exit(0)\n",
)


EXPECTED_STATUS = {"pass": {"pass"}, "fail": {"fail", "error"}, "timeout": {"timeout"},
                   "hostile": {"fail", "error"}}
"""Verdicts each kind may get: a function returning None fails its tests, or raises in a
test that uses the result (``error``); a hostile answer never passes."""
EXPECTED_REWARD = {"pass": 1.0, "fail": 0.0, "timeout": 0.0, "hostile": 0.0}


def kind_of(task_index: int) -> str:
    """The answer kind a task gets (round robin over `KINDS`)."""
    return KINDS[task_index % len(KINDS)]


def answer(kind: str, task_index: int, entry_point: str, reference: str) -> str:
    """The answer text of a kind for one task."""
    if kind == "pass":
        return reference
    if kind == "fail":
        return f"def {entry_point}(*args, **kwargs):\n    return None\n"
    if kind == "timeout":
        return f"import time\n\ndef {entry_point}(*args, **kwargs):\n    time.sleep(600)\n"
    template = HOSTILE[(task_index // len(KINDS)) % len(HOSTILE)]
    return template.replace("{name}", entry_point)


class MixedPolicy:
    """A picklable factory of the scripted policy answering each task by its kind."""

    def __call__(self) -> Any:
        import gymnasium

        from sandgym.agents import ScriptedPolicy
        from sandgym.rollouts.policies import ensure_envs, task_observations

        ensure_envs()
        env = gymnasium.make(ENV_ID)
        try:
            unwrapped = env.unwrapped
            prompts = task_observations(env)
            replies = {}
            for i, task in enumerate(unwrapped.tasks):
                replies[prompts[task.id]] = answer(kind_of(i), i, task.entry_point,
                                                   unwrapped.reference_answer(task.id))
        finally:
            env.close()

        def reply(messages: list[dict]) -> str:
            prompt = next(m["content"] for m in messages if m["role"] == "user")
            return replies[prompt]

        return ScriptedPolicy(reply, name="soak-mixed")


def _rss_mib(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError):
        pass
    return 0.0


def _pids_named(*names: str) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() in names:
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state != "Z"


class Sampler(threading.Thread):
    """Samples resident memory of driver, workers and engine every ``interval`` s."""

    def __init__(self, interval: float) -> None:
        super().__init__(daemon=True)
        self.interval = interval
        self.workers: set[int] = set()
        self.samples: list[dict[str, float]] = []
        self._halt = threading.Event()

    def run(self) -> None:
        engine = _pids_named("dockerd", "containerd")
        while not self._halt.wait(self.interval):
            alive = [p for p in list(self.workers) if _alive(p)]
            self.samples.append({
                "t": time.monotonic(), "driver": _rss_mib(os.getpid()),
                "workers": sum(_rss_mib(p) for p in alive),
                "engine": sum(_rss_mib(p) for p in engine)})

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=10)


def _memory_report(samples: list[dict[str, float]]) -> dict[str, Any]:
    """Warm-up end (20% into the samples taken while workers ran) against the last one."""
    samples = [s for s in samples if s["workers"] > 0]
    if len(samples) < 5:
        return {"samples": len(samples)}
    warm = samples[max(1, len(samples) // 5) - 1]
    end = samples[-1]
    report: dict[str, Any] = {"samples": len(samples)}
    for key in ("driver", "workers", "engine"):
        report[f"{key}_mib_after_warmup"] = round(warm[key], 1)
        report[f"{key}_mib_end"] = round(end[key], 1)
        report[f"{key}_mib_max"] = round(max(s[key] for s in samples), 1)
    total_warm = warm["driver"] + warm["workers"]
    total_end = end["driver"] + end["workers"]
    report["driver_plus_workers_end_over_warmup"] = (round(total_end / total_warm, 3)
                                                     if total_warm else None)
    return report


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))]


def _check(records: list[dict[str, Any]], kinds: dict[str, str]) -> dict[str, Any]:
    """Compare every episode's reward and verdict with its kind's expected ones."""
    from sandgym.verdict import Verdict

    by_kind: dict[str, Counter[str]] = {k: Counter() for k in KINDS}
    wrong: list[str] = []
    sandbox_errors = 0
    for record in records:
        kind = kinds[record["task_id"]]
        if record["sandbox_error"]:
            sandbox_errors += 1
            by_kind[kind]["sandbox_error"] += 1
            continue
        verdicts = json.loads(record["verdicts"] or "[]")
        status = Verdict.of(verdicts[-1] if verdicts else None).status
        by_kind[kind][status] += 1
        reward = record["final_reward"]
        ok = reward == EXPECTED_REWARD[kind] and status in EXPECTED_STATUS[kind]
        if not ok:
            wrong.append(f"{record['episode_id']}: {kind} got {status} reward {reward}")
    return {"verdicts_by_kind": {k: dict(v) for k, v in by_kind.items()},
            "wrong_rewards": len(wrong), "wrong_examples": wrong[:5],
            "sandbox_errors": sandbox_errors}


def _leaks(pids: set[int]) -> dict[str, Any]:
    from sandgym.sandbox import docker_client
    from sandgym.sandbox.owner import LABEL_MANAGED, LABEL_OWNER_PID

    client = docker_client()
    deadline = time.monotonic() + 30  # a killed owner's containers go with its streams
    while True:
        containers = [c.id[:12] for pid in pids for c in client.containers.list(
            all=True, filters={"label": [f"{LABEL_MANAGED}=1", f"{LABEL_OWNER_PID}={pid}"]})]
        processes = [pid for pid in pids if pid != os.getpid() and _alive(pid)]
        if (not containers and not processes) or time.monotonic() > deadline:
            return {"leaked_containers": len(containers), "leaked_processes": len(processes)}
        time.sleep(1.0)


def run(samples: int, workers: int, per_worker: int, timeout_s: float, sample_s: float
        ) -> dict[str, Any]:
    """Play the soak; returns the JSON-ready report."""
    import gymnasium

    from sandgym.rollouts import RolloutConfig, collect, load_trajectories
    from sandgym.rollouts.policies import ensure_envs

    ensure_envs()
    env = gymnasium.make(ENV_ID)
    kinds = {t.id: kind_of(i) for i, t in enumerate(env.unwrapped.tasks)}
    env.close()
    config = RolloutConfig(batch_size=per_worker, num_cpus_per_worker=0.5,
                           env_kwargs={"timeout_s": timeout_s}, row_group_size=256,
                           max_turns=1)
    sampler = Sampler(sample_s)
    sampler.workers.clear()

    def seen(record: dict[str, Any]) -> None:
        sampler.workers.add(int(str(record["worker"]).rsplit(":", 1)[1]))

    with tempfile.TemporaryDirectory(prefix="sandgym-soak-") as tmp:
        out = Path(tmp) / "soak.parquet"
        sampler.start()
        try:
            result = collect(ENV_ID, MixedPolicy(), out=out, samples_per_task=samples,
                             num_workers=workers, config=config, progress=False,
                             on_record=seen)
        finally:
            sampler.stop()
        records = load_trajectories(out).to_list()
    steps = [json.loads(r["timings"]).get("env_s", 0.0) / max(r["num_turns"], 1)
             for r in records if not r["sandbox_error"]]
    report: dict[str, Any] = {
        "benchmark": "soak", "env": ENV_ID, "cpus": os.cpu_count(),
        "workers": workers, "sandboxes": workers * per_worker, "timeout_s": timeout_s,
        "episodes": result.episodes, "unique_episodes": len({r["episode_id"] for r in records}),
        "wall_s": round(result.wall_s, 1),
        "episodes_per_s": round(result.episodes_per_s, 2),
        "steady_episodes_per_s": round(result.steady_episodes_per_s, 2),
        "step_p50_s": _percentile(steps, 0.5), "step_p99_s": _percentile(steps, 0.99),
        "retries": result.retries, "worker_restarts": result.worker_restarts}
    report.update(_check(records, kinds))
    report["memory"] = _memory_report(sampler.samples)
    report.update(_leaks(sampler.workers | {os.getpid()}))
    for key in ("step_p50_s", "step_p99_s"):
        if report[key] is not None:
            report[key] = round(report[key], 4)
    return report


def main(argv: list[str]) -> int:
    """Entry point of `sandgym bench soak`."""
    parser = argparse.ArgumentParser(prog="sandgym bench soak", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=13, help="episodes per task (164 tasks)")
    parser.add_argument("--workers", type=int, default=2, help="rollout workers")
    parser.add_argument("--sandboxes-per-worker", type=int, default=8,
                        help="sandboxes (and concurrent episodes) per worker")
    parser.add_argument("--timeout-s", type=float, default=5.0,
                        help="request budget; the timeout answers sleep past it. Under "
                        "heavy load a correct answer can outlast a tight budget (at 1 s, 7 "
                        "of 2,132 did on the loaded development machine: step p99 3.9 s)")
    parser.add_argument("--sample-s", type=float, default=2.0, help="memory sampling period")
    parser.add_argument("--json", action="store_true", help="accepted for symmetry; the "
                        "output is always one JSON line")
    args = parser.parse_args(argv)
    os.environ.setdefault("RAY_ENABLE_UV_RUN_RUNTIME_ENV", "0")
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    logging.getLogger("sandgym").setLevel(logging.WARNING)
    report = run(args.samples, args.workers, args.sandboxes_per_worker, args.timeout_s,
                 args.sample_s)
    print(json.dumps(report))
    ok = (report["wrong_rewards"] == 0 and report["leaked_containers"] == 0
          and report["leaked_processes"] == 0)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
