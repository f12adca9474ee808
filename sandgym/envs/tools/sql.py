"""The SQL domain: questions over a company database, answered with SQLite queries.

Every query runs in the episode's sandbox: a small stdlib program builds the database
from ``data/company.sql`` in memory, installs an authorizer that allows only reading
(SELECT, READ, functions, recursive CTEs: no writes, PRAGMA or ATTACH), bounds the work
with a progress handler and returns the rows as JSON. Nothing the query does persists,
and the host never runs it. ``submit_query`` records the result set in the state; the
reward compares it with the gold query's (InterCode-SQL style): as a multiset unless
the gold query has ORDER BY (the task's ``unordered`` paths).
"""

from __future__ import annotations

import functools
import json
from importlib import resources
from typing import Any

from sandgym.envs.tools.domain import Domain, ToolContext, ToolError
from sandgym.envs.tools.schema import tool
from sandgym.envs.tools.tasks import ToolTask, task_from_dict

__all__ = ["SQL_POLICY", "sql_domain", "sql_tasks"]

MAX_QUERY_CHARS = 5000
SHOWN_ROWS = 50
MAX_ROWS = 1000

_RUNNER = r'''
import json, sqlite3, sys
request = json.loads(sys.stdin.read())
con = sqlite3.connect(":memory:")
con.executescript(request["schema"])
ALLOWED = {sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_FUNCTION,
           getattr(sqlite3, "SQLITE_RECURSIVE", 33)}
con.set_authorizer(lambda action, *rest: sqlite3.SQLITE_OK if action in ALLOWED
                   else sqlite3.SQLITE_DENY)
steps = [0]
def progress():
    steps[0] += 1
    return 1 if steps[0] > 20000 else 0
con.set_progress_handler(progress, 1000)
def cell(v):
    if isinstance(v, float):
        return round(v, 6)
    if isinstance(v, bytes):
        return v.hex()
    return v
try:
    cursor = con.execute(request["query"])
    rows = cursor.fetchmany(request["max_rows"] + 1)
    columns = [d[0] for d in cursor.description or []]
    out = {"columns": columns, "rows": [[cell(v) for v in row] for row in rows]}
except Exception as e:
    out = {"error": type(e).__name__ + ": " + str(e)}
sys.stdout.write("\x1eSQL" + json.dumps(out))
'''

SQL_POLICY = (
    "You answer questions about a company database (SQLite) with the tools. Tables: "
    "departments(id, name, city), employees(id, name, dept_id, salary, hire_year, "
    "manager_id), projects(id, name, dept_id, budget), assignments(employee_id, "
    "project_id, hours). Explore with `execute_sql`, then call `submit_query` with the "
    "one SELECT query whose result answers the question exactly (only the asked "
    "columns). Queries are read-only.")


@functools.cache
def _schema() -> str:
    return resources.files("sandgym.envs.tools").joinpath("data/company.sql").read_text()


def _query(ctx: ToolContext, query: str) -> dict[str, Any]:
    if not query.strip():
        raise ToolError("the query is empty")
    if len(query) > MAX_QUERY_CHARS:
        raise ToolError(f"the query is {len(query)} characters; at most {MAX_QUERY_CHARS}")
    request = json.dumps({"schema": _schema(), "query": query, "max_rows": MAX_ROWS})
    result = ctx.run_python(_RUNNER, stdin=request)
    marker = result.stdout.rfind("\x1eSQL")
    if result.status == "timeout":
        raise ToolError("the query timed out")
    if result.truncated:
        raise ToolError("the query's result is too large to return")
    if marker < 0:
        raise ToolError(f"the query failed ({result.status})")
    try:
        out = json.loads(result.stdout[marker + 4:])
    except ValueError:
        raise ToolError("the query's result could not be read") from None
    if "error" in out:
        raise ToolError(out["error"][:500])
    if len(out["rows"]) > MAX_ROWS:
        raise ToolError(f"the query returns more than {MAX_ROWS} rows")
    return out


@tool(sandboxed=True, computes=True)
def execute_sql(ctx: ToolContext, query: str) -> dict[str, Any]:
    """Run one read-only SQLite query and see its first rows.

    Args:
        query: One SQL SELECT statement.
    """
    out = _query(ctx, query)
    rows = out["rows"]
    return {"columns": out["columns"], "rows": rows[:SHOWN_ROWS], "row_count": len(rows),
            **({"note": f"only the first {SHOWN_ROWS} rows are shown"}
               if len(rows) > SHOWN_ROWS else {})}


@tool(sandboxed=True, writes=True, terminal=True)
def submit_query(ctx: ToolContext, query: str) -> dict[str, Any]:
    """Submit the query whose result answers the question; this ends the episode.

    Args:
        query: One SQL SELECT statement returning exactly the asked columns.
    """
    out = _query(ctx, query)
    ctx.state["answer"] = out["rows"]
    return {"row_count": len(out["rows"]), "rows": out["rows"][:SHOWN_ROWS]}


def sql_domain() -> Domain:
    """The SQL domain (state: the submitted result set)."""
    return Domain("sql", [execute_sql, submit_query], {"answer": None}, policy=SQL_POLICY)


@functools.cache
def _sql_task_records() -> tuple[str, ...]:
    text = resources.files("sandgym.envs.tools").joinpath("data/sql_tasks.jsonl").read_text()
    return tuple(line for line in text.splitlines() if line.strip())


def sql_tasks() -> list[ToolTask]:
    """The 44 SQL tasks written for sandgym."""
    return [task_from_dict(json.loads(line), f"sql_tasks.jsonl:{i + 1}")
            for i, line in enumerate(_sql_task_records())]
