"""`sandgym/PythonRepair-v0`: multi-turn repair from public-test feedback (as in RLEF)."""

from __future__ import annotations

from typing import Any, ClassVar

from sandgym.envs.code.python_tests import PythonTestsEnv, grade_in_pool
from sandgym.envs.code.rewards import reward_of
from sandgym.envs.contract import StepResult
from sandgym.envs.errors import EnvError

__all__ = ["PythonRepairEnv"]

REPAIR_SYSTEM_PROMPT = (
    "You are an expert Python programmer. Answer with the complete function in one "
    "```python code block. After each attempt you will see the results of the public "
    "tests; reply with a corrected complete function until it passes."
)


class PythonRepairEnv(PythonTestsEnv):
    """Attempt, read the public-test feedback, try again.

    Each step grades the reply on the public tests (their failing assertion, the
    values the function returned, or its traceback, trimmed, become the next
    observation) and on the hidden tests. The episode terminates when every hidden
    test passes, and is truncated after ``max_turns`` attempts.

    Reward of a step: ``-turn_cost`` on every step, plus, on the step that ends the
    episode (pass or truncation), the hidden-test reward of that attempt in
    ``reward_mode`` (see `PythonTestsEnv`). A ``sandbox_error`` ends the episode with
    reward ``nan``, ``truncated=True``, ``info["sandbox_error"] = True``.

    Args:
        max_turns: attempts before truncation (default 3).
        turn_cost: cost charged per attempt (default 0.0).
    """

    system_prompt = REPAIR_SYSTEM_PROMPT
    multi_turn: ClassVar[bool] = True

    def __init__(self, *, max_turns: int = 3, turn_cost: float = 0.0, **kwargs: Any) -> None:
        if turn_cost < 0:
            raise EnvError(f"turn_cost is a cost (>= 0), got {turn_cost}")
        super().__init__(max_turns=max_turns, **kwargs)
        self.turn_cost = float(turn_cost)
        self._last_hidden_reward = 0.0
        self._last_verdict: dict[str, Any] = {}

    def finish(self) -> StepResult | None:
        """Score as truncation does: the last attempt's hidden-test reward.

        With no attempt at all, an empty answer is graded first.
        """
        if self.done:
            return None
        observation, reward = "", 0.0
        info: dict[str, Any] = {"task_id": self.task.id if self.task else None,
                                "turn": self.turn, "verdict": self._last_verdict,
                                "sandbox_error": False}
        action = None
        if self.turn == 0:
            observation, reward, terminated, truncated, info = self.step("")
            action = ""
            if terminated or truncated:
                return observation, reward, terminated, truncated, {**info, "action": action}
        self.done = True
        self._release_sandbox()
        hidden = self._last_hidden_reward
        info = {**info, "action": action, "reward": reward + hidden,
                "reward_components": {**info.get("reward_components", {}),
                                      "hidden_reward": hidden, "counted": True}}
        return observation, reward + hidden, False, True, info

    def step(self, action: str) -> tuple[str, float, bool, bool, dict[str, Any]]:
        """Grade one attempt; feedback from public tests is the next observation."""
        task = self._start_step(action)
        grade = grade_in_pool(self, task, action, public=True)
        hidden_reward, components = reward_of(grade.outcome, grade.passed, grade.total,
                                              self.reward_mode, grade.trivial_passed)
        if grade.sandbox_error:
            self.done = True
            info = self._info(grade.verdict(), None, components)
            return "The sandbox failed; this attempt was not graded.", float("nan"), False, \
                True, info
        self._last_hidden_reward = hidden_reward
        self._last_verdict = grade.verdict()
        terminated = grade.outcome == "pass"
        truncated = not terminated and self.turn >= self.max_turns
        self.done = terminated or truncated
        reward = -self.turn_cost + (hidden_reward if self.done else 0.0)
        components = {**components, "hidden_reward": hidden_reward,
                      "counted": self.done, "turn_cost": -self.turn_cost, "total_reward": reward}
        info = self._info(grade.verdict(), reward, components, feedback=grade.feedback)
        if terminated:
            observation = f"All public and hidden tests passed after {self.turn} attempt(s)."
        else:
            observation = grade.feedback or "The tests failed."
            if truncated:
                observation += f"\n\nNo attempts left ({self.max_turns} used)."
        return observation, float(reward), terminated, truncated, info
