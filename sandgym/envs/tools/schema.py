"""Typed tool functions: a JSON schema from the signature and docstring, strict arguments.

A domain's tool is a plain Python function whose first parameter is the episode's
`ToolContext` and whose other parameters are typed (``str``, ``int``, ``float``,
``bool``, ``list[...]``, ``dict[str, ...]``, ``X | None``, ``Literal[...]``, a ``TypedDict``
for a structured object, with defaults where optional).
`FunctionTool.of` reads the signature and the Google docstring (``Args:``) once, so the
schema the model sees and the validation the env applies cannot drift apart.
"""

from __future__ import annotations

import inspect
import math
import re
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ArgumentError", "FunctionTool", "json_schema_of", "tool"]


class ArgumentError(ValueError):
    """Arguments that do not fit a tool's schema (the message says which and why)."""


def tool(*, writes: bool = False, terminal: bool = False, sandboxed: bool = False,
         computes: bool = False) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Mark a function as a domain tool.

    Args:
        writes: the tool may change the domain's state (the user-simulator guard and
            the do-nothing checks read this).
        terminal: calling it ends the episode (e.g. ``submit``).
        sandboxed: it runs model-written code or queries in the episode's sandbox.
        computes: its result is computed from the agent's own arguments (arithmetic,
            code, queries that can select literals), so it can show any number the agent
            wants: what it returns is not evidence that the agent looked anything up
            (the grader's over-claiming check and the loader's weak-check ignore it).
    """
    def mark(func: Callable[..., Any]) -> Callable[..., Any]:
        func.__sandgym_tool__ = {"writes": writes, "terminal": terminal,  # type: ignore[attr-defined]
                                 "sandboxed": sandboxed, "computes": computes}
        return func
    return mark


_SCALARS: dict[Any, str] = {str: "string", int: "integer", float: "number", bool: "boolean"}


def json_schema_of(annotation: Any) -> dict[str, Any]:
    """The JSON schema of a type annotation (the small subset tools may use)."""
    if annotation in _SCALARS:
        return {"type": _SCALARS[annotation]}
    if annotation is Any:
        return {}
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (list, tuple):
        return {"type": "array", "items": json_schema_of(args[0]) if args else {}}
    if origin is dict:
        return {"type": "object",
                "additionalProperties": json_schema_of(args[1]) if len(args) == 2 else {}}
    if annotation is dict:
        return {"type": "object"}
    if annotation is list:
        return {"type": "array"}
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        if len(inner) == 1:
            return {**json_schema_of(inner[0]), "nullable": True}
        return {"anyOf": [json_schema_of(a) for a in inner]}
    if origin is typing.Literal:
        return {"enum": list(args)}
    if typing.is_typeddict(annotation):
        return _object_schema(annotation)
    raise TypeError(f"tool parameters must be JSON types; {annotation!r} is not")


def _object_schema(cls: Any) -> dict[str, Any]:
    """A TypedDict as a closed object: its keys typed, required keys listed, no others.

    Structured arguments (a flight, a passenger) need their keys in the schema the
    model reads, and a misspelt key must be an error rather than silently dropped.
    """
    hints = typing.get_type_hints(cls)
    required = [k for k in hints if k in cls.__required_keys__]
    return {"type": "object", "properties": {k: json_schema_of(v) for k, v in hints.items()},
            "required": required, "additionalProperties": False}


def _docstring_parts(doc: str) -> tuple[str, dict[str, str]]:
    """(description, {param: text}) from a Google docstring."""
    doc = inspect.cleandoc(doc or "")
    description: list[str] = []
    params: dict[str, str] = {}
    section = None
    current = None
    for line in doc.splitlines():
        stripped = line.strip()
        if re.fullmatch(r"(Args|Arguments|Returns|Raises|Example|Examples):", stripped):
            section = stripped[:-1]
            current = None
            continue
        if section is None:
            description.append(line)
        elif section in ("Args", "Arguments") and stripped:
            match = re.match(r"^(\w+)(?:\s*\([^)]*\))?:\s*(.*)$", stripped)
            if match and line.startswith(("    ", "\t")) and not line.startswith("        "):
                current = match.group(1)
                params[current] = match.group(2)
            elif current is not None:
                params[current] += " " + stripped
    return " ".join(" ".join(description).split()), params


def _check(value: Any, schema: dict[str, Any], where: str) -> Any:
    """``value`` validated (and ints widened to floats) against ``schema``."""
    if value is None:
        if schema.get("nullable") or schema.get("type") == "null" or any(
                option.get("type") == "null" for option in schema.get("anyOf", ())):
            return None
        raise ArgumentError(f"{where} must not be null")
    if "enum" in schema:
        if value not in schema["enum"] or isinstance(value, bool) != any(
                isinstance(e, bool) for e in schema["enum"]):
            raise ArgumentError(f"{where} must be one of {schema['enum']}, got {value!r}")
        return value
    if "anyOf" in schema:
        for option in schema["anyOf"]:
            try:
                return _check(value, option, where)
            except ArgumentError:
                continue
        raise ArgumentError(f"{where} has the wrong type ({type(value).__name__})")
    kind = schema.get("type")
    if kind == "string" and isinstance(value, str):
        return value
    if kind == "boolean" and isinstance(value, bool):
        return value
    if kind == "integer" and isinstance(value, int) and not isinstance(value, bool):
        return _in_range(value, schema, where)
    if kind == "number" and isinstance(value, int | float) and not isinstance(value, bool):
        if isinstance(value, float) and not math.isfinite(value):
            raise ArgumentError(f"{where} must be a finite number")
        try:
            return _in_range(float(value), schema, where)
        except OverflowError:
            raise ArgumentError(f"{where} is too large for a number") from None
    if kind == "array" and isinstance(value, list):
        items = schema.get("items", {})
        return [_check(v, items, f"{where}[{i}]") for i, v in enumerate(value)]
    if kind == "object" and isinstance(value, dict) and "properties" in schema:
        return _check_fields(value, schema, where)
    if kind == "object" and isinstance(value, dict):
        inner = schema.get("additionalProperties", {})
        return {k: _check(v, inner, f"{where}.{k}") for k, v in value.items()}
    if kind is None:
        return value
    raise ArgumentError(f"{where} must be of type {kind}, got {type(value).__name__}")


def _in_range(value: int | float, schema: dict[str, Any], where: str) -> int | float:
    """``value`` within the schema's ``minimum``/``maximum`` (when it has them)."""
    low, high = schema.get("minimum"), schema.get("maximum")
    if (low is not None and value < low) or (high is not None and value > high):
        bounds = " and ".join(f"{word} {bound}" for word, bound in
                              (("at least", low), ("at most", high)) if bound is not None)
        shown = value if abs(value) < 10**18 else "a larger value"
        raise ArgumentError(f"{where} must be {bounds}, got {shown}")
    return value


def _check_fields(value: dict[str, Any], schema: dict[str, Any], where: str) -> dict[str, Any]:
    """A closed object (`_object_schema`): required keys present, no unknown key."""
    properties = schema["properties"]
    unknown = sorted(str(k) for k in value if k not in properties)
    if unknown:
        raise ArgumentError(f"{where} has no field(s) {unknown[:5]}; its fields are "
                            f"{sorted(properties)}")
    missing = [k for k in schema.get("required", ()) if k not in value]
    if missing:
        raise ArgumentError(f"{where} needs the field(s) {missing}")
    return {k: _check(v, properties[k], f"{where}.{k}") for k, v in value.items()}


@dataclass(frozen=True)
class FunctionTool:
    """A domain tool: the function, its schema, and what calling it may do.

    Example:
        >>> def add(ctx, a: int, b: int = 1) -> int:
        ...     '''Add two numbers.
        ...
        ...     Args:
        ...         a: The first.
        ...         b: The second.
        ...     '''
        ...     return a + b
        >>> t = FunctionTool.of(add)
        >>> t.parameters["required"], t.validate({"a": 2})
        (['a'], {'a': 2})
    """

    name: str
    description: str
    parameters: dict[str, Any]
    func: Callable[..., Any] = field(repr=False, compare=False)
    writes: bool = False
    terminal: bool = False
    sandboxed: bool = False
    computes: bool = False
    param_docs: tuple[tuple[str, str], ...] = ()

    @classmethod
    def of(cls, func: Callable[..., Any], *, name: str | None = None) -> FunctionTool:
        """Build the tool from a function (first parameter: the `ToolContext`)."""
        hints = typing.get_type_hints(func)
        signature = inspect.signature(func)
        description, docs = _docstring_parts(func.__doc__ or "")
        properties: dict[str, Any] = {}
        required: list[str] = []
        order: list[tuple[str, str]] = []
        for index, param in enumerate(signature.parameters.values()):
            if index == 0:
                continue  # the ToolContext
            if param.kind not in (param.POSITIONAL_OR_KEYWORD, param.KEYWORD_ONLY):
                raise TypeError(f"tool {func.__name__}: *args/**kwargs are not allowed")
            schema = json_schema_of(hints.get(param.name, str))
            text = docs.get(param.name, "")
            if not text:
                raise TypeError(f"tool {func.__name__}: parameter {param.name!r} has no "
                                "description in the docstring's Args section")
            properties[param.name] = {**schema, "description": text}
            order.append((param.name, text))
            if param.default is inspect.Parameter.empty:
                required.append(param.name)
        marks = getattr(func, "__sandgym_tool__", {})
        return cls(name=name or func.__name__, description=description or func.__name__,
                   parameters={"type": "object", "properties": properties,
                               "required": required},
                   func=func, param_docs=tuple(order), **marks)

    def openai_schema(self) -> dict[str, Any]:
        """``{"type": "function", "function": {name, description, parameters}}``."""
        params = {"type": "object", "properties": {
            k: {kk: vv for kk, vv in v.items() if kk != "nullable"}
            for k, v in self.parameters["properties"].items()},
            "required": list(self.parameters["required"])}
        return {"type": "function", "function": {
            "name": self.name, "description": self.description, "parameters": params}}

    def validate(self, arguments: Any) -> dict[str, Any]:
        """The arguments checked against the schema (raises `ArgumentError`)."""
        if not isinstance(arguments, dict):
            raise ArgumentError(f"arguments of {self.name} must be a JSON object, got "
                                f"{type(arguments).__name__}")
        properties = self.parameters["properties"]
        unknown = sorted(str(k) for k in arguments if k not in properties)
        if unknown:
            raise ArgumentError(f"{self.name} has no parameter(s) {unknown[:5]}; its "
                                f"parameters are {sorted(properties)}")
        missing = [k for k in self.parameters["required"] if k not in arguments]
        if missing:
            raise ArgumentError(f"{self.name} needs the argument(s) {missing}")
        return {k: _check(v, properties[k], k) for k, v in arguments.items()}
