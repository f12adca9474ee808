"""Tool tasks, and the loader that validates them by replaying their gold calls.

A `ToolTask` says what the agent must achieve (``instruction``; for a simulated user,
its ``user_scenario`` and ``user_script``), the gold calls that achieve it, the outputs
the agent must say (``required_outputs``), and the task's own volatile and unordered
paths. `validate_tasks` replays every task's gold calls on a fresh copy of the
domain's initial state and keeps the changes they make (`GoldRecord`); a task is
*rejected*, with its reason in the `TaskReport`, when

* ``gold_call_failed``: a gold call errors on replay (an unknown tool, bad arguments,
  or the tool refuses: the task is unsolvable as written);
* ``checks_nothing``: the gold run changes nothing and the task requires no output,
  so a do-nothing agent would be paid;
* ``weak_check``: the gold run changes nothing, so the required outputs are the only
  check, and one of them need not be looked up (`unlooked_outputs`): it is at most
  `GUESSABLE_OUTPUT_CHARS` characters (airline/3 pays for saying "4"), or no gold call's
  result shows it (retail/24 pays for "cotton" and "polyester" and has no gold call),
  or the user's own words already hold it; an agent that says a few likely values
  would be paid without looking anything up;
* ``invalid``: the record breaks the schema.

Rejected tasks are never played or scored.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sandgym.envs.errors import TaskSetError
from sandgym.envs.tools.calls import CallError, ToolCall
from sandgym.envs.tools.claims import mentions, normalize
from sandgym.envs.tools.diff import Path, changes
from sandgym.envs.tools.domain import Domain, ToolContext

logger = logging.getLogger(__name__)

GUESSABLE_OUTPUT_CHARS = 2
"""A required output this short ("4", "12") is a guess away; alone it checks nothing."""

__all__ = ["GoldRecord", "Rejection", "TaskReport", "ToolTask", "task_from_dict",
           "unlooked_outputs", "validate_tasks"]

_FIELDS = {"id", "instruction", "gold_calls", "user_scenario", "user_script",
           "required_outputs", "volatile", "unordered", "split", "metadata", "kind"}


@dataclass(frozen=True)
class ToolTask:
    """One task of a tool domain.

    Example:
        >>> t = task_from_dict({"id": "t1", "instruction": "Add 2.",
        ...                     "gold_calls": [{"name": "bump", "arguments": {"by": 2}}]})
        >>> t.gold_calls[0].name, t.has_user
        ('bump', False)
    """

    id: str
    instruction: str
    gold_calls: tuple[ToolCall, ...]
    user_scenario: str | None = None
    """What the simulated user knows and wants; None: the agent works alone."""
    user_script: tuple[str, ...] = ()
    """The scripted user's replies after its first message (the instruction)."""
    required_outputs: tuple[str, ...] = ()
    """Strings the agent must say to the user (case- and comma-insensitive)."""
    volatile: tuple[str, ...] = ()
    unordered: tuple[str, ...] = ()
    split: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)

    @property
    def has_user(self) -> bool:
        """Whether the task talks to a (simulated) user."""
        return self.user_scenario is not None


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise TaskSetError(f"{where} must be a list of strings")
    return tuple(value)


def task_from_dict(data: Mapping[str, Any], where: str = "task") -> ToolTask:
    """A `ToolTask` from its JSON record (unknown fields are an error)."""
    if not isinstance(data, Mapping):
        raise TaskSetError(f"{where}: a task must be a JSON object")
    unknown = sorted(set(data) - _FIELDS)
    if unknown:
        raise TaskSetError(f"{where}: unknown field(s) {unknown}; fields are {sorted(_FIELDS)}")
    for name in ("id", "instruction"):
        if not isinstance(data.get(name), str) or not data[name]:
            raise TaskSetError(f"{where}: {name!r} must be a non-empty string")
    calls = data.get("gold_calls", [])
    if not isinstance(calls, list):
        raise TaskSetError(f"{where}: 'gold_calls' must be a list")
    gold = []
    for i, call in enumerate(calls):
        if not isinstance(call, Mapping) or not isinstance(call.get("name"), str) or \
                not isinstance(call.get("arguments", {}), Mapping):
            raise TaskSetError(f"{where}: gold_calls[{i}] must be {{name, arguments}}")
        gold.append(ToolCall(call["name"], dict(call.get("arguments", {}))))
    scenario = data.get("user_scenario")
    if scenario is not None and not isinstance(scenario, str):
        raise TaskSetError(f"{where}: 'user_scenario' must be a string")
    return ToolTask(id=data["id"], instruction=data["instruction"], gold_calls=tuple(gold),
                    user_scenario=scenario,
                    user_script=_strings(data.get("user_script"), f"{where}.user_script"),
                    required_outputs=_strings(data.get("required_outputs"),
                                              f"{where}.required_outputs"),
                    volatile=_strings(data.get("volatile"), f"{where}.volatile"),
                    unordered=_strings(data.get("unordered"), f"{where}.unordered"),
                    split=data.get("split"), metadata=dict(data.get("metadata") or {}))


@dataclass(frozen=True)
class GoldRecord:
    """What the gold calls of a task did: the state's changes, and each call's result."""

    changes: dict[Path, Any]
    results: tuple[Any, ...]


@dataclass(frozen=True)
class Rejection:
    """A task the loader refused: its id, the reason (kind) and the details."""

    task_id: str
    reason: str
    detail: str

    def as_dict(self) -> dict[str, str]:
        """JSON-ready."""
        return {"task_id": self.task_id, "reason": self.reason, "detail": self.detail}


@dataclass
class TaskReport:
    """What loading a task set accepted and rejected (and why)."""

    domain: str
    accepted: list[str] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        """Rejections by reason."""
        out: dict[str, int] = {}
        for r in self.rejected:
            out[r.reason] = out.get(r.reason, 0) + 1
        return out

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: counts and every rejection."""
        return {"domain": self.domain, "accepted": len(self.accepted),
                "rejected": len(self.rejected), "by_reason": self.counts(),
                "rejections": [r.as_dict() for r in self.rejected]}


def state_paths(domain: Domain, task: ToolTask) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(volatile, unordered) patterns for a task: the domain's plus the task's own."""
    return (tuple(domain.volatile) + task.volatile, tuple(domain.unordered) + task.unordered)


def replay(domain: Domain, task: ToolTask, calls: Iterable[ToolCall], *,
           sandbox: Callable[[], Any] | None = None, timeout_s: float = 10.0
           ) -> tuple[dict[Path, Any], list[Any]]:
    """Run calls on a fresh state: (the state's changes, each call's result or error)."""
    ctx = ToolContext(domain.fresh_state(), sandbox=sandbox, timeout_s=timeout_s)
    if domain.setup is not None:
        domain.setup(ctx)
    results = [domain.run(ctx, call) for call in calls]
    volatile, unordered = state_paths(domain, task)
    return changes(domain.pristine, ctx.state, volatile=volatile, unordered=unordered), results


def unlooked_outputs(domain: Domain, task: ToolTask, results: Iterable[Any]) -> list[str]:
    """The required outputs an agent could say without looking them up, each with why.

    An output is looked up when it is longer than `GUESSABLE_OUTPUT_CHARS`, a gold call's
    result shows it (a tool that ``computes`` does not count: it returns what its
    arguments ask for) and the user's words (instruction, scenario, script) do not: only
    then does saying it show that the agent read the state. Matching is the grader's
    (`claims.mentions`).
    """
    shown = normalize(" ".join(
        json.dumps(result, ensure_ascii=False, default=str)
        for call, result in zip(task.gold_calls, results, strict=True)
        if not getattr(domain.tool(call.name), "computes", False)))
    user = normalize(" ".join((task.instruction, task.user_scenario or "", *task.user_script)))
    out = []
    for output in task.required_outputs:
        value = normalize(output)
        if len(value) <= GUESSABLE_OUTPUT_CHARS:
            out.append(f"{output!r} (a short guess)")
        elif not mentions(shown, value):
            out.append(f"{output!r} (no gold result shows it)")
        elif mentions(user, value):
            out.append(f"{output!r} (the user says it)")
    return out


def validate_tasks(domain: Domain, tasks: Iterable[ToolTask], *,
                   sandbox: Callable[[], Any] | None = None, timeout_s: float = 10.0
                   ) -> tuple[list[ToolTask], dict[str, GoldRecord], TaskReport]:
    """Replay each task's gold calls; keep the tasks that replay and check something.

    Returns:
        (accepted tasks, their `GoldRecord` by id, the `TaskReport`).

    Raises:
        TaskSetError: ids repeat, or the sandbox failed during a replay (an
            infrastructure failure is not the task's fault, so nothing is judged).
    """
    report = TaskReport(domain=domain.name)
    accepted: list[ToolTask] = []
    records: dict[str, GoldRecord] = {}
    seen: set[str] = set()
    for task in tasks:
        if task.id in seen:
            raise TaskSetError(f"task id {task.id!r} repeats in the {domain.name} task set")
        seen.add(task.id)
        diff, results = replay(domain, task, task.gold_calls, sandbox=sandbox,
                               timeout_s=timeout_s)
        failed = [(i, r) for i, r in enumerate(results) if isinstance(r, CallError)]
        if any(r.kind == "sandbox_error" for _, r in failed):
            raise TaskSetError(f"the sandbox failed while replaying {task.id}: "
                               f"{failed[0][1].message}")
        if failed:
            i, error = failed[0]
            call = task.gold_calls[i]
            report.rejected.append(Rejection(task.id, "gold_call_failed", (
                f"gold call {i} {call.name}({json.dumps(call.arguments)[:200]}) -> "
                f"{error.kind}: {error.message[:200]}")))
            continue
        if not diff and not task.required_outputs:
            report.rejected.append(Rejection(
                task.id, "checks_nothing", "the gold calls change nothing and no output is "
                "required: doing nothing would score 1.0"))
            continue
        unlooked = [] if diff else unlooked_outputs(domain, task, results)
        if unlooked:
            report.rejected.append(Rejection(
                task.id, "weak_check", "the gold calls change nothing and the only check is "
                f"the outputs {list(task.required_outputs)}, not all looked up: "
                f"{', '.join(unlooked)}; saying likely values would score 1.0"))
            continue
        accepted.append(task)
        records[task.id] = GoldRecord(changes=diff, results=tuple(results))
        report.accepted.append(task.id)
    if report.rejected:
        logger.info("%s: %d tasks accepted, %d rejected %s", domain.name, len(accepted),
                    len(report.rejected), report.counts())
    return accepted, records, report


def load_tool_tasks(source: Any) -> list[ToolTask]:
    """`ToolTask` values from a JSONL path, or a list of tasks or task dicts."""
    import os

    if isinstance(source, str | os.PathLike):
        try:
            with open(source, encoding="utf-8") as f:
                lines = [(i, line) for i, line in enumerate(f, 1) if line.strip()]
        except OSError as e:
            raise TaskSetError(f"cannot read the task file {source}: {e}") from e
        out = []
        for i, line in lines:
            try:
                data = json.loads(line)
            except ValueError as e:
                raise TaskSetError(f"{source}:{i}: invalid JSON ({e})") from e
            out.append(task_from_dict(data, f"{source}:{i}"))
        return out
    return [t if isinstance(t, ToolTask) else task_from_dict(t, f"tasks[{i}]")
            for i, t in enumerate(source)]
