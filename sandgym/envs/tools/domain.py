"""Tool domains: a state, typed tools over it, tasks, and one way to run a call.

A `Domain` is the state's initial value (a JSON document; a domain whose data lives in
the sandbox, such as SQLite, keeps only what its tools record on the host), its tools
(`FunctionTool`, each a typed function of a `ToolContext`), an optional policy text
for the agent, the state's volatile and unordered paths, and an optional ``setup``
that prepares the episode's sandbox. `Domain.run` is the single path every call takes,
in episodes, gold replays and MCP serving: it never raises for anything a call does;
what went wrong comes back as a typed `CallError`.

Where tools run: a tool that executes model-written code, commands or queries is marked
``sandboxed`` and runs them only through ``ctx.sandbox()`` (the episode's sandbox);
the state lives in this process, where that code cannot reach it, so it changes only
through the tools. Pure-state tools with validated arguments run in-process.
"""

from __future__ import annotations

import json
import logging
import pickle
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from sandgym.envs.tools.calls import CallError, ToolCall
from sandgym.envs.tools.schema import ArgumentError, FunctionTool

logger = logging.getLogger(__name__)

__all__ = ["Domain", "SandboxUnavailable", "ToolContext", "ToolError"]

MAX_RESULT_CHARS = 20_000
"""A tool result longer than this (as JSON) is truncated visibly."""


class ToolError(Exception):
    """A call the tool refused (bad id, a rule of the domain); the message is for the model."""


class SandboxUnavailable(Exception):
    """The sandbox infrastructure failed: the episode ends ungraded (``sandbox_error``)."""


class ToolContext:
    """What a tool function receives: the episode's state and, on demand, its sandbox.

    Args:
        state: the domain's mutable state (a JSON document).
        sandbox: a zero-argument callable giving the episode's sandbox (None: the
            episode has none; a sandboxed tool then fails with ``sandbox_error``).
        timeout_s: the time budget of one sandboxed request.
    """

    def __init__(self, state: Any, sandbox: Callable[[], Any] | None = None,
                 timeout_s: float = 10.0) -> None:
        self.state = state
        self._sandbox = sandbox
        self.timeout_s = timeout_s

    def sandbox(self) -> Any:
        """The episode's `DockerSandbox` (raises `SandboxUnavailable` when there is none)."""
        if self._sandbox is None:
            raise SandboxUnavailable("this episode has no sandbox")
        try:
            return self._sandbox()
        except SandboxUnavailable:
            raise
        except Exception as e:  # noqa: BLE001 - any failure to lease is infrastructure
            raise SandboxUnavailable(f"{type(e).__name__}: {e}") from e

    def run_python(self, code: str, *, stdin: str | None = None) -> Any:
        """Run code in the sandbox; `SandboxUnavailable` when the infrastructure fails."""
        from sandgym.errors import RequestTooLargeError, SandboxError

        try:
            result = self.sandbox().run_python(code, stdin=stdin, timeout=self.timeout_s)
        except RequestTooLargeError as e:
            raise ToolError(f"the request is {e.size} bytes, over the sandbox's limit of "
                            f"{e.limit} bytes; nothing was run") from e
        except SandboxError as e:
            raise SandboxUnavailable(f"{type(e).__name__}: {e}") from e
        if result.status == "sandbox_error":
            raise SandboxUnavailable(result.stderr[-300:])
        return result


class _CopyOnRead(dict):
    """A collection of the initial state whose entries are copied when first read.

    Most calls touch a handful of a large database's records; copying the whole
    state per episode would dominate an episode's cost. Entries never read stay the
    initial state's own objects (so diffs skip them by identity); an entry is
    deep-copied the first time a tool reaches it, before it can be changed.
    """

    def _own(self, key: Any) -> Any:
        value = dict.__getitem__(self, key)
        if key not in self._owned:
            value = pickle.loads(pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))
            dict.__setitem__(self, key, value)
            self._owned.add(key)
        return value

    def __init__(self, source: dict[Any, Any]) -> None:
        super().__init__(source)
        self._owned: set[Any] = set()

    def __getitem__(self, key: Any) -> Any:
        if key in self._owned:
            return dict.__getitem__(self, key)
        return self._own(key)

    def get(self, key: Any, default: Any = None) -> Any:
        return self[key] if key in self else default

    def values(self) -> Any:  # type: ignore[override]
        return [self[k] for k in self]

    def items(self) -> Any:  # type: ignore[override]
        return [(k, self[k]) for k in self]

    def pop(self, key: Any, *default: Any) -> Any:
        if key in self:
            value = self[key]
            dict.pop(self, key)
            return value
        return dict.pop(self, key, *default)

    def setdefault(self, key: Any, default: Any = None) -> Any:
        if key in self:
            return self[key]
        self[key] = default
        return default

    def __setitem__(self, key: Any, value: Any) -> None:
        self._owned.add(key)
        dict.__setitem__(self, key, value)

    def __reduce__(self) -> Any:
        return (dict, (dict(self.items()),))


def _jsonable(value: Any) -> Any:
    try:
        text = json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError, RecursionError):
        text = json.dumps(str(value))
    if len(text) > MAX_RESULT_CHARS:
        return text[:MAX_RESULT_CHARS] + f"... [truncated {len(text) - MAX_RESULT_CHARS} chars]"
    return json.loads(text)


@dataclass
class Domain:
    """A stateful tool domain (see the module docstring).

    Args:
        name: the domain's name (``retail``, ``sql``...).
        tools: its tools; a `FunctionTool` or a plain function (read with `FunctionTool.of`).
        initial_state: a JSON document, or a zero-argument callable returning one
            (called once; every episode gets a fresh copy).
        policy: rules the agent must follow (shown in its system prompt).
        volatile: state paths the reward ignores (``*`` matches one part).
        unordered: state paths holding lists compared as multisets.
        setup: prepares an episode's sandbox (e.g. writes a database); called at reset
            with the episode's `ToolContext`.

    Example:
        >>> def bump(ctx, by: int) -> int:
        ...     '''Add to the counter.
        ...
        ...     Args:
        ...         by: How much.
        ...     '''
        ...     ctx.state["n"] += by
        ...     return ctx.state["n"]
        >>> d = Domain("counter", [bump], {"n": 0})
        >>> ctx = ToolContext(d.fresh_state())
        >>> d.run(ctx, ToolCall("bump", {"by": 2})), d.run(ctx, ToolCall("bmp", {})).kind
        (2, 'unknown_tool')
    """

    name: str
    tools: Iterable[FunctionTool | Callable[..., Any]]
    initial_state: Any = field(default_factory=dict)
    policy: str = ""
    volatile: tuple[str, ...] = ()
    unordered: tuple[str, ...] = ()
    setup: Callable[[ToolContext], None] | None = None

    def __post_init__(self) -> None:
        self.tools = tuple(t if isinstance(t, FunctionTool) else FunctionTool.of(t)
                           for t in self.tools)
        self._by_name = {t.name: t for t in self.tools}
        if len(self._by_name) != len(self.tools):
            raise ValueError(f"domain {self.name}: tool names must be unique")
        self._pickled: bytes | None = None
        self._pristine: Any = None

    @property
    def sandboxed(self) -> bool:
        """Whether any tool (or the setup) needs the episode's sandbox."""
        return self.setup is not None or any(t.sandboxed for t in self.tools)

    def tool(self, name: str) -> FunctionTool | None:
        """The tool with this name, or None."""
        return self._by_name.get(name)

    @property
    def writes(self) -> frozenset[str]:
        """Names of the tools that may change the state."""
        return frozenset(t.name for t in self.tools if t.writes)

    def _load(self) -> None:
        if self._pickled is None:
            value = self.initial_state() if callable(self.initial_state) else self.initial_state
            self._pickled = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
            self._pristine = pickle.loads(self._pickled)

    @property
    def pristine(self) -> Any:
        """The initial state (shared, never to be mutated: diffs are taken against it)."""
        self._load()
        return self._pristine

    def fresh_state(self) -> Any:
        """A private copy of the initial state for one episode or replay.

        A JSON object whose values are objects (collections of records, as in τ²'s
        databases) is copied on read (`_CopyOnRead`): only the records a call reaches
        are copied. Anything else is copied whole.
        """
        self._load()
        pristine = self._pristine
        if isinstance(pristine, dict) and pristine and all(
                isinstance(v, dict) for v in pristine.values()):
            return {k: _CopyOnRead(v) for k, v in pristine.items()}
        return pickle.loads(self._pickled)

    def openai_tools(self) -> list[dict[str, Any]]:
        """The tools as an OpenAI ``tools`` list."""
        return [t.openai_schema() for t in self.tools]

    def run(self, ctx: ToolContext, call: ToolCall) -> Any:
        """Run one call: its JSON-ready result, or a `CallError` (never raises)."""
        spec = self._by_name.get(call.name) if isinstance(call.name, str) else None
        if spec is None:
            import difflib

            close = difflib.get_close_matches(str(call.name), self._by_name, n=3)
            hint = f"; did you mean {close}?" if close else ""
            return CallError("unknown_tool", f"there is no tool {str(call.name)[:80]!r}{hint} "
                             f"(tools: {sorted(self._by_name)})")
        try:
            arguments = spec.validate(call.arguments)
        except ArgumentError as e:
            return CallError("bad_arguments", str(e)[:500], tool=spec.name)
        except RecursionError:
            return CallError("bad_arguments", "arguments nested too deeply", tool=spec.name)
        try:
            return _jsonable(spec.func(ctx, **arguments))
        except ToolError as e:
            return CallError("tool_error", str(e)[:1000], tool=spec.name)
        except SandboxUnavailable as e:
            return CallError("sandbox_error", str(e)[:500], tool=spec.name)
        except Exception as e:  # noqa: BLE001 - a tool bug must not end the rollout
            logger.warning("tool %s.%s raised %s", self.name, spec.name, type(e).__name__,
                           exc_info=True)
            return CallError("tool_exception", f"{type(e).__name__}: {str(e)[:300]}",
                             tool=spec.name)
