"""Reward modes and their values; a reward is always explained by its components.

* ``binary``: 1.0 when every hidden test passed, else 0.0.
* ``fraction``: passed / total hidden tests (0.0 when the answer did not load).
* ``graded`` (CodeRL's error classes): pass 1.0, failing tests -0.3, runtime error or
  timeout -0.6, syntax error -1.0.

A ``sandbox_error`` has no reward (None): the infrastructure failed, not the answer.
"""

from __future__ import annotations

from typing import Any

from sandgym.envs.errors import EnvError

__all__ = ["GRADED_VALUES", "REWARD_MODES", "check_reward_mode", "reward_of"]

REWARD_MODES = ("binary", "fraction", "graded")
GRADED_VALUES: dict[str, float] = {
    "pass": 1.0,
    "failing_tests": -0.3,
    "runtime_error": -0.6,
    "timeout": -0.6,
    "syntax_error": -1.0,
}


def check_reward_mode(mode: str) -> str:
    """Return mode, or raise a clear error naming the valid ones."""
    if mode not in REWARD_MODES:
        raise EnvError(f"unknown reward_mode {mode!r}; choose one of {list(REWARD_MODES)}")
    return mode


def reward_of(outcome: str, passed: int, total: int, mode: str
              ) -> tuple[float | None, dict[str, Any]]:
    """The reward of a graded answer and its components.

    Args:
        outcome: ``pass``, ``failing_tests``, ``runtime_error``, ``timeout``,
            ``syntax_error`` or ``sandbox_error``.
        passed: hidden tests passed.
        total: hidden tests run.
        mode: one of REWARD_MODES.

    Returns:
        (reward, components); reward is None for a sandbox_error.
    """
    check_reward_mode(mode)
    components: dict[str, Any] = {"mode": mode, "outcome": outcome, "passed": passed,
                                  "total": total}
    if outcome == "sandbox_error":
        components["value"] = None
        return None, components
    if mode == "binary":
        value = 1.0 if outcome == "pass" else 0.0
    elif mode == "fraction":
        value = 1.0 if outcome == "pass" else (passed / total if total else 0.0)
    else:
        value = GRADED_VALUES[outcome]
    components["value"] = value
    return value, components
