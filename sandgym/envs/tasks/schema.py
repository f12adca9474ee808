"""Task records: one JSON object per line, validated into frozen dataclasses.

The schema is documented in docs/envs.md. Two kinds share the core fields (``id``,
``prompt``, ``hidden_tests``, ``reference``, ``split``, ``metadata``):

* `CodeTask` (``"kind": "python"``, the default): the answer defines a function
  (``entry_point``); tests are Python snippets that call it as ``candidate``.
* `ShellTask` (``"kind": "shell"``): the answer is bash commands; tests ("checks") are
  Python snippets run on the final state of the work dir.

Unknown fields are an error (a typo must not silently drop a hidden test).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sandgym.envs.errors import TaskSetError

__all__ = ["CodeTask", "ShellTask", "Task", "task_from_dict"]


@dataclass(frozen=True)
class CodeTask:
    """A function-writing task graded by hidden tests.

    Example:
        >>> t = CodeTask(id="add", prompt="Write add(a, b).", entry_point="add",
        ...              hidden_tests=("assert candidate(1, 2) == 3",))
        >>> t.kind
        'python'
    """

    id: str
    prompt: str
    entry_point: str
    hidden_tests: tuple[str, ...]
    public_tests: tuple[str, ...] = ()
    signature: str | None = None
    code_prefix: str = ""
    """Code the answer continues (HumanEval: the prompt). A reply that does not define
    ``entry_point`` at top level is taken as the body that follows this prefix."""
    test_setup: str = ""
    """Trusted code run in the judge before the tests (imports, helpers, ``check``)."""
    reference: str | None = None
    split: str | None = None
    """The fixed split this task belongs to (e.g. ``train`` or ``test``); None: no split."""
    metadata: Mapping[str, Any] = field(default_factory=dict)
    kind = "python"


@dataclass(frozen=True)
class ShellTask:
    """A bash task graded by checks on the final state of the work dir.

    Example:
        >>> t = ShellTask(id="touch", prompt="Create a file a.txt.",
        ...               hidden_tests=("assert exists('a.txt')",))
        >>> t.kind
        'shell'
    """

    id: str
    prompt: str
    hidden_tests: tuple[str, ...]
    setup_files: Mapping[str, str] = field(default_factory=dict)
    setup_script: str = ""
    check_command: str = ""
    """Bash run in ``/work`` as the sandbox user after the episode, before the checks;
    they see its stdout as ``CHECK_OUTPUT`` and exit code as ``CHECK_EXIT``. For tasks
    graded on what the agent's work *does* (e.g. running a script it wrote): text
    matched in a file is fooled by a comment and fails other correct spellings."""
    reference: str | None = None
    split: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    kind = "shell"


Task = CodeTask | ShellTask

_STR_LISTS = ("hidden_tests", "public_tests")


def task_from_dict(raw: Mapping[str, Any], where: str = "task") -> Task:
    """Validate one JSON object and build its task; errors say where and what to fix."""
    if not isinstance(raw, Mapping):
        raise TaskSetError(f"{where}: expected a JSON object, got {type(raw).__name__}")
    data = dict(raw)
    kind = data.pop("kind", "python")
    cls = {"python": CodeTask, "shell": ShellTask}.get(kind)
    if cls is None:
        raise TaskSetError(f"{where}: unknown kind {kind!r}; use 'python' or 'shell'")
    names = set(cls.__dataclass_fields__)
    unknown = sorted(set(data) - names)
    if unknown:
        raise TaskSetError(f"{where}: unknown field(s) {unknown} for a {kind} task; "
                           f"allowed: {sorted(names)}")
    required = ["id", "prompt", "hidden_tests"] + (["entry_point"] if cls is CodeTask else [])
    missing = [name for name in required if not data.get(name)]
    if missing:
        raise TaskSetError(f"{where}: missing required field(s) {missing}")
    for name in _STR_LISTS:
        if name in data:
            value = data[name]
            if isinstance(value, str) or not all(isinstance(v, str) for v in value):
                raise TaskSetError(f"{where}: {name} must be a list of strings (one test "
                                   f"snippet each)")
            data[name] = tuple(value)
    for name in ("id", "prompt", "entry_point", "code_prefix", "test_setup", "setup_script",
                 "check_command"):
        if name in data and not isinstance(data[name], str):
            raise TaskSetError(f"{where}: {name} must be a string")
    if "split" in data and data["split"] is not None:
        if not isinstance(data["split"], str) or not data["split"] or data["split"] == "all":
            raise TaskSetError(f"{where}: split must be a non-empty string other than 'all' "
                               f"(e.g. 'train' or 'test'), got {data['split']!r}")
    for name in ("reference",):
        if isinstance(data.get(name), list):  # shell references may be a list of commands
            data[name] = "\n".join(data[name])
    for name in ("metadata", "setup_files"):
        if name in data:
            if not isinstance(data[name], Mapping):
                raise TaskSetError(f"{where}: {name} must be a JSON object")
            data[name] = dict(data[name])
    for path in data.get("setup_files", {}):
        if path.startswith("/") or ".." in path.split("/"):
            raise TaskSetError(f"{where}: setup file paths are relative to the work dir, "
                               f"got {path!r}")
    return cls(**data)
