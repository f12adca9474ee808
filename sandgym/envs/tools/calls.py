"""Tool calls parsed from a model's reply, and the typed errors a bad call becomes.

Three formats are read, in this order:

* OpenAI's ``tool_calls`` JSON: ``{"tool_calls": [{"type": "function", "function":
  {"name": ..., "arguments": "<JSON text>" or {...}}}]}`` (or a list of such calls);
* Hermes/Qwen tags: ``<tool_call>{"name": ..., "arguments": {...}}</tool_call>``
  (several allowed; text around them is kept as the reply's prose);
* bare JSON: the whole reply (optionally in a fenced block) is ``{"name": ...,
  "arguments": {...}}`` or a list of them.

A reply with none of them is plain text (a message to the user). Anything that tries
to be a call and is not (broken JSON, a missing name, arguments that are not an object,
nesting too deep, a reply too large) is a `CallError` of kind ``parse_error``: the
parser never raises.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ERROR_KINDS", "MAX_REPLY_CHARS", "CallError", "ParsedReply", "ToolCall",
           "format_call", "parse_reply"]

MAX_REPLY_CHARS = 200_000
"""A reply longer than this is not parsed for calls (a ``parse_error``)."""
_MAX_DEPTH = 64

ERROR_KINDS = ("parse_error", "unknown_tool", "bad_arguments", "too_many_calls",
               "tool_error", "tool_exception", "sandbox_error")
"""Every kind of `CallError`: what the model did wrong, or what failed while running."""

_TAG = re.compile(r"<tool_call>(.*?)(?:</tool_call>|\Z)", re.DOTALL)
_FENCE = re.compile(r"^```(?:json|tool_call)?\s*\n?(.*?)\n?```$", re.DOTALL)


@dataclass(frozen=True)
class ToolCall:
    """One call: a tool name and its arguments (a JSON object)."""

    name: str
    arguments: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """``{"name", "arguments"}``."""
        return {"name": self.name, "arguments": self.arguments}


@dataclass(frozen=True)
class CallError:
    """A call that could not run: its kind (one of `ERROR_KINDS`) and a message for the model."""

    kind: str
    message: str
    tool: str | None = None

    def observation(self) -> dict[str, Any]:
        """What the model reads back."""
        return {"error": {"type": self.kind, "message": self.message,
                          **({"tool": self.tool} if self.tool else {})}}


@dataclass(frozen=True)
class ParsedReply:
    """The calls in a reply, the prose around them, and a parse error if any."""

    calls: tuple[ToolCall, ...] = ()
    text: str = ""
    error: CallError | None = None


def format_call(call: ToolCall | dict[str, Any]) -> str:
    """A call written as a model would (Hermes tags), e.g. for reference answers."""
    data = call.as_dict() if isinstance(call, ToolCall) else call
    return f"<tool_call>{json.dumps(data, ensure_ascii=False)}</tool_call>"


def _depth_ok(text: str) -> bool:
    depth = best = 0
    for char in text:
        if char in "[{":
            depth += 1
            best = max(best, depth)
        elif char in "]}":
            depth -= 1
    return best <= _MAX_DEPTH


def _loads(text: str) -> Any:
    if not _depth_ok(text):
        raise ValueError(f"JSON nested deeper than {_MAX_DEPTH} levels")
    return json.loads(text, parse_constant=_no_constant)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _call_of(item: Any) -> ToolCall:
    """One call from its JSON form (OpenAI or Hermes); raises ValueError."""
    if not isinstance(item, dict):
        raise ValueError(f"a call must be a JSON object, got {type(item).__name__}")
    if "function" in item and isinstance(item["function"], dict):
        item = item["function"]
    name = item.get("name")
    if not isinstance(name, str) or not name:
        raise ValueError("a call needs a \"name\" (a non-empty string)")
    arguments = item.get("arguments", item.get("parameters", {}))
    if isinstance(arguments, str):
        arguments = _loads(arguments) if arguments.strip() else {}
    if arguments is None:
        arguments = {}
    if not isinstance(arguments, dict):
        raise ValueError(f"\"arguments\" of {name[:80]!r} must be a JSON object, got "
                         f"{type(arguments).__name__}")
    return ToolCall(name=name, arguments=arguments)


def _calls_of(data: Any) -> tuple[ToolCall, ...]:
    if isinstance(data, dict) and "tool_calls" in data:
        data = data["tool_calls"]
        if not isinstance(data, list):
            raise ValueError("\"tool_calls\" must be a list")
    items = data if isinstance(data, list) else [data]
    if not items:
        raise ValueError("an empty list of calls")
    return tuple(_call_of(item) for item in items)


def _looks_like_call(text: str) -> bool:
    return text.startswith(("{", "[")) and ('"name"' in text or '"tool_calls"' in text
                                            or '"function"' in text)


def parse_reply(reply: Any) -> ParsedReply:
    """The tool calls of a reply (never raises; see the module docstring).

    Example:
        >>> parse_reply('<tool_call>{"name": "f", "arguments": {"x": 1}}</tool_call>').calls
        (ToolCall(name='f', arguments={'x': 1}),)
        >>> parse_reply('<tool_call>{"name": </tool_call>').error.kind
        'parse_error'
    """
    if not isinstance(reply, str):
        return ParsedReply(error=CallError("parse_error", "a reply must be text"))
    if len(reply) > MAX_REPLY_CHARS:
        return ParsedReply(error=CallError(
            "parse_error", f"the reply is {len(reply)} characters, over the limit of "
            f"{MAX_REPLY_CHARS}; nothing was run"))
    try:
        return _parse(reply)
    except (ValueError, RecursionError, TypeError) as e:
        return ParsedReply(text="", error=CallError("parse_error", _short(str(e))))


def _short(text: str, limit: int = 300) -> str:
    if len(text) <= limit:
        return text
    return text[:limit] + f"... [truncated {len(text) - limit} chars]"


def _parse(reply: str) -> ParsedReply:
    if "<tool_call>" in reply:
        calls: list[ToolCall] = []
        for body in _TAG.findall(reply):
            try:
                calls.extend(_calls_of(_loads(body.strip())))
            except json.JSONDecodeError as e:
                raise ValueError(f"a <tool_call> holds invalid JSON ({e.msg} at "
                                 f"character {e.pos})") from None
        text = _TAG.sub("", reply).strip()
        return ParsedReply(calls=tuple(calls), text=text)
    stripped = reply.strip()
    fenced = _FENCE.match(stripped)
    if fenced:
        stripped = fenced.group(1).strip()
    if not _looks_like_call(stripped):
        return ParsedReply(text=reply.strip())
    try:
        data = _loads(stripped)
    except json.JSONDecodeError as e:
        raise ValueError(f"the reply looks like a JSON tool call but is not valid JSON "
                         f"({e.msg} at character {e.pos})") from None
    return ParsedReply(calls=_calls_of(data))
