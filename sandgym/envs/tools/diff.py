"""Structured diffs of JSON states: what changed, path by path.

`changes(before, after)` lists every path whose value differs (recursing into objects
and into lists of the same length), with declared volatile paths ignored and declared
unordered lists compared as multisets. Two final states reached from the same initial
state are equal exactly when their change lists are equal, so a task stores only the
gold run's changes (not a copy of a large database), and `compare` explains any
mismatch path by path.

Paths are tuples of keys and indexes; patterns (for volatile and unordered paths)
are strings with ``/`` between parts and ``*`` matching any one part, e.g.
``orders/*/timestamp``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

__all__ = ["ABSENT", "Change", "StateDiff", "changes", "compare", "path_text"]


class _Absent:
    """The value of a path that does not exist (removed, or not yet created)."""

    def __repr__(self) -> str:
        return "ABSENT"

    def __reduce__(self) -> str:
        return "ABSENT"


ABSENT: Any = _Absent()
Path = tuple[Any, ...]


def path_text(path: Path) -> str:
    """``orders/#W1/status``: a path as text."""
    return "/".join(str(p) for p in path) or "/"


def _matches(path: Path, patterns: tuple[str, ...]) -> bool:
    if not patterns:
        return False
    parts = [str(p) for p in path]
    for pattern in patterns:
        pat = pattern.strip("/").split("/")
        if len(pat) == len(parts) and all(fnmatchcase(a, b) for a, b in zip(parts, pat,
                                                                              strict=True)):
            return True
    return False


def _canonical(value: Any) -> Any:
    return json.dumps(value, sort_keys=True, default=str)


def _multiset(value: list[Any]) -> tuple[Any, ...]:
    return tuple(sorted(_canonical(v) for v in value))


Change = tuple[Path, Any]


def _kind(value: Any) -> Any:
    """The JSON kind of a value (dict subclasses are objects; ints and floats are numbers)."""
    if isinstance(value, dict):
        return dict
    if isinstance(value, bool):
        return bool
    if isinstance(value, int | float):
        return float
    return type(value)


def changes(before: Any, after: Any, *, volatile: tuple[str, ...] = (),
            unordered: tuple[str, ...] = (), _path: Path = ()) -> dict[Path, Any]:
    """Every path whose value differs between two JSON values: ``{path: new value}``.

    A removed key maps to `ABSENT`; an unordered list that changed maps to its
    multiset (sorted canonical JSON of its items).

    Example:
        >>> changes({"a": 1, "b": [1, 2]}, {"a": 2, "b": [2, 1]}, unordered=("b",))
        {('a',): 2}
    """
    if _path and _matches(_path, volatile):
        return {}
    if before is after:
        return {}
    if isinstance(after, list) and _matches(_path, unordered):
        new = _multiset(after)
        same = isinstance(before, list) and _multiset(before) == new
        return {} if same else {_path: ("multiset", new)}
    if _kind(before) != _kind(after):
        return {_path: after}
    if before == after:
        return {}
    out: dict[Path, Any] = {}
    if isinstance(before, dict):
        for key in before.keys() | after.keys():
            # dict.get: read the raw entries (a copy-on-read state must not copy here)
            out.update(changes(dict.get(before, key, ABSENT), dict.get(after, key, ABSENT),
                               volatile=volatile, unordered=unordered, _path=(*_path, key)))
        return out
    if isinstance(before, list) and len(before) == len(after):
        for index, (a, b) in enumerate(zip(before, after, strict=True)):
            out.update(changes(a, b, volatile=volatile, unordered=unordered,
                               _path=(*_path, index)))
        return out
    return {_path: after}


@dataclass(frozen=True)
class StateDiff:
    """How an agent's final state differs from the gold one.

    ``expected``: paths the gold run changed; ``made``: paths the agent changed;
    ``mismatches``: paths where the two final states differ, each with the gold and
    the agent's value. ``matched``: paths changed by either run that agree.
    """

    expected: int
    made: int
    matched: int
    mismatches: tuple[dict[str, Any], ...]

    @property
    def equal(self) -> bool:
        """Whether the final states are the same (volatile paths aside)."""
        return not self.mismatches

    @property
    def checked(self) -> int:
        """Paths compared (changed by the gold run or the agent)."""
        return self.matched + len(self.mismatches)

    def as_dict(self, limit: int = 20) -> dict[str, Any]:
        """JSON-ready, with at most ``limit`` mismatches listed."""
        return {"equal": self.equal, "expected_changes": self.expected,
                "agent_changes": self.made, "matched": self.matched,
                "mismatches": list(self.mismatches[:limit]),
                "mismatches_total": len(self.mismatches)}


def _show(value: Any) -> Any:
    if value is ABSENT:
        return "<absent>"
    if isinstance(value, tuple) and value[:1] == ("multiset",):
        return {"multiset": [json.loads(v) for v in value[1]]}
    text = _canonical(value)
    return value if len(text) <= 300 else text[:300] + "..."


def compare(gold: dict[Path, Any], agent: dict[Path, Any]) -> StateDiff:
    """Compare two change lists from the same initial state (see `changes`)."""
    mismatches = []
    matched = 0
    for path in sorted(gold.keys() | agent.keys(), key=lambda p: [str(x) for x in p]):
        g = gold.get(path, _UNCHANGED)
        a = agent.get(path, _UNCHANGED)
        if _same(g, a):
            matched += 1
        else:
            mismatches.append({"path": path_text(path),
                               "gold": "<unchanged>" if g is _UNCHANGED else _show(g),
                               "agent": "<unchanged>" if a is _UNCHANGED else _show(a)})
    return StateDiff(expected=len(gold), made=len(agent), matched=matched,
                     mismatches=tuple(mismatches))


_UNCHANGED: Any = object()


def _same(gold: Any, agent: Any) -> bool:
    """Equal values (1 and 1.0 alike); the markers only equal themselves."""
    markers = (_UNCHANGED, ABSENT)
    if any(x is m for x in (gold, agent) for m in markers):
        return gold is agent
    try:
        return bool(gold == agent) and type(gold) is not bool and type(agent) is not bool \
            or (type(gold) is bool and type(agent) is bool and gold == agent)
    except Exception:  # noqa: BLE001 - exotic values are simply different
        return False
