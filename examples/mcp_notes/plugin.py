"""Register the notes MCP server as ``sandgym/McpNotes-v0`` (one call: that is all it takes)."""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent


def register_envs() -> None:
    """Register the example MCP env (its server runs in the sandbox; see docs/tools.md)."""
    import sandgym

    sandgym.register(id="sandgym/McpNotes-v0", entry_point="sandgym.envs.tools.mcp_env:McpEnv",
                     server=str(HERE / "notes_server.py"), tasks=str(HERE / "tasks.jsonl"),
                     state_file="notes.json", family="tools",
                     description="An MCP notes server run in the sandbox over stdio.")
