"""Validation of BFCL multi-turn tasks by gold replay, with a rejection report.

Each task's gold calls are replayed turn by turn on fresh instances (`Session`); the
instances after each turn and the calls' results become the task's `GoldTurn` records,
which the env checks the agent against. A task is rejected, with its reason in the
`TaskReport`, when

* ``unsupported_class``: it needs an API class sandgym does not run;
* ``gold_unparseable``: a gold call is not a call with literal arguments;
* ``gold_call_failed``: a gold call is unknown, excluded or (``miss_func``) not offered
  yet at its turn, has arguments its function's
  schema refuses, raises, or returns BFCL's ``{"error": ...}`` (the gold answer is
  wrong as written: gorilla issue #1367's kind);
* ``gold_unproducible``: a gold call's text argument is a near-copy of an earlier gold
  result (the same words, or nearly the same text) that no call produces exactly, so an
  agent that copies the tool's real output fails the state check (gorilla issue
  #1367: ``multi_turn_base_4`` tweets an alphabetised ``sort`` output that ``sort``
  never returns);
* ``nondeterministic``: two replays disagree (a check could not be trusted);
* ``checks_nothing``: no turn's gold changes the state or returns a result, so an agent
  that does nothing would pass BFCL's state and response checks;
* ``passes_by_reading``: no gold turn changes the state, and every result the gold
  returns is also returned by some argument-free tool that changes nothing (a getter),
  so an agent that only calls getters passes every turn without doing what was asked
  (``multi_turn_base_139``: its write adds a stock that is already on the watchlist and
  returns the watchlist, which ``get_watchlist()`` returns too).
"""

from __future__ import annotations

import difflib
import importlib
import inspect
import json
import logging
from collections.abc import Iterable
from typing import Any

from sandgym.envs.errors import TaskSetError
from sandgym.envs.tools.bfcl_api import (
    _PREFIX,
    API_CLASSES,
    GoldTurn,
    Session,
    missing_results,
    state_diff,
)
from sandgym.envs.tools.bfcl_data import BFCLTask, parse_gold_call
from sandgym.envs.tools.calls import CallError, ToolCall
from sandgym.envs.tools.tasks import Rejection, TaskReport

logger = logging.getLogger(__name__)

__all__ = ["gold_calls", "replay_gold", "validate_bfcl_tasks"]


def _parameters(class_name: str, method: str) -> list[str] | None:
    module, _ = API_CLASSES[class_name]
    cls = getattr(importlib.import_module(f"{_PREFIX}.{module}"), class_name)
    func = getattr(cls, method, None)
    if func is None:
        return None
    return [p for p in inspect.signature(func).parameters if p != "self"]


def gold_calls(task: BFCLTask) -> tuple[tuple[ToolCall, ...], ...]:
    """The task's gold as `ToolCall` values per turn (positional arguments named from the
    method's signature, as Python would bind them).

    Raises:
        ValueError: a call does not parse, or has more positional arguments than its method.
    """
    owners: dict[str, str] = {}
    for cls in task.involved_classes:
        module, _ = API_CLASSES[cls]
        klass = getattr(importlib.import_module(f"{_PREFIX}.{module}"), cls)
        for name, _member in inspect.getmembers(klass, inspect.isfunction):
            if not name.startswith("_"):
                owners[name] = cls
    turns = []
    for turn in task.gold:
        calls = []
        for text in turn:
            parsed = parse_gold_call(text)
            arguments = dict(parsed.kwargs)
            if parsed.args:
                names = _parameters(owners[parsed.name], parsed.name) \
                    if parsed.name in owners else None
                if names is None or len(parsed.args) > len(names):
                    raise ValueError(f"{text!r}: positional arguments that no parameter takes")
                arguments.update(zip(names, parsed.args, strict=False))
            calls.append(ToolCall(parsed.name, arguments))
        turns.append(tuple(calls))
    return tuple(turns)


def replay_gold(task: BFCLTask, turns: tuple[tuple[ToolCall, ...], ...]
                ) -> tuple[list[GoldTurn], tuple[int, int, ToolCall, CallError] | None]:
    """Replay the gold turn by turn on fresh instances: (the turns, the first failure)."""
    session = Session(task)
    out: list[GoldTurn] = []
    for t, calls in enumerate(turns):
        session.start_turn(t)
        results: list[str] = []
        for i, call in enumerate(calls):
            result = session.run(call)
            if isinstance(result, CallError):
                return out, (t, i, call, result)
            results.append(result)
        out.append(GoldTurn(session.snapshot(), tuple(results), calls))
    return out, None


_MIN_WORDS = 4
_NEAR = 0.85


def _leaves(value: Any) -> list[str]:
    """The strings inside a result (its JSON parsed when it is JSON)."""
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except ValueError:
            return [value]
        if isinstance(parsed, str):
            return [parsed]
        value = parsed
    if isinstance(value, dict):
        return [s for v in value.values() for s in _leaves(v)]
    if isinstance(value, list):
        return [s for v in value for s in _leaves(v)]
    return []


def _texts(arguments: dict[str, Any]) -> list[tuple[str, str]]:
    out = []
    for name, value in arguments.items():
        for text in (value if isinstance(value, list) else [value]):
            if isinstance(text, str) and len(text.split()) >= _MIN_WORDS:
                out.append((name, text))
    return out


def unproducible_argument(gold: list[GoldTurn]) -> str | None:
    """The first gold text argument transcribed from an earlier result with changes.

    An argument counts as transcribed when an earlier gold result holds a string of at
    least four words with the same words in another order, or nearly the same text
    (similarity >= 0.85); it is fine when some earlier result contains it exactly (or
    it contains one), since an agent can copy that.
    """
    seen: list[str] = []
    for t, turn in enumerate(gold):
        for call, result in zip(turn.calls, turn.results, strict=True):
            for name, text in _texts(call.arguments):
                exact = any(text == r or text in r or r in text for r in seen)
                if exact:
                    continue
                for r in seen:
                    same_words = text.split() == r.split()
                    if same_words or sorted(text.split()) == sorted(r.split()) or \
                            difflib.SequenceMatcher(None, text, r).ratio() >= _NEAR:
                        how = ("only in whitespace" if same_words else "in its words"
                               if sorted(text.split()) != sorted(r.split()) else
                               "in the order of its words")
                        return (f"turn {t} {call.name}({name}={text[:120]!r}) copies the earlier "
                                f"result {r[:120]!r} but differs {how}; no tool produces it")
            seen.extend(r for r in _leaves(result) if len(r.split()) >= _MIN_WORDS)
    return None


def _checks_something(task: BFCLTask, gold: list[GoldTurn]) -> bool:
    idle = Session(task).instances
    return any(state_diff(idle, turn.state) or turn.results for turn in gold)


def _getter_results_suffice(task: BFCLTask, gold: list[GoldTurn]) -> list[str] | None:
    """The getters whose results cover every gold result, when no gold turn writes.

    Models the laziest agent that can pass: it never writes, and on each turn that has
    gold calls it calls every argument-free tool that leaves the state as it was. While
    the gold changes nothing, that agent's state stays the gold's; it passes when its
    results so far hold each turn's gold results (BFCL's response check). None when some
    gold turn changes the state (then reading alone fails the state check) or the
    getters miss a gold result.
    """
    reader = Session(task)
    if any(state_diff(reader.instances, turn.state) for turn in gold):
        return None
    results: list[str] = []
    used: list[str] = []
    for t, turn in enumerate(gold):
        reader.start_turn(t)
        if not turn.calls:
            continue  # an irrelevance turn: the reader does not call anything
        for name in sorted(reader.tools):
            before = reader.snapshot()
            result = reader.run(ToolCall(name, {}))
            if state_diff(reader.instances, before):
                reader.instances = before  # a writer, not a getter: undo it
                continue
            if isinstance(result, str):
                results.append(result)
                if name not in used:
                    used.append(name)
        if missing_results(results, list(turn.results)):
            return None
    return used


def validate_bfcl_tasks(tasks: Iterable[BFCLTask], *, domain: str = "bfcl_multi_turn"
                        ) -> tuple[list[BFCLTask], dict[str, list[GoldTurn]], TaskReport]:
    """Replay each task's gold; keep the tasks that replay, repeat and check something.

    Returns:
        (accepted tasks, their gold turns by id, the `TaskReport`).

    Raises:
        TaskSetError: ids repeat.
    """
    report = TaskReport(domain=domain)
    accepted: list[BFCLTask] = []
    records: dict[str, list[GoldTurn]] = {}
    seen: set[str] = set()
    for task in tasks:
        if task.id in seen:
            raise TaskSetError(f"task id {task.id!r} repeats in the BFCL task set")
        seen.add(task.id)
        rejection = _judge(task, records)
        if rejection is not None:
            report.rejected.append(rejection)
            continue
        accepted.append(task)
        report.accepted.append(task.id)
    logger.info("%s: %d tasks accepted, %d rejected %s", domain, len(accepted),
                len(report.rejected), report.counts())
    return accepted, records, report


def _judge(task: BFCLTask, records: dict[str, list[GoldTurn]]) -> Rejection | None:
    unknown = [c for c in task.involved_classes if c not in API_CLASSES]
    if unknown:
        return Rejection(task.id, "unsupported_class", f"classes {unknown} are not run")
    if len(task.gold) != len(task.turns):
        return Rejection(task.id, "gold_unparseable", f"{len(task.gold)} gold turns for "
                         f"{len(task.turns)} user turns")
    try:
        turns = gold_calls(task)
    except ValueError as e:
        return Rejection(task.id, "gold_unparseable", str(e)[:300])
    gold, failure = replay_gold(task, turns)
    if failure is not None:
        t, i, call, error = failure
        withheld = [at for at, names in task.withheld if call.name in names and at > t]
        note = f" (withheld until turn {withheld[0]})" if withheld else ""
        return Rejection(task.id, "gold_call_failed", (
            f"turn {t} call {i} {call.name}({json.dumps(call.arguments, default=str)[:200]})"
            f"{note} -> {error.kind}: {error.message[:200]}"))
    unproducible = unproducible_argument(gold)
    if unproducible is not None:
        return Rejection(task.id, "gold_unproducible", unproducible)
    again, _ = replay_gold(task, turns)
    for t, (first, second) in enumerate(zip(gold, again, strict=True)):
        if first.results != second.results or state_diff(second.state, first.state):
            return Rejection(task.id, "nondeterministic", f"two gold replays differ at turn {t}")
    if not _checks_something(task, gold):
        return Rejection(task.id, "checks_nothing", "no gold turn changes the state or returns "
                         "a result: doing nothing would pass every check")
    getters = _getter_results_suffice(task, gold)
    if getters is not None:
        return Rejection(task.id, "passes_by_reading", "no gold turn changes the state and "
                         f"the getters {getters} return every gold result: an agent that only "
                         "reads would pass every turn")
    records[task.id] = gold
    return None
