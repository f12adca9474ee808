"""A small MCP server (stdio) for sandgym's MCP example: a notebook kept in a JSON file.

Any MCP server works the same way; this one is what `sandgym/McpNotes-v0` (registered by
``plugin.py``) runs inside the sandbox. Its state lives in ``notes.json`` in its working
directory (the sandbox's /work); sandgym reads that file to grade the final state.
"""

from __future__ import annotations

import json
from pathlib import Path

from mcp.server.mcpserver import MCPServer

STATE = Path("notes.json")
app = MCPServer("notes")


def _load() -> dict[str, str]:
    return json.loads(STATE.read_text()) if STATE.exists() else {}


def _save(notes: dict[str, str]) -> None:
    STATE.write_text(json.dumps(notes, sort_keys=True))


@app.tool()
def add_note(title: str, body: str) -> str:
    """Add a note (a title must be new)."""
    notes = _load()
    if title in notes:
        raise ValueError(f"a note titled {title!r} exists")
    notes[title] = body
    _save(notes)
    return f"added {title!r}"


@app.tool()
def delete_note(title: str) -> str:
    """Delete the note with this title."""
    notes = _load()
    if title not in notes:
        raise ValueError(f"no note titled {title!r}")
    del notes[title]
    _save(notes)
    return f"deleted {title!r}"


@app.tool()
def list_notes() -> list[str]:
    """The titles of every note."""
    return sorted(_load())


@app.tool()
def read_note(title: str) -> str:
    """The body of a note."""
    notes = _load()
    if title not in notes:
        raise ValueError(f"no note titled {title!r}")
    return notes[title]


if __name__ == "__main__":
    app.run()
