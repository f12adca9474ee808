"""`sandgym/PythonTests-v0` and `sandgym/HumanEval-v0`: write a function, hidden tests grade it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from sandgym.envs.base import SandboxEnv
from sandgym.envs.code.grading import Grade, grade_answer, sandbox_error_grade
from sandgym.envs.code.rewards import check_reward_mode, reward_of
from sandgym.envs.code.tools import PYTHON_TOOL_PROMPT, PYTHON_TOOLS
from sandgym.envs.contract import StepResult
from sandgym.envs.errors import TaskSetError
from sandgym.envs.tasks.schema import CodeTask, Task
from sandgym.errors import SandboxError

if TYPE_CHECKING:
    from sandgym.envs.code.scoring import ScoreResult
    from sandgym.sandbox import SandboxPool

__all__ = ["PythonTestsEnv", "grade_in_pool"]

PYTHON_SYSTEM_PROMPT = (
    "You are an expert Python programmer. Answer with the complete function in one "
    "```python code block. Do not include tests or example usage."
)


def grade_in_pool(env: SandboxEnv, task: CodeTask, action: str, *, public: bool = False
                  ) -> Grade:
    """Grade through the env's pool; a pool or engine failure is a sandbox_error."""
    try:
        with env._borrow_sandbox() as sandbox:  # noqa: SLF001 - the env's own lease
            grade = grade_answer(sandbox, task, action, timeout_s=env.timeout_s,
                                 public=public,
                                 trivial_baseline=env.reward_mode != "binary")
    except SandboxError as e:
        grade = sandbox_error_grade(f"{type(e).__name__}: {e}")
    env.last_duration_s = grade.duration_s
    return grade


class PythonTestsEnv(SandboxEnv):
    """One turn: the reply is graded by the task's hidden tests in a sandbox.

    The action is the model's whole reply; the code is the first fenced Python block
    that defines the entry point (or the whole reply). The episode terminates after
    that one step, with reward by ``reward_mode``:

    * ``binary``: 1.0 if every hidden test passed, else 0.0;
    * ``fraction``: the share of hidden tests passed beyond what a trivial answer (a
      constant, or an argument handed back) passes;
    * ``graded`` (CodeRL): pass 1.0, failing tests -0.3 (if more pass than for a
      trivial answer; else as a runtime error), runtime error or timeout -0.6, syntax
      error -1.0 (`sandgym.envs.code.rewards`).

    When the sandbox infrastructure fails, reward is ``nan``, ``truncated`` is True and
    ``info["sandbox_error"]`` is True, ``info["reward"]`` None: never a failing reward.

    Example:
        >>> import gymnasium, sandgym                                 # doctest: +SKIP
        >>> env = gymnasium.make("sandgym/HumanEval-v0")
        >>> prompt, info = env.reset(options={"task_id": "HumanEval/0"})
        >>> _, reward, terminated, truncated, info = env.step(
        ...     env.unwrapped.reference_answer("HumanEval/0"))
        >>> reward, info["verdict"]["status"]
        (1.0, 'pass')
    """

    default_tasks: ClassVar[str | None] = "builtin:python"
    system_prompt = PYTHON_SYSTEM_PROMPT
    multi_turn: ClassVar[bool] = False
    batch_scoring: ClassVar[bool] = True
    tools = PYTHON_TOOLS
    tool_prompt = PYTHON_TOOL_PROMPT
    default_timeout_s: ClassVar[float | None] = 6.0
    stop_after_code_block: ClassVar[bool] = True

    def __init__(self, *, timeout_s: float | None = None, reward_mode: str = "binary",
                 **kwargs: Any) -> None:
        super().__init__(timeout_s=timeout_s, reward_mode=check_reward_mode(reward_mode),
                         **kwargs)
        bad = [t.id for t in self.tasks if not isinstance(t, CodeTask)]
        if bad:
            raise TaskSetError(f"{type(self).__name__} needs python tasks; {bad[:3]} are "
                               f"not (use sandgym/Shell-v0 for shell tasks)")

    def finish(self) -> StepResult | None:
        """No attempt at all: an empty answer is graded, as the env would grade it."""
        if self.done:
            return None
        observation, reward, terminated, truncated, info = self.step("")
        return observation, reward, terminated, truncated, {**info, "action": ""}

    def score(self, task_ids: list[str], completions: list[str], *,
              pool: SandboxPool | None = None, max_concurrency: int | None = None,
              ) -> list[ScoreResult]:
        """Grade completions against their tasks' hidden tests, concurrently in ``pool``.

        The same grading as `step`, with this env's tasks, reward mode and time budget.

        Args:
            task_ids: the task of each completion.
            completions: the model replies, as an agent would send them to ``step``.
            pool: sandbox pool; None: the env's.
            max_concurrency: gradings in flight at once (default: the pool's size).
        """
        from sandgym.envs.code.scoring import grade_batch

        tasks = [self.get_task(t) for t in task_ids]
        return grade_batch(tasks, completions, pool=pool or self.pool,
                           reward_mode=self.reward_mode, timeout_s=self.timeout_s,
                           max_concurrency=max_concurrency)

    def _format_reference(self, task: Task) -> str:
        return f"```python\n{task.reference.rstrip()}\n```\n"

    def step(self, action: str) -> tuple[str, float, bool, bool, dict[str, Any]]:
        """Grade the reply; the episode ends here."""
        task = self._start_step(action)
        grade = grade_in_pool(self, task, action)
        reward, components = reward_of(grade.outcome, grade.passed, grade.total,
                                       self.reward_mode, grade.trivial_passed)
        self.done = True
        info = self._info(grade.verdict(), reward, components)
        if grade.sandbox_error:
            return "The sandbox failed; this attempt was not graded.", float("nan"), False, \
                True, info
        return _summary(grade), float(reward), True, False, info


def _summary(grade: Grade) -> str:
    if grade.outcome == "pass":
        return f"All {grade.total} hidden tests passed."
    if grade.load != "ok":
        return f"The code did not load ({grade.load}: {grade.load_error})."
    return f"{grade.passed}/{grade.total} hidden tests passed ({grade.outcome})."
