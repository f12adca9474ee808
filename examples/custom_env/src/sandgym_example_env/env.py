"""The example env: PythonTests over this package's own task file."""

from __future__ import annotations

from pathlib import Path

from sandgym.envs.code import PythonTestsEnv

__all__ = ["TASKS", "StringTasksEnv"]

TASKS = Path(__file__).with_name("tasks.jsonl")


class StringTasksEnv(PythonTestsEnv):
    """PythonTests over this package's string tasks, with its own instructions.

    Grading goes through sandgym's judge, so the reward cannot be forged by the answer.
    """

    default_tasks = str(TASKS)
    system_prompt = ("Write the requested Python function. Reply with exactly one "
                     "```python block containing only the function.")
