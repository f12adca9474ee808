"""`McpEnv`: any MCP server, run inside the episode's sandbox over stdio, as a ToolEnv.

The server's source is written into the sandbox's work dir at reset and started by a
small stdlib MCP client (JSON-RPC over stdio; the server imports ``mcp`` from
`MCP_IMAGE`'s ``/opt/sandgym-mcp``) for each request: the
client lists the tools once (their JSON schemas become the env's tools, validated like
any domain's) and, per call, starts the server, calls the tool and prints the result.
The server keeps its state in a file of the work dir (``state_file``); after every call
the env reads that file back, so the final state graded against the gold replay is the
server's own. A tool result flagged ``is_error`` is a typed ``tool_error``.

Registering one id turns an existing MCP server into an RL environment::

    sandgym.register(id="sandgym/McpNotes-v0", entry_point="sandgym.envs.tools.mcp_env:McpEnv",
                     server="/path/notes_server.py", tasks="/path/tasks.jsonl",
                     state_file="notes.json")
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Any, ClassVar

from sandgym.envs.errors import EnvError
from sandgym.envs.tools.domain import Domain, ToolContext, ToolError
from sandgym.envs.tools.env import ToolEnv
from sandgym.envs.tools.mcp_image import MCP_IMAGE, MCP_SITE
from sandgym.envs.tools.schema import FunctionTool

logger = logging.getLogger(__name__)

__all__ = ["McpEnv"]

SERVER_PATH = ".mcp/server.py"
_MARK = "\x1eMCP"
_CLIENT = r'''
import json, subprocess, sys
request = json.loads(sys.stdin.read())
server = subprocess.Popen(["python3", "@SERVER@"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                          cwd="/work", text=True,
                          env={"PYTHONPATH": "@SITE@", "PATH": "/usr/bin:/bin"})

def send(message):
    server.stdin.write(json.dumps(message) + "\n")
    server.stdin.flush()

def answer(ident):
    for line in server.stdout:
        try:
            message = json.loads(line)
        except ValueError:
            continue
        if message.get("id") == ident:
            if "error" in message:
                raise SystemExit("MCP error: " + json.dumps(message["error"])[:500])
            return message["result"]
    raise SystemExit("the MCP server exited without answering")

send({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
    "protocolVersion": "2025-11-25", "capabilities": {},
    "clientInfo": {"name": "sandgym", "version": "1"}}})
answer(1)
send({"jsonrpc": "2.0", "method": "notifications/initialized"})
if request["op"] == "list":
    send({"jsonrpc": "2.0", "id": 2, "method": "tools/list", "params": {}})
    tools = answer(2)["tools"]
    out = {"tools": [{"name": t["name"], "description": t.get("description") or "",
                      "input_schema": t.get("inputSchema") or {}} for t in tools]}
else:
    send({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
          "params": {"name": request["name"], "arguments": request["arguments"]}})
    result = answer(2)
    out = {"is_error": bool(result.get("isError")),
           "text": "\n".join(c.get("text", "") for c in result.get("content", [])),
           "structured": result.get("structuredContent")}
server.stdin.close()
try:
    server.wait(timeout=5)
except subprocess.TimeoutExpired:
    server.kill()
sys.stdout.write("@MARK@" + json.dumps(out, default=str))
'''.replace("@SITE@", MCP_SITE).replace("@SERVER@", "/work/" + SERVER_PATH).replace(
    "@MARK@", _MARK)
"""A stdlib MCP client (JSON-RPC over the server's stdio): it needs no package, so only
the server pays for importing ``mcp``."""


def _request(sandbox: Any, request: dict[str, Any], timeout_s: float) -> dict[str, Any]:
    from sandgym.envs.tools.domain import SandboxUnavailable
    from sandgym.errors import SandboxError

    try:
        result = sandbox.run_python(_CLIENT, stdin=json.dumps(request), timeout=timeout_s)
    except SandboxError as e:
        raise SandboxUnavailable(f"{type(e).__name__}: {e}") from e
    if result.status == "sandbox_error":
        raise SandboxUnavailable(result.stderr[-300:])
    marker = result.stdout.rfind(_MARK)
    if marker < 0:
        raise ToolError(f"the MCP server gave no answer ({result.status}): "
                        f"{result.stderr[-300:]}")
    return json.loads(result.stdout[marker + len(_MARK):])


def _tool(spec: dict[str, Any], state_file: str) -> FunctionTool:
    name = spec["name"]

    def proxy(ctx: ToolContext, **arguments: Any) -> Any:
        sandbox = ctx.sandbox()
        out = _request(sandbox, {"op": "call", "name": name, "arguments": arguments},
                       ctx.timeout_s)
        _sync_state(ctx, state_file)
        if out["is_error"]:
            raise ToolError(out["text"][:1000])
        return out["structured"] if out["structured"] is not None else out["text"]

    schema = dict(spec.get("input_schema") or {})
    properties = {k: {**v, "description": v.get("description") or v.get("title") or k}
                  for k, v in (schema.get("properties") or {}).items()}
    return FunctionTool(name=name, description=spec.get("description") or name,
                        parameters={"type": "object", "properties": properties,
                                    "required": list(schema.get("required") or [])},
                        func=proxy, writes=True, sandboxed=True,
                        param_docs=tuple((k, v["description"]) for k, v in properties.items()))


def _sync_state(ctx: ToolContext, state_file: str) -> None:
    try:
        raw = ctx.sandbox().read_file(state_file)
        value = json.loads(raw)
    except FileNotFoundError:
        value = None
    except ValueError:
        value = {"unreadable": True}
    ctx.state["server"] = value


class McpEnv(ToolEnv):
    """An MCP server run in the sandbox over stdio as a tool env (see the module doc).

    Args:
        server: path (on the host) of the server's Python source (one file).
        tasks: the tasks (JSONL path or list), gold calls in the server's tool names.
        state_file: the file (relative to the work dir) where the server keeps its state.
        pool: a pool of `MCP_IMAGE` sandboxes; any other pool is replaced by an own pool
            of that image (closed with the env).
        **kwargs: `ToolEnv`'s (max_turns, reward_mode, timeout_s, user...).
    """

    sandboxed: ClassVar[bool] = True
    holds_sandbox: ClassVar[bool] = True
    default_timeout_s: ClassVar[float | None] = 60.0

    def __init__(self, *, server: str, tasks: Any, state_file: str = "state.json",
                 pool: Any = None, max_turns: int = 10, **kwargs: Any) -> None:
        path = Path(server)
        if not path.is_file():
            raise EnvError(f"MCP server source {server!r} is not a file")
        source = path.read_text()
        self._own_pool = None
        if pool is None or getattr(pool, "image", None) != MCP_IMAGE:
            from sandgym.sandbox import SandboxPool

            pool = self._own_pool = SandboxPool(size=1, image=MCP_IMAGE)
        timeout_s = float(kwargs.get("timeout_s") or self.default_timeout_s)
        domain = _domain(source, state_file, pool, timeout_s)
        super().__init__(domain=domain, tasks=tasks, pool=pool, max_turns=max_turns, **kwargs)

    def close(self) -> None:
        """Release the sandbox, then the env's own pool (if it made one)."""
        super().close()
        if self._own_pool is not None:
            self._own_pool.close()
            self._own_pool = None


_DOMAINS: dict[tuple[str, str], Domain] = {}


def _domain(source: str, state_file: str, pool: Any, timeout_s: float) -> Domain:
    """The server's domain, built once per process (so its tasks are validated once)."""
    key = hashlib.sha256(source.encode()).hexdigest()
    if (key, state_file) not in _DOMAINS:
        _DOMAINS[key, state_file] = _build_domain(source, key, state_file, pool, timeout_s)
    return _DOMAINS[key, state_file]


def _build_domain(source: str, key: str, state_file: str, pool: Any, timeout_s: float
                  ) -> Domain:
    with pool.sandbox() as sandbox:
        sandbox.write_file(SERVER_PATH, source)
        specs = _request(sandbox, {"op": "list"}, timeout_s)["tools"]

    def setup(ctx: ToolContext) -> None:
        sandbox = ctx.sandbox()
        sandbox.reset()
        sandbox.write_file(SERVER_PATH, source)
        ctx.state["server"] = None

    return Domain(f"mcp-{key[:8]}", [_tool(s, state_file) for s in specs],
                  initial_state={"server": None}, setup=setup)
