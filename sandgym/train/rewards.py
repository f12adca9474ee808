"""`execution_reward`: a TRL reward function whose rewards come from sandboxed test runs.

TRL calls a reward function with the batch's prompts, completions and dataset columns;
this one reads the ``task_id`` column, grades every completion of the batch at once
through one warm `SandboxPool` (the env's own batch scoring, ``env.score``, which uses
the grading path of its ``step``, so a reward means the same in training and
evaluation), and
returns one float per completion, or ``None`` where the sandbox failed, which TRL
leaves out of the advantage instead of learning "wrong answer" from an infrastructure
fault.

It is a callable class, not a closure, so it pickles (to Ray actors, or TRL's async
workers): the pool is created lazily in the process that grades, and closed at exit.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

logger = logging.getLogger(__name__)

__all__ = ["VERDICTS", "ExecutionReward", "GradedBatch", "completion_text", "execution_reward"]

VERDICTS = ("pass", "fail", "error", "timeout", "sandbox_error")
"""The statuses a graded completion can have, in the order they are logged."""


def completion_text(completion: Any) -> str:
    """The text an agent would send to ``env.step``, from a TRL completion.

    TRL passes plain strings for standard prompts and message lists for conversational
    ones; for the latter the assistant messages' contents are joined (one message in
    the one-turn case).
    """
    if isinstance(completion, str):
        return completion
    if isinstance(completion, dict):
        return str(completion.get("content") or "")
    parts = [m.get("content") or "" for m in completion
             if isinstance(m, dict) and m.get("role", "assistant") == "assistant"]
    return "\n".join(p if isinstance(p, str) else _blocks_text(p) for p in parts)


def _blocks_text(blocks: Any) -> str:
    return "".join(b.get("text", "") for b in blocks if isinstance(b, dict))


@dataclass
class GradedBatch:
    """What one call of the reward function graded: kept for metrics and checks."""

    step: int | None
    task_ids: list[str]
    completions: list[str]
    rewards: list[float | None]
    statuses: list[str]
    grading_s: float
    verdicts: list[dict[str, Any]] = field(default_factory=list)


class ExecutionReward:
    """Reward completions by running the task's hidden tests in sandboxes.

    Args:
        env_id: a registered env that scores batches (its class declares
            ``batch_scoring``, e.g. ``sandgym/PythonTests-v0``, ``sandgym/HumanEval-v0``):
            its task set, reward mode and time budget are used.
        pool: a `SandboxPool` to grade in (not closed here); None creates one lazily,
            sized ``pool_size``, owned and closed by this object.
        reward_mode: ``binary`` / ``fraction`` / ``graded``; None: the env's default.
        max_concurrency: gradings in flight at once (default: the pool's size).
        pool_size: sandboxes of the owned pool (default `default_pool_size()`).
        task_column: the dataset column holding each row's task id.
        history: how many `GradedBatch` records to keep (for metrics and tests).
        **env_kwargs: keyword arguments for ``gymnasium.make`` (e.g. ``tasks=``).

    Example:
        >>> reward = ExecutionReward("sandgym/PythonTests-v0")        # doctest: +SKIP
        >>> reward(prompts=[None], completions=["def add(a, b): return a + b"],
        ...        task_id=["builtin/add"])
        [1.0]
    """

    def __init__(self, env_id: str, *, pool: Any = None, reward_mode: str | None = None,
                 max_concurrency: int | None = None, pool_size: int | None = None,
                 task_column: str = "task_id", history: int = 1000, **env_kwargs: Any) -> None:
        from sandgym.envs.scorer import make_scorer

        self.env_kwargs = {**env_kwargs, "reward_mode": reward_mode}
        make_scorer(env_id, **self.env_kwargs).close()  # a bad id or setting fails here
        self.env_id = env_id
        self.reward_mode = reward_mode
        self.max_concurrency = max_concurrency
        self.pool_size = pool_size
        self.task_column = task_column
        self.history_size = history
        self.__name__ = "execution_reward"
        self._external_pool = pool
        self._init_runtime()

    def _init_runtime(self) -> None:
        self._pool: Any = None
        self._scorer: Any = None
        self._finalizer: weakref.finalize | None = None
        self._lock = threading.Lock()
        self.history: list[GradedBatch] = []
        self.grading_s_total = 0.0
        self.calls = 0

    # ------------------------------------------------------------------ pickling

    def __getstate__(self) -> dict[str, Any]:
        # Pools hold threads and engine connections: a copy (in a Ray actor, a worker
        # process) grades in a pool of its own, created there on first use.
        state = {k: v for k, v in self.__dict__.items()
                 if k not in ("_pool", "_scorer", "_finalizer", "_lock", "history")}
        state["_external_pool"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._init_runtime()

    # ------------------------------------------------------------------ pool

    @property
    def pool(self) -> Any:
        """The pool completions are graded in, created on first use unless one was given."""
        if self._external_pool is not None:
            return self._external_pool
        with self._lock:
            if self._pool is None:
                from sandgym.envs.pool import default_pool_size
                from sandgym.sandbox import SandboxPool

                size = self.pool_size or default_pool_size()
                logger.info("execution_reward(%s): starting a pool of %d sandboxes",
                            self.env_id, size)
                self._pool = SandboxPool(size=size)
                self._finalizer = weakref.finalize(self, self._pool.close)
            return self._pool

    @property
    def scorer(self) -> Any:
        """The env instance whose ``score`` grades (made on first use, in this process)."""
        with self._lock:
            if self._scorer is None:
                from sandgym.envs.scorer import make_scorer

                self._scorer = make_scorer(self.env_id, **self.env_kwargs)
            return self._scorer

    def close(self) -> None:
        """Close the owned pool (a given pool is left alone); calling it twice is harmless."""
        with self._lock:
            finalizer, self._finalizer, self._pool = self._finalizer, None, None
            scorer, self._scorer = self._scorer, None
        if scorer is not None:
            scorer.close()
        if finalizer is not None:
            finalizer()

    # ------------------------------------------------------------------ TRL interface

    def __call__(self, prompts: Sequence[Any] | None = None,
                 completions: Sequence[Any] | None = None, *,
                 log_metric: Callable[[str, float], None] | None = None,
                 log_extra: Callable[[str, list], None] | None = None,
                 trainer_state: Any = None, **columns: Any) -> list[float | None]:
        """Grade a batch; one reward per completion (None: the sandbox failed).

        Args:
            prompts: the batch's prompts (unused: the task id says what to run).
            completions: the batch's completions (strings or message lists).
            log_metric: TRL's hook for scalar metrics; receives the verdict mix
                (``verdict/pass`` ...) and ``sandbox/grading_s``.
            log_extra: TRL's hook for completion-table columns; receives the verdicts.
            trainer_state: TRL's TrainerState (its step is recorded in the history).
            **columns: the dataset columns; ``task_column`` must be among them.

        Raises:
            ValueError: the task-id column is missing or has the wrong length.
        """
        completions = list(completions or [])
        if self.task_column not in columns:
            raise ValueError(f"execution_reward needs the dataset column {self.task_column!r} "
                             f"(got columns {sorted(columns)}); build the dataset with "
                             f"sandgym.train.prompts_dataset({self.env_id!r})")
        task_ids = [str(t) for t in columns[self.task_column]]
        texts = [completion_text(c) for c in completions]
        started = time.perf_counter()
        results = self.scorer.score(task_ids, texts, pool=self.pool,
                                    max_concurrency=self.max_concurrency)
        elapsed = time.perf_counter() - started
        rewards = [r.reward for r in results]
        statuses = [r.status for r in results]
        self._record(GradedBatch(getattr(trainer_state, "global_step", None), task_ids, texts,
                                 rewards, statuses, elapsed, [r.verdict for r in results]))
        if log_metric is not None:
            counts = Counter(statuses)
            for status in VERDICTS:
                log_metric(f"verdict/{status}", counts[status] / max(1, len(statuses)))
            log_metric("sandbox/grading_s", elapsed)
        if log_extra is not None:
            log_extra("verdict", statuses)
        if counts_sandbox := statuses.count("sandbox_error"):
            logger.warning("execution_reward: %d of %d completions hit a sandbox error and are "
                           "left out of this step", counts_sandbox, len(statuses))
        return rewards

    def _record(self, batch: GradedBatch) -> None:
        with self._lock:
            self.calls += 1
            self.grading_s_total += batch.grading_s
            self.history.append(batch)
            del self.history[:-self.history_size]

    def __repr__(self) -> str:
        return (f"ExecutionReward({self.env_id!r}, reward_mode={self.reward_mode!r}, "
                f"calls={self.calls})")


def execution_reward(env_id: str, *, pool: Any = None, reward_mode: str | None = None,
                     max_concurrency: int | None = None, pool_size: int | None = None,
                     **env_kwargs: Any) -> ExecutionReward:
    """A TRL reward function for ``env_id``: ``reward_funcs=[execution_reward(env_id)]``.

    See `ExecutionReward` for the arguments. The dataset must carry a ``task_id`` column
    (`sandgym.train.prompts_dataset` builds one).
    """
    return ExecutionReward(env_id, pool=pool, reward_mode=reward_mode,
                           max_concurrency=max_concurrency, pool_size=pool_size, **env_kwargs)
