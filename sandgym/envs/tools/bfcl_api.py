"""BFCL's stateful API classes as sandgym tools: one `Session` per episode or gold replay.

A session instantiates a task's involved classes (``GorillaFileSystem``, ``TwitterAPI``...)
and loads the task's initial config into each, as BFCL's executor does. The classes
execute only in-memory Python on validated arguments (no files, processes or network),
so they run in-process (pure-state tools, as the tool family allows). Every call goes
through `Session.run`, which never raises: the arguments are checked against the
schema built from BFCL's function doc, and a refusal, an ``{"error": ...}`` result or
an exception comes back as a typed `CallError`.

The state BFCL's checker compares is each instance's public attributes (`state_diff`);
results are stringified as BFCL does (``str`` kept, ``dict`` as JSON, else ``str()``),
so its response check (gold results are a sub-multiset of the model's) reads the same.
"""

from __future__ import annotations

import contextlib
import copy
import decimal
import functools
import importlib
import json
import logging
import sys
from collections import Counter
from dataclasses import dataclass
from typing import Any

from sandgym.envs.tools.bfcl_data import BFCLTask, function_docs
from sandgym.envs.tools.calls import CallError, ToolCall
from sandgym.envs.tools.schema import ArgumentError, FunctionTool

logger = logging.getLogger(__name__)

__all__ = ["API_CLASSES", "PRECISION_BOUNDS", "Session", "api_module", "missing_results", "plain",
           "state_diff", "tools_for"]

_PREFIX = "bfcl_eval.eval_checker.multi_turn_eval.func_source_code"
API_CLASSES: dict[str, tuple[str, str]] = {
    "GorillaFileSystem": ("gorilla_file_system", "gorilla_file_system.json"),
    "MathAPI": ("math_api", "math_api.json"),
    "MessageAPI": ("message_api", "message_api.json"),
    "TwitterAPI": ("posting_api", "posting_api.json"),
    "TicketAPI": ("ticket_api", "ticket_api.json"),
    "TradingBot": ("trading_bot", "trading_bot.json"),
    "TravelAPI": ("travel_booking", "travel_booking.json"),
    "VehicleControlAPI": ("vehicle_control", "vehicle_control.json"),
}
"""The multi-turn classes (module, function-doc file). BFCL's memory and web-search
classes need ML libraries or the network and are left out."""
STATELESS = frozenset({"MathAPI"})
PRECISION_BOUNDS: dict[str, dict[str, tuple[int, int]]] = {
    "logarithm": {"precision": (1, 1000)},
    "square_root": {"precision": (1, 1000)},
}
"""Integer arguments whose size is work: ``MathAPI`` sets mpmath's and decimal's precision
from them, and a precision of 10**6 takes seconds, 10**7 and more hangs the process (BFCL's
gold uses at most 10). Outside the bounds is a ``bad_arguments`` error; the schema the
model sees has them as ``minimum``/``maximum``."""
_LONG_CONTEXT = "long_context"
_TYPES = {"dict": "object", "float": "number", "integer": "integer", "string": "string",
          "boolean": "boolean", "array": "array", "tuple": "array", "any": None}


def _schema(doc: dict[str, Any]) -> dict[str, Any]:
    """BFCL's parameter doc as the JSON schema `FunctionTool.validate` applies."""
    out: dict[str, Any] = {}
    kind = _TYPES.get(doc.get("type", "any"), None)
    if kind:
        out["type"] = kind
    if "enum" in doc:
        out["enum"] = list(doc["enum"])
    description = doc.get("description", "")
    if "default" in doc:
        description = f"{description} (default: {doc['default']!r})".strip()
    if description:
        out["description"] = description
    if "items" in doc:
        out["items"] = _schema(doc["items"])
    if "properties" in doc:
        out["properties"] = {k: _schema(v) for k, v in doc["properties"].items()}
        out["required"] = list(doc.get("required", []))
    if doc.get("default", 0) is None:
        out["nullable"] = True
    return out


def _tool(doc: dict[str, Any]) -> FunctionTool:
    params = doc.get("parameters") or {}
    properties = {k: _schema(v) for k, v in (params.get("properties") or {}).items()}
    for name, (low, high) in PRECISION_BOUNDS.get(doc["name"], {}).items():
        if name in properties:
            properties[name].update(minimum=low, maximum=high)
    return FunctionTool(
        name=doc["name"], description=doc.get("description", doc["name"]),
        parameters={"type": "object", "properties": properties,
                    "required": list(params.get("required", []))},
        func=_unbound, param_docs=tuple((k, v.get("description", ""))
                                        for k, v in properties.items()))


def _unbound(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError("BFCL tools run through Session.run")


@functools.cache
def tools_for(classes: tuple[str, ...], excluded: tuple[str, ...] = ()) -> tuple[FunctionTool, ...]:
    """The tools a task offers: its classes' documented functions minus the excluded ones."""
    out: list[FunctionTool] = []
    for name in classes:
        out.extend(_tool(d) for d in function_docs(API_CLASSES[name][1])
                   if d["name"] not in excluded)
    return tuple(out)


def _stringify(result: Any) -> str:
    """BFCL's form of a result (its response check compares these strings)."""
    if isinstance(result, str):
        return result
    if isinstance(result, dict):
        try:
            return json.dumps(result)
        except (TypeError, ValueError):
            return str(result)
    return str(result)


def api_module(name: str) -> Any:
    """The module of BFCL's API class ``name`` (one of `API_CLASSES`), imported."""
    return importlib.import_module(f"{_PREFIX}.{API_CLASSES[name][0]}")


@contextlib.contextmanager
def _process_state_kept() -> Any:
    """Run a call with the process-wide numeric state it may set restored afterwards:
    ``MathAPI`` assigns ``decimal.getcontext().prec`` and ``mpmath.mp.dps``, which would
    otherwise leak into every later call and into the host's own arithmetic."""
    mpmath = sys.modules.get("mpmath")
    dps = mpmath.mp.dps if mpmath is not None else None
    try:
        with decimal.localcontext():
            yield
    finally:
        if mpmath is not None:
            mpmath.mp.dps = dps


@functools.cache
def _pristine_globals() -> dict[str, Any]:
    """A copy of the mutable constants of BFCL's ``long_context`` module, taken before any
    call ran: some methods write them (``get_outside_temperature_from_google`` sets
    ``LONG_WEATHER_EXTENSION["outsideTemperature"]``), and `Session.run` puts them back."""
    module = importlib.import_module(f"{_PREFIX}.{_LONG_CONTEXT}")
    return {k: copy.deepcopy(v) for k, v in vars(module).items()
            if k.isupper() and isinstance(v, dict | list)}


def _restore_globals() -> None:
    module = sys.modules.get(f"{_PREFIX}.{_LONG_CONTEXT}")
    if module is None:
        return
    for name, value in _pristine_globals().items():
        current = getattr(module, name)
        if current != value:
            logger.debug("restoring BFCL's %s after a call wrote it", name)
            if isinstance(current, dict):
                current.clear()
                current.update(copy.deepcopy(value))
            else:
                current[:] = copy.deepcopy(value)


class Session:
    """A task's API instances, loaded with its initial config, and the calls run on them.

    Each instance's state is a deep copy made right after loading: BFCL's classes load
    module-level constants by reference (``TravelAPI`` puts the dicts of
    ``CREDIT_CARD_EXTENSION`` in its ``credit_card_list``, and ``book_flight`` then spends
    from them), so without it one episode's calls would change the next one's start.

    Raises:
        KeyError: a class of the task is not one of `API_CLASSES` (the loader checks).
    """

    def __init__(self, task: BFCLTask) -> None:
        _pristine_globals()  # taken before any call can write the constants
        self.instances: dict[str, Any] = {}
        for name in task.involved_classes:
            cls = getattr(api_module(name), name)
            instance = cls()
            if name not in STATELESS:
                instance._load_scenario(copy.deepcopy(task.initial_config.get(name, {})),
                                        long_context=task.category == _LONG_CONTEXT)
            instance.__dict__.update(copy.deepcopy(vars(instance)))  # no shared state
            self.instances[name] = instance
        self.task = task
        self._owner = {t.name: owner for owner in task.involved_classes
                       for t in tools_for((owner,), task.excluded_functions)}
        self.tools: dict[str, FunctionTool] = {}
        self.start_turn(0)

    def start_turn(self, turn: int) -> tuple[FunctionTool, ...]:
        """Offer the functions of ``turn`` (``miss_func`` releases withheld ones); returns
        those first offered now."""
        hidden = set(self.task.withheld_until(turn))
        before = set(self.tools)
        self.tools = {t.name: t for t in tools_for(self.task.involved_classes,
                                                   self.task.excluded_functions)
                      if t.name not in hidden}
        return tuple(t for name, t in self.tools.items() if name not in before and before)

    def run(self, call: ToolCall) -> str | CallError:
        """Run one call: BFCL's string of its result, or a `CallError` (never raises)."""
        spec = self.tools.get(call.name) if isinstance(call.name, str) else None
        if spec is None:
            return CallError("unknown_tool", f"there is no tool {str(call.name)[:80]!r} "
                             f"(tools: {sorted(self.tools)})")
        try:
            arguments = spec.validate(call.arguments)
        except ArgumentError as e:
            return CallError("bad_arguments", str(e)[:500], tool=spec.name)
        except RecursionError:
            return CallError("bad_arguments", "arguments nested too deeply", tool=spec.name)
        for param, (low, high) in PRECISION_BOUNDS.get(spec.name, {}).items():
            value = arguments.get(param)
            if isinstance(value, int) and not low <= value <= high:
                return CallError("bad_arguments", f"{param} must be between {low} and {high}",
                                 tool=spec.name)
        method = getattr(self.instances[self._owner[spec.name]], spec.name, None)
        if method is None:
            return CallError("unknown_tool", f"{spec.name} is documented but not implemented",
                             tool=spec.name)
        try:
            with _process_state_kept():  # the result is read in the precision it asked for
                result = method(**arguments)
                if isinstance(result, dict) and set(result) == {"error"}:
                    return CallError("tool_error", str(result["error"])[:1000], tool=spec.name)
                return _stringify(result)
        except Exception as e:  # noqa: BLE001 - a refusal or a bug of the API class
            return CallError("tool_exception", f"{type(e).__name__}: {str(e)[:300]}",
                             tool=spec.name)
        finally:
            if self.task.category == _LONG_CONTEXT:
                _restore_globals()

    def snapshot(self) -> dict[str, Any]:
        """A deep copy of the instances (the gold state of a turn, kept for comparison)."""
        return copy.deepcopy(self.instances)


def plain(value: Any, depth: int = 0, seen: frozenset[int] = frozenset()) -> Any:
    """A JSON-ready view of a state value (objects as their public attributes)."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if id(value) in seen or depth > 12:
        return "<...>"
    seen = seen | {id(value)}
    if isinstance(value, dict):
        return {str(k): plain(v, depth + 1, seen) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [plain(v, depth + 1, seen) for v in value]
    if hasattr(value, "__dict__"):
        return {k: plain(v, depth + 1, seen) for k, v in vars(value).items()
                if not k.startswith("_") and k != "parent"}
    return repr(value)


def _short(value: Any, limit: int = 2000) -> Any:
    text = json.dumps(plain(value), ensure_ascii=False, default=str)
    return plain(value) if len(text) <= limit else text[:limit] + "...[truncated]"


def state_diff(model: dict[str, Any], gold: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """BFCL's state check: per class, the public attributes of the gold instance whose
    value differs in the model's (``{}``: the states match)."""
    out: dict[str, dict[str, Any]] = {}
    for name, gold_instance in gold.items():
        model_instance = model[name]
        for attr, gold_value in vars(gold_instance).items():
            if attr.startswith("_"):
                continue
            model_value = getattr(model_instance, attr, None)
            if model_value != gold_value:
                out.setdefault(name, {})[attr] = {"model": _short(model_value),
                                                  "gold": _short(gold_value)}
    return out


def missing_results(model: list[str], gold: list[str]) -> list[str]:
    """BFCL's response check: the gold results not found in the model's (as multisets)."""
    have = Counter(model)
    missing = []
    for item in gold:
        if have[item] > 0:
            have[item] -= 1
        else:
            missing.append(item)
    return missing


@dataclass(frozen=True)
class GoldTurn:
    """What the gold calls of one turn left: the instances after it, and their results."""

    state: dict[str, Any]
    results: tuple[str, ...]
    calls: tuple[ToolCall, ...]
