"""Live counters of a collection and the summary `collect` returns."""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from sandgym.agents.trajectory import Trajectory

__all__ = ["CollectResult", "CollectStats"]


@dataclass
class CollectStats:
    """What the driver has seen so far; read by the progress display."""

    total: int = 0
    """Episodes planned in this run (already stored ones excluded)."""
    skipped: int = 0
    """Episodes already in the output file (resumed)."""
    done: int = 0
    passed: int = 0
    scored: int = 0
    reward_sum: float = 0.0
    sandbox_errors: int = 0
    retries: int = 0
    worker_restarts: int = 0
    env_s: float = 0.0
    env_steps: int = 0
    batch_wall_s: float = 0.0
    generation_s: float = 0.0
    completion_tokens: int = 0
    started: float = field(default_factory=time.monotonic)
    first_batch_at: float | None = None
    done_at_first_batch: int = 0
    warm_at: float | None = None
    """When every worker had finished a batch (all started, pipelines full)."""
    done_at_warm: int = 0
    last_record_at: float | None = None

    def add(self, record: dict[str, Any]) -> None:
        """Count one written episode."""
        self.done += 1
        self.last_record_at = time.monotonic()
        if record.get("sandbox_error"):
            self.sandbox_errors += 1
        elif record.get("final_reward") is not None:
            reward = float(record["final_reward"])
            self.scored += 1
            self.reward_sum += reward
            self.passed += reward > 0
        timings = Trajectory.timings_of(record)
        steps = max(int(record.get("num_turns") or 0), 1)
        self.env_s += float((timings or {}).get("env_s", 0.0))
        self.env_steps += steps

    def add_batch(self, result: dict[str, Any]) -> None:
        """Count a finished batch's time split and tokens (after its records)."""
        if self.first_batch_at is None:
            self.first_batch_at = time.monotonic()
            self.done_at_first_batch = self.done
        self.batch_wall_s += float(result.get("wall_s", 0.0))
        self.generation_s += float(result.get("generation_s", 0.0))
        self.completion_tokens += int(result.get("completion_tokens", 0))

    def mark_warm(self) -> None:
        """Every worker has finished a batch: steady throughput is counted from here."""
        self.warm_at = time.monotonic()
        self.done_at_warm = self.done

    @property
    def elapsed_s(self) -> float:
        return time.monotonic() - self.started

    @property
    def episodes_per_s(self) -> float:
        return self.done / self.elapsed_s if self.elapsed_s > 0 else 0.0

    @property
    def mean_reward(self) -> float:
        return self.reward_sum / self.scored if self.scored else math.nan

    @property
    def step_latency_s(self) -> float:
        """Mean sandboxed time per env step (reset included), over written episodes."""
        return self.env_s / self.env_steps if self.env_steps else math.nan


@dataclass
class CollectResult:
    """Summary of one `collect` run.

    Attributes:
        out: the Parquet file holding the collection.
        episodes: episodes written by this run.
        skipped: episodes already in ``out`` (resumed, not replayed).
        passed: written episodes with a positive return.
        pass_rate: passed / scored episodes (sandbox errors excluded); NaN if none.
        mean_reward: mean return over scored episodes; NaN if none.
        sandbox_errors: episodes recorded as infrastructure failures.
        retries: episode attempts repeated (sandbox error or dead worker).
        worker_restarts: workers replaced after dying or hanging.
        wall_s: the whole call, Ray start-up included.
        episodes_per_s: episodes / wall_s.
        steady_episodes_per_s: episodes per second from the moment every worker had
            finished a batch (or, if that never came, the first finished batch) to the
            last episode, i.e. without Ray and worker start-up or shutdown (0 when
            fewer than two batches).
        step_latency_s: mean sandboxed seconds per env step.
        tokens_per_s: generated tokens per second of generation (per worker, summed
            over batches); 0 for scripted policies.
        env_share: share of the workers' batch wall time not spent generating
            (stepping envs in sandboxes, plus loop overhead).
        interrupted: the run was stopped by Ctrl-C (what finished is saved).
    """

    out: str
    env_id: str
    policy: str
    episodes: int
    skipped: int
    passed: int
    pass_rate: float
    mean_reward: float
    sandbox_errors: int
    retries: int
    worker_restarts: int
    num_workers: int
    wall_s: float
    episodes_per_s: float
    steady_episodes_per_s: float
    step_latency_s: float
    completion_tokens: int
    tokens_per_s: float
    env_share: float
    interrupted: bool = False

    @classmethod
    def from_stats(cls, stats: CollectStats, *, out: str, env_id: str, policy: str,
                   num_workers: int, interrupted: bool = False) -> CollectResult:
        """Freeze the live counters into a result."""
        wall = stats.elapsed_s
        steady = 0.0
        start, done_then = stats.first_batch_at, stats.done_at_first_batch
        if stats.warm_at is not None and stats.done > stats.done_at_warm:
            start, done_then = stats.warm_at, stats.done_at_warm
        if start is not None and stats.done > done_then:
            span = (stats.last_record_at or time.monotonic()) - start
            steady = (stats.done - done_then) / span if span > 0 else 0.0
        return cls(
            out=out, env_id=env_id, policy=policy, episodes=stats.done, skipped=stats.skipped,
            passed=stats.passed,
            pass_rate=stats.passed / stats.scored if stats.scored else math.nan,
            mean_reward=stats.mean_reward, sandbox_errors=stats.sandbox_errors,
            retries=stats.retries, worker_restarts=stats.worker_restarts,
            num_workers=num_workers, wall_s=wall,
            episodes_per_s=stats.done / wall if wall > 0 else 0.0,
            steady_episodes_per_s=steady, step_latency_s=stats.step_latency_s,
            completion_tokens=stats.completion_tokens,
            tokens_per_s=(stats.completion_tokens / stats.generation_s
                          if stats.generation_s > 0 else 0.0),
            env_share=(1.0 - stats.generation_s / stats.batch_wall_s
                       if stats.batch_wall_s > 0 else math.nan),
            interrupted=interrupted)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly values (NaN becomes None)."""
        return {k: (None if isinstance(v, float) and math.isnan(v) else v)
                for k, v in asdict(self).items()}
