"""Batch scoring for training: many completions through one warm pool, concurrently.

`score_completions` is the code family's grading path for TRL reward functions and
benchmarks; the envs' `step` uses the same `grade_answer`, so a reward means the same
everywhere.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym

from sandgym.envs.code.grading import Grade, grade_answer, sandbox_error_grade
from sandgym.envs.code.rewards import check_reward_mode, reward_of
from sandgym.envs.errors import EnvError
from sandgym.envs.tasks import CodeTask, load_tasks
from sandgym.errors import SandboxError
from sandgym.sandbox import SandboxPool

logger = logging.getLogger(__name__)

__all__ = ["ScoreResult", "score_completions"]


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


@dataclass(frozen=True)
class _Grader:
    tasks: dict[str, CodeTask]
    reward_mode: str
    timeout_s: float


def _grader_for(env_id: str) -> _Grader:
    from sandgym.envs.code.python_tests import PythonTestsEnv
    from sandgym.envs.registration import ensure_registered

    ensure_registered()
    try:
        spec = gym.spec(env_id)
    except gym.error.Error as e:
        raise EnvError(f"cannot score for {env_id!r}: {e}") from e
    entry = spec.entry_point
    cls = gym.envs.registration.load_env_creator(entry) if isinstance(entry, str) else entry
    if not (isinstance(cls, type) and issubclass(cls, PythonTestsEnv)):
        raise EnvError(f"score_completions grades Python-test envs (PythonTests, HumanEval, "
                       f"PythonRepair and their subclasses); {env_id} is {cls!r}")
    kwargs = spec.kwargs or {}
    tasks = load_tasks(kwargs.get("tasks") or cls.default_tasks)
    return _Grader({t.id: t for t in tasks}, kwargs.get("reward_mode", "binary"),
                   float(kwargs.get("timeout_s", 6.0)))


def score_completions(env_id: str, task_ids: Sequence[str], completions: Sequence[str], *,
                      pool: SandboxPool | None = None, reward_mode: str | None = None,
                      max_concurrency: int | None = None, timeout_s: float | None = None,
                      ) -> list[ScoreResult]:
    """Grade completions (model replies) against their tasks' hidden tests.

    Args:
        env_id: a registered Python-test env (its task set and settings are used).
        task_ids: the task of each completion.
        completions: the model replies, as an agent would send them to ``step``.
        pool: sandbox pool; None uses `sandgym.envs.default_pool()`.
        reward_mode: ``binary`` / ``fraction`` / ``graded``; None: the env's default.
        max_concurrency: gradings in flight at once (default: the pool's size).
        timeout_s: judge budget per completion; None: the env's.

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
    grader = _grader_for(env_id)
    mode = check_reward_mode(reward_mode or grader.reward_mode)
    budget = float(timeout_s or grader.timeout_s)
    tasks = []
    for task_id in task_ids:
        if task_id not in grader.tasks:
            raise EnvError(f"{env_id} has no task {task_id!r}")
        tasks.append(grader.tasks[task_id])
    if not tasks:
        return []
    if pool is None:
        from sandgym.envs.pool import default_pool

        pool = default_pool()
    workers = max(1, min(max_concurrency or pool.size, len(tasks)))

    def one(index: int) -> ScoreResult:
        task = tasks[index]
        try:
            with pool.sandbox() as sandbox:
                grade = grade_answer(sandbox, task, completions[index], timeout_s=budget)
        except SandboxError as e:
            logger.warning("scoring %s: sandbox failure: %s", task.id, e)
            grade = sandbox_error_grade(f"{type(e).__name__}: {e}")
        return _result(task.id, grade, mode)

    if workers == 1:
        return [one(i) for i in range(len(tasks))]
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sandgym-score") as ex:
        return list(ex.map(one, range(len(tasks))))


def _result(task_id: str, grade: Grade, mode: str) -> ScoreResult:
    reward, components = reward_of(grade.outcome, grade.passed, grade.total, mode)
    return ScoreResult(reward=reward, verdict=grade.verdict(), status=grade.status,
                       task_id=task_id, components=components, duration_s=grade.duration_s)
