"""An MCP server (examples/mcp_notes) run inside the sandbox over stdio as a tool env.

Needs the `sandgym/python-mcp` image (`sandgym tools build-image`; setup.sh builds it).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import gymnasium as gym
import pytest

from sandgym.envs.check import check_env_id

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "mcp_notes"
ENV = "sandgym/McpNotes-v0"


@pytest.fixture(scope="module")
def registered():
    sys.path.insert(0, str(EXAMPLE))
    try:
        import plugin

        plugin.register_envs()
    finally:
        sys.path.remove(str(EXAMPLE))
    return ENV


def test_mcp_server_in_the_sandbox_passes_check_env_and_scores(registered):
    report = check_env_id(registered)
    assert report["ok"], report
    env = gym.make(registered)
    inner = env.unwrapped
    try:
        assert inner.task_ids == ["notes/add", "notes/add_two", "notes/add_then_delete"]
        assert inner.report.counts() == {"gold_call_failed": 1}  # notes/broken
        assert {t.name for t in inner.domain.tools} == {"add_note", "delete_note",
                                                         "list_notes", "read_note"}
        env.reset(options={"task_id": "notes/add_then_delete"})
        _, reward, terminated, _, info = env.step(inner.reference_answer("notes/add_then_delete"))
        assert terminated and reward == 1.0 and info["verdict"]["diff"]["equal"]
        env.reset(options={"task_id": "notes/add"})
        observation, *_ = env.step('<tool_call>{"name": "add_note", "arguments": '
                                   '{"title": "groceries", "body": "milk"}}</tool_call>')
        assert json.loads(observation)["result"]
        observation, *_ = env.step('<tool_call>{"name": "add_note", "arguments": '
                                   '{"title": 3}}</tool_call>')
        assert json.loads(observation)["error"]["type"] == "bad_arguments"
        _, reward, _, _, info = env.step('<tool_call>{"name": "done", "arguments": {}}'
                                         '</tool_call>')
        assert reward == 0.0  # the body differs from the gold note's
        assert info["verdict"]["diff"]["mismatches"][0]["path"] == "server"
    finally:
        env.close()
