"""Task sets: the JSONL schema (see docs/envs.md), loaders, HumanEval, built-in sets."""

from __future__ import annotations

from sandgym.envs.tasks.loaders import (
    NAMED_TASK_SETS,
    TaskSource,
    load_jsonl,
    load_tasks,
    select_split,
)
from sandgym.envs.tasks.schema import CodeTask, ShellTask, Task, task_from_dict

__all__ = ["NAMED_TASK_SETS", "CodeTask", "ShellTask", "Task", "TaskSource", "load_jsonl",
           "load_tasks", "select_split", "task_from_dict"]
