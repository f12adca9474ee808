"""Serve a tool domain as an MCP server over stdio (``sandgym tools serve DOMAIN``).

The server lists the domain's tools with the same JSON schemas the env shows the model
and runs every call through `Domain.run`, so validation, typed errors and sandboxing are
the env's own: a bad call comes back as an MCP error result (``is_error``) with the
typed error as its text, never as a protocol failure. One server process is one
episode's state (a fresh copy of the initial state); sandboxed tools lease a sandbox
from a pool of one, closed when the server exits. Needs the ``mcp`` package (pinned).
"""

from __future__ import annotations

import json
import logging
from typing import Any

from sandgym.envs.tools.calls import CallError, ToolCall
from sandgym.envs.tools.domain import Domain, ToolContext

logger = logging.getLogger(__name__)

__all__ = ["DOMAINS", "domain_by_name", "serve"]

DOMAINS = {"tau2-retail": "sandgym/Tau2Retail-v0", "tau2-airline": "sandgym/Tau2Airline-v0",
           "sql": "sandgym/SqlQuery-v0", "word-problems": "sandgym/WordProblems-v0"}
"""Built-in domains that can be served, by name, with the env id they come from."""


def domain_by_name(name: str) -> Domain:
    """A built-in domain by its serve name (or an env id)."""
    from sandgym.envs import env_class
    from sandgym.envs.errors import EnvError

    env_id = DOMAINS.get(name, name)
    if env_id not in DOMAINS.values():
        raise EnvError(f"no tool domain {name!r}; choose from {sorted(DOMAINS)}")
    return env_class(env_id).default_domain()


def build_server(domain: Domain, ctx: ToolContext) -> Any:
    """An ``mcp`` low-level `Server` whose tools are the domain's, over ``ctx``."""
    import mcp.types as types
    from mcp.server.lowlevel import Server

    listed = [types.Tool(name=t.name, description=t.description,
                         input_schema=t.openai_schema()["function"]["parameters"])
              for t in domain.tools]

    async def on_list_tools(request_ctx: Any, params: Any) -> types.ListToolsResult:
        return types.ListToolsResult(tools=listed)

    async def on_call_tool(request_ctx: Any, params: Any) -> types.CallToolResult:
        result = domain.run(ctx, ToolCall(params.name, dict(params.arguments or {})))
        if isinstance(result, CallError):
            text = json.dumps(result.observation(), ensure_ascii=False)
            return types.CallToolResult(content=[types.TextContent(type="text", text=text)],
                                        is_error=True)
        text = json.dumps(result, ensure_ascii=False)
        return types.CallToolResult(content=[types.TextContent(type="text", text=text)])

    return Server(f"sandgym-{domain.name}", on_list_tools=on_list_tools,
                  on_call_tool=on_call_tool)


def serve(name: str) -> None:
    """Run the domain's MCP server on stdin/stdout until the client disconnects."""
    import anyio
    from mcp.server.stdio import stdio_server

    domain = domain_by_name(name)
    pool = None
    if domain.sandboxed:
        from sandgym.sandbox import SandboxPool

        pool = SandboxPool(size=1)
    sandbox: list[Any] = []

    def lease() -> Any:
        if not sandbox:
            sandbox.append(pool.acquire())
        return sandbox[0]

    ctx = ToolContext(domain.fresh_state(), sandbox=lease if pool else None)
    if domain.setup is not None:
        domain.setup(ctx)
    server = build_server(domain, ctx)

    async def main() -> None:
        async with stdio_server() as (read, write):
            await server.run(read, write, server.create_initialization_options())

    try:
        anyio.run(main)
    finally:
        if pool is not None:
            pool.close()
