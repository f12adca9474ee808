"""Reward modes and their values; a reward is always explained by its components.

* ``binary``: 1.0 when every hidden test passed, else 0.0.
* ``fraction``: the share of hidden tests passed *beyond what a trivial answer passes*
  (0.0 when the answer did not load): (passed - t) / (total - t), at least 0, where t
  is the most hidden tests a constant or an argument handed back passes.
* ``graded`` (CodeRL's error classes): pass 1.0, failing tests -0.3, runtime error or
  timeout -0.6, syntax error -1.0. Failing tests earn -0.3 only when the answer passes
  more hidden tests than a trivial answer does; otherwise it scores as a runtime error.

Why the trivial baseline: hidden tests are seldom balanced. On a task whose five tests
expect False four times, ``return False`` passed 0.8 of them, more than most honest
attempts; and an empty reply (the prompt's stub returns None) failed its tests
"cleanly", which CodeRL's classes scored above an attempt that crashed. A model
learns whatever pays, so partial credit is paid only for doing better than guessing.
The judge measures t once per task (`sandgym.envs.code.grading.trivial_passed`; Shell-v0
grades its untouched start state). A measurement that runs out of time makes t the
total (no partial credit); one the infrastructure loses makes the grading a
sandbox_error.

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


def reward_of(outcome: str, passed: int, total: int, mode: str,
              trivial_passed: int | None = None) -> tuple[float | None, dict[str, Any]]:
    """The reward of a graded answer and its components.

    Args:
        outcome: ``pass``, ``failing_tests``, ``runtime_error``, ``timeout``,
            ``syntax_error`` or ``sandbox_error``.
        passed: hidden tests passed.
        total: hidden tests run.
        mode: one of REWARD_MODES.
        trivial_passed: most tests a trivial answer passes (see the module's docstring).
            None: not measured, and partial credit counts from 0; the built-in graders
            measure it whenever the mode is not ``binary``.

    Returns:
        (reward, components); reward is None for a sandbox_error.

    Example:
        >>> reward_of("failing_tests", 4, 5, "fraction", trivial_passed=4)[0]
        0.0
        >>> reward_of("failing_tests", 4, 5, "fraction", trivial_passed=2)[0]
        0.6666666666666666
    """
    check_reward_mode(mode)
    components: dict[str, Any] = {"mode": mode, "outcome": outcome, "passed": passed,
                                  "total": total}
    if trivial_passed is not None:
        components["trivial_passed"] = trivial_passed
    if outcome == "sandbox_error":
        components["value"] = None
        return None, components
    baseline = trivial_passed or 0
    if mode == "binary":
        value = 1.0 if outcome == "pass" else 0.0
    elif mode == "fraction":
        above = max(0, passed - baseline)
        value = 1.0 if outcome == "pass" else (above / (total - baseline)
                                               if total > baseline else 0.0)
    elif outcome == "failing_tests" and trivial_passed is not None and passed <= baseline:
        value = GRADED_VALUES["runtime_error"]
        components["no_better_than_trivial"] = True
    else:
        value = GRADED_VALUES[outcome]
    components["value"] = value
    return value, components
