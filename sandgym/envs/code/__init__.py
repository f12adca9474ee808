"""The code family: Python functions graded by hidden tests, repair, and a bash env.

* `PythonTestsEnv` (``sandgym/PythonTests-v0``, ``sandgym/HumanEval-v0``): one turn.
* `PythonRepairEnv` (``sandgym/PythonRepair-v0``): multi-turn with public-test feedback.
* `ShellEnv` (``sandgym/Shell-v0``): bash in a persistent work dir, state checks.
* `score_completions`: batch grading for training, through the same grading path.

Names load lazily, so registering the family (`registry`) imports nothing heavy.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["GRADED_VALUES", "REWARD_MODES", "Grade", "PythonRepairEnv", "PythonTestsEnv",
           "ScoreResult", "ShellEnv", "extract_code", "grade_answer", "reward_of",
           "score_completions"]

_LAZY = {
    "GRADED_VALUES": "rewards", "REWARD_MODES": "rewards", "reward_of": "rewards",
    "Grade": "grading", "grade_answer": "grading", "extract_code": "extract",
    "PythonTestsEnv": "python_tests", "PythonRepairEnv": "python_repair",
    "ShellEnv": "shell", "ScoreResult": "scoring", "score_completions": "scoring",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
