"""The tool family's registered envs: a `ToolEnv` subclass per built-in domain.

Each class names its domain and task set (built once per process and shared) and
declares its traits, so `env_class`/`env_traits` and the TRL adapter read its tools
without making an env.
"""

from __future__ import annotations

import functools
from typing import ClassVar

from sandgym.envs.contract import Tool
from sandgym.envs.tools.domain import Domain
from sandgym.envs.tools.env import ToolEnv, contract_tools
from sandgym.envs.tools.schema import FunctionTool
from sandgym.envs.tools.sql import SQL_POLICY, execute_sql, sql_domain, sql_tasks, submit_query
from sandgym.envs.tools.tasks import ToolTask
from sandgym.envs.tools.tau2 import tau2_domain, tau2_tasks
from sandgym.envs.tools.tau2_airline import AIRLINE_TOOLS
from sandgym.envs.tools.tau2_retail import RETAIL_TOOLS
from sandgym.envs.tools.word_problems import (
    WORD_PROBLEM_POLICY,
    run_python,
    submit_answer,
    word_problem_domain,
    word_problem_tasks,
)

__all__ = ["SqlEnv", "Tau2AirlineEnv", "Tau2Env", "Tau2RetailEnv", "WordProblemsEnv"]


def _tools(*functions: object) -> tuple[Tool, ...]:
    return contract_tools(tuple(FunctionTool.of(f) for f in functions))


class SqlEnv(ToolEnv):
    """SQL questions over a company database; queries run in the sandbox; reward by result set."""

    sandboxed: ClassVar[bool] = True
    holds_sandbox: ClassVar[bool] = True
    default_timeout_s: ClassVar[float | None] = 10.0
    tools = _tools(execute_sql, submit_query)
    tool_prompt: ClassVar[str | None] = SQL_POLICY

    @classmethod
    @functools.cache
    def default_domain(cls) -> Domain:
        """The SQL domain (one per process)."""
        return sql_domain()

    @classmethod
    def default_tasks(cls) -> list[ToolTask]:
        """The 44 SQL tasks."""
        return sql_tasks()

    def __init__(self, *, max_turns: int = 10, **kwargs: object) -> None:
        super().__init__(max_turns=max_turns, **kwargs)  # type: ignore[arg-type]


class WordProblemsEnv(ToolEnv):
    """Word problems computed with a sandboxed Python tool; reward by the exact number."""

    sandboxed: ClassVar[bool] = True
    holds_sandbox: ClassVar[bool] = True
    default_timeout_s: ClassVar[float | None] = 10.0
    tools = _tools(run_python, submit_answer)
    tool_prompt: ClassVar[str | None] = WORD_PROBLEM_POLICY

    @classmethod
    @functools.cache
    def default_domain(cls) -> Domain:
        """The word-problem domain (one per process)."""
        return word_problem_domain()

    @classmethod
    def default_tasks(cls) -> list[ToolTask]:
        """The 53 word problems."""
        return word_problem_tasks()

    def __init__(self, *, max_turns: int = 10, **kwargs: object) -> None:
        super().__init__(max_turns=max_turns, **kwargs)  # type: ignore[arg-type]


class Tau2Env(ToolEnv):
    """A τ²-bench domain: a customer (simulated user) and typed tools over its database.

    Subclasses name the τ² domain (``tau2_name``) and list its tools; the domain, the
    task set and the validation (gold replay, rejection report) are the same code for
    every τ² domain.
    """

    tau2_name: ClassVar[str] = ""

    @classmethod
    def default_domain(cls) -> Domain:
        """The τ² domain (database read once per process)."""
        return _tau2_domain(cls.tau2_name)

    @classmethod
    def default_tasks(cls) -> list[ToolTask]:
        """Every task of the τ² domain (the env keeps those whose gold replays and checks
        something; ``env.report`` lists the others)."""
        return tau2_tasks(cls.tau2_name)


@functools.cache
def _tau2_domain(name: str) -> Domain:
    return tau2_domain(name)


class Tau2RetailEnv(Tau2Env):
    """τ²-bench retail: 15 tools over the store's users, orders and products (114 tasks)."""

    tau2_name: ClassVar[str] = "retail"
    tools = _tools(*RETAIL_TOOLS)


class Tau2AirlineEnv(Tau2Env):
    """τ²-bench airline: 14 tools over flights, users and reservations (50 tasks)."""

    tau2_name: ClassVar[str] = "airline"
    tools = _tools(*AIRLINE_TOOLS)
