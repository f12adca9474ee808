"""Batch scoring for training: many completions through one warm pool, concurrently.

`grade_batch` is the code family's grading path for TRL reward functions and
benchmarks (`PythonTestsEnv.score` calls it with the env's tasks, reward mode and time
budget); the envs' `step` uses the same `grade_answer`, so a reward means the same
everywhere. `score_completions` does the same from an env id.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from sandgym.envs.code.grading import Grade, grade_answer, sandbox_error_grade
from sandgym.envs.code.rewards import check_reward_mode, reward_of
from sandgym.envs.errors import EnvError
from sandgym.envs.tasks import CodeTask
from sandgym.errors import SandboxError
from sandgym.sandbox import SandboxPool
from sandgym.verdict import Verdict

logger = logging.getLogger(__name__)

__all__ = ["ScoreResult", "grade_batch", "score_completions"]


@dataclass(frozen=True)
class ScoreResult:
    """The score of one completion.

    ``reward`` is None when the sandbox failed (``status == "sandbox_error"``): leave
    the sample out instead of learning from it.
    """

    reward: float | None
    verdict: dict[str, Any]
    status: str
    """pass | fail | error | timeout | sandbox_error"""
    task_id: str = ""
    components: dict[str, Any] = field(default_factory=dict)
    duration_s: float = 0.0

    @property
    def typed_verdict(self) -> Verdict:
        """The verdict as a `Verdict`."""
        return Verdict.of(self.verdict)


def grade_batch(tasks: Sequence[CodeTask], completions: Sequence[str], *, pool: SandboxPool,
                reward_mode: str, timeout_s: float, max_concurrency: int | None = None,
                ) -> list[ScoreResult]:
    """Grade each completion against its task, up to ``max_concurrency`` at once.

    Args:
        tasks: the task of each completion.
        completions: the model replies.
        pool: where to grade (one sandbox per grading, returned right after).
        reward_mode: ``binary`` / ``fraction`` / ``graded``.
        timeout_s: the judge's budget per completion (the env's request budget).
        max_concurrency: gradings in flight at once (default: the pool's size).
    """
    if len(tasks) != len(completions):
        raise ValueError(f"got {len(tasks)} tasks but {len(completions)} completions; "
                         f"give one task id per completion")
    mode = check_reward_mode(reward_mode)
    if not tasks:
        return []
    workers = max(1, min(max_concurrency or pool.size, len(tasks)))

    def one(index: int) -> ScoreResult:
        task = tasks[index]
        try:
            with pool.sandbox() as sandbox:
                grade = grade_answer(sandbox, task, completions[index], timeout_s=timeout_s,
                                     trivial_baseline=mode != "binary")
        except SandboxError as e:
            logger.warning("scoring %s: sandbox failure: %s", task.id, e)
            grade = sandbox_error_grade(f"{type(e).__name__}: {e}")
        return _result(task.id, grade, mode)

    if workers == 1:
        return [one(i) for i in range(len(tasks))]
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sandgym-score") as ex:
        return list(ex.map(one, range(len(tasks))))


def score_completions(env_id: str, task_ids: Sequence[str], completions: Sequence[str], *,
                      pool: SandboxPool | None = None, reward_mode: str | None = None,
                      max_concurrency: int | None = None, timeout_s: float | None = None,
                      **env_kwargs: Any) -> list[ScoreResult]:
    """Grade completions (model replies) with the batch scoring of a registered env.

    Args:
        env_id: a registered env whose class declares ``batch_scoring``.
        task_ids: the task of each completion.
        completions: the model replies, as an agent would send them to ``step``.
        pool: sandbox pool; None uses `sandgym.envs.default_pool()`.
        reward_mode: ``binary`` / ``fraction`` / ``graded``; None: the env's default.
        max_concurrency: gradings in flight at once (default: the pool's size).
        timeout_s: judge budget per completion; None: the env's.
        **env_kwargs: further keyword arguments for ``gymnasium.make``.

    Returns:
        One ScoreResult per completion, in order.

    Example:
        >>> score_completions("sandgym/HumanEval-v0", ["HumanEval/0"],   # doctest: +SKIP
        ...                   ["def has_close_elements(n, t): return False"])[0].status
        'fail'
    """
    if len(task_ids) != len(completions):
        raise ValueError(f"got {len(task_ids)} task ids but {len(completions)} completions; "
                         f"give one task id per completion")
    from sandgym.envs.scorer import make_scorer

    env = make_scorer(env_id, reward_mode=reward_mode, timeout_s=timeout_s, **env_kwargs)
    try:
        for task_id in task_ids:
            if task_id not in env.task_ids:
                raise EnvError(f"{env_id} has no task {task_id!r}")
        return env.score(list(task_ids), list(completions), pool=pool,
                         max_concurrency=max_concurrency)
    finally:
        env.close()


def _result(task_id: str, grade: Grade, mode: str) -> ScoreResult:
    reward, components = reward_of(grade.outcome, grade.passed, grade.total, mode,
                                   grade.trivial_passed)
    return ScoreResult(reward=reward, verdict=grade.verdict(), status=grade.status,
                       task_id=task_id, components=components, duration_s=grade.duration_s)
