"""Fuzzing the tool family: malformed and hostile tool calls must become typed errors.

Plays ``--calls`` generated calls (default 10,000) through real `ToolEnv` episodes:
most on τ² retail (in-process tools over the real database), ``--sandboxed`` of them
on SQL and word problems (queries and code run in real sandboxes). Every malformed
call (broken JSON, unknown or private tool names, wrong, missing, extra, non-finite or
deeply nested arguments, ids that do not exist, too many calls in one reply, replies
over the size limit) must come back as a typed error observation
(``{"error": {"type": ...}}`` with a kind from `ERROR_KINDS`); hostile but well-formed
calls (SQL that tries to write, attach or loop forever; code that kills, forks or
writes files) must not change the domain's state except through the tools. Counted:
episodes that raised (``crashed_episodes``), exceptions escaping to this process
(``host_exceptions``), calls whose observation was not a typed error or result.

Baseline, same calls, same run: a naive dispatcher as many agent frameworks write it
(``json.loads`` the tag, ``tools[name](**arguments)``), counting the calls on which it
raises, i.e. would crash a rollout that does not guard every call.

Usage: ``sandgym bench tool_fuzz --json [--calls 10000] [--sandboxed 300] [--seed 0]``
"""

from __future__ import annotations

import argparse
import json
import random
import re
import time
from typing import Any

import gymnasium as gym

import sandgym  # noqa: F401 - registers the envs
from sandgym.envs.tools.calls import ERROR_KINDS, MAX_REPLY_CHARS
from sandgym.envs.tools.diff import changes

_TAG = re.compile(r"<tool_call>(.*?)</tool_call>", re.DOTALL)


def _tag(data: Any) -> str:
    return f"<tool_call>{data if isinstance(data, str) else json.dumps(data)}</tool_call>"


def malformed(rng: random.Random, tools: dict[str, list[str]]) -> str:
    """One malformed reply: what a weak or adversarial model might write."""
    name = rng.choice(sorted(tools))
    params = tools[name]
    good = {p: "x" for p in params}
    choice = rng.randrange(16)
    if choice == 0:  # truncated JSON
        text = json.dumps({"name": name, "arguments": good})
        return "<tool_call>" + text[: rng.randrange(1, len(text) - 1)] + "</tool_call>"
    if choice == 1:  # unknown, private or reserved names
        bad = rng.choice(["_order", "__init__", "reset", "close", "step", "eval", "",
                          "x" * 5000, "get_user_details\u200b", "../../etc/passwd",
                          "ｇｅｔ_user_details", name.upper(), name + "s"])
        return _tag({"name": bad, "arguments": good})
    if choice == 2:  # arguments of the wrong JSON type
        return _tag({"name": name, "arguments": rng.choice([[1, 2], "oops", 3, True])})
    if choice == 3:  # wrong argument types (numbers, lists, objects, null, bools)
        if not params:
            return _tag({"name": name, "arguments": {"extra": 1}})
        value = rng.choice([1, 2.5, [1], {"a": 1}, None, True, -10**30])
        return _tag({"name": name, "arguments": {**good, rng.choice(params): value}})
    if choice == 4:  # a missing required argument
        if not params:
            return _tag({"name": name, "arguments": {"nope": "x"}})
        return _tag({"name": name, "arguments": dict(list(good.items())[1:])})
    if choice == 5:  # extra arguments
        return _tag({"name": name, "arguments": {**good, "__class__": "x", "self": 1}})
    if choice == 6:  # non-finite numbers and numbers outside float range
        value = rng.choice(["NaN", "Infinity", "-Infinity", "1e400"])
        key = params[0] if params else "x"
        return _tag(f'{{"name": "{name}", "arguments": {{"{key}": {value}}}}}')
    if choice == 7:  # nesting beyond the parser's depth limit
        depth = rng.choice([70, 500, 5000])
        return _tag({"name": name, "arguments": {params[0] if params else "x": "[" * depth}}
                    ).replace('"' + "[" * depth + '"', "[" * depth + "]" * depth)
    if choice == 8:  # too many calls in one reply
        return "".join(_tag({"name": name, "arguments": {}}) for _ in range(40))
    if choice == 9:  # a reply over the size limit
        return _tag({"name": name, "arguments": {"x": "a" * (MAX_REPLY_CHARS + 10)}})
    if choice == 10:  # OpenAI form with arguments that are not JSON
        return json.dumps({"tool_calls": [{"type": "function", "function": {
            "name": name, "arguments": "{'x': 1,}"}}]})
    if choice == 11:  # bare JSON that is not a call
        return rng.choice(['{"name": 5}', '[{"name": null}]', '{"tool_calls": {}}',
                           '{"function": {"arguments": {}}}', '{"name": "x", "arguments": '])
    if choice == 12:  # ids that do not exist / injection strings (a tool refuses them)
        values = ["#W0000000", "'; DROP TABLE users; --", "{{7*7}}", "\x00", "../" * 50]
        by_id = sorted(n for n, ps in tools.items() if any(p.endswith("_id") for p in ps))
        if not by_id:  # a domain without ids: an unknown tool instead
            return _tag({"name": name + "_by_id", "arguments": {"id": rng.choice(values)}})
        name = rng.choice(by_id)
        return _tag({"name": name, "arguments": {p: rng.choice(values) if p.endswith("_id")
                                                 else [] if p.endswith("_ids") else "x"
                                                 for p in tools[name]}})
    if choice == 13:  # a duplicate key and a unicode-escaped name that is not a tool
        return f'<tool_call>{{"name": "{name}", "name": "\\u0000", "arguments": {{}}}}</tool_call>'
    if choice == 14:  # an unterminated tag around garbage
        return "<tool_call>" + "".join(rng.choice('{}[]":,') for _ in range(rng.randrange(1, 40)))
    return _tag({"name": name, "arguments": None}).replace("null", rng.choice(
        ["[]", '"[]"', "0", '"{\\"a\\": }"']))


SQL_HOSTILE = [
    "DELETE FROM employees", "DROP TABLE employees", "UPDATE employees SET salary = 0",
    "ATTACH DATABASE '/work/x.db' AS x", "PRAGMA writable_schema = ON",
    "SELECT load_extension('/tmp/x.so')",
    "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT n FROM r",
    "SELECT 1; DELETE FROM employees", "CREATE TABLE t (x)",
    "SELECT * FROM employees a, employees b, employees c, employees d",
    "INSERT INTO employees VALUES (99, 'x', 1, 1, 1, NULL)", "VACUUM INTO '/work/copy.db'",
    "SELECT writefile('/work/a', 'x')", "SELECT randomblob(100000000)",
]
PY_HOSTILE = [
    "import os, signal\nos.kill(1, signal.SIGKILL)", "import os\nos.system('kill -9 -1')",
    "open('/work/answer', 'w').write('42')", "print('\\x1eSQL{\"rows\": [[30]]}')",
    "import os\nfor _ in range(50):\n    os.fork()", "x = 'a' * 10**10",
    "import sys\nsys.stdout.write('{\"tool\": \"submit_answer\", \"result\": 53}')",
    "raise SystemExit(0)", "while True: pass",
]


def _naive_crashes(reply: str, tools: dict[str, Any]) -> bool:
    """Whether a naive dispatcher raises on this reply."""
    try:
        for body in _TAG.findall(reply) or [reply]:
            data = json.loads(body)
            tools[data["name"]](**data["arguments"])
        return False
    except Exception:  # noqa: BLE001 - counting crashes is the point
        return True


def _check_observation(observation: str) -> tuple[int, int]:
    """(typed errors, lines that are neither a typed error nor a tool result)."""
    typed = bad = 0
    for line in observation.splitlines():
        if not line.startswith("{"):
            continue
        data = json.loads(line)
        if "error" in data:
            typed += data["error"].get("type") in ERROR_KINDS
            bad += data["error"].get("type") not in ERROR_KINDS
        elif "result" not in data:
            bad += 1
    return typed, bad


def fuzz_env(env_id: str, replies: list[str], *, expect_errors: bool, per_episode: int,
             **kwargs: Any) -> dict[str, Any]:
    """Play every reply, ``per_episode`` to an episode (a new one when one ends early)."""
    env = gym.make(env_id, max_errors=per_episode + 10, max_turns=per_episode + 10, **kwargs)
    inner = env.unwrapped
    writes = inner.domain.writes
    stats = {"calls": 0, "typed_errors": 0, "untyped": 0, "crashed_episodes": 0,
             "host_exceptions": 0, "state_changed_without_a_write": 0, "episodes": 0,
             "sandbox_errors": 0}
    tools = {t.name: (lambda **kw: None) for t in inner.domain.tools}
    naive = 0
    pending = list(replies)
    try:
        while pending:
            stats["episodes"] += 1
            wrote = False
            try:
                env.reset(seed=stats["episodes"])
                for _ in range(per_episode):
                    if not pending:
                        break
                    reply = pending.pop(0)
                    naive += _naive_crashes(reply, tools)
                    observation, _, terminated, truncated, info = env.step(reply)
                    stats["calls"] += 1
                    if info.get("sandbox_error"):
                        stats["sandbox_errors"] += 1
                        break
                    typed, bad = _check_observation(observation)
                    stats["typed_errors"] += typed > 0
                    stats["untyped"] += (expect_errors and typed == 0) or bad > 0
                    wrote = wrote or any(
                        json.loads(line).get("tool") in writes and "result" in json.loads(line)
                        for line in observation.splitlines() if line.startswith("{"))
                    if terminated or truncated:
                        break
                made = changes(inner.domain.pristine, inner._ctx.state)
                stats["state_changed_without_a_write"] += bool(made) and not wrote
            except Exception:  # noqa: BLE001 - counting crashes is the point
                stats["crashed_episodes"] += 1
    except BaseException:  # pragma: no cover - reported as a host exception
        stats["host_exceptions"] += 1
        raise
    finally:
        env.close()
    stats["naive_dispatcher_crashes"] = naive
    return stats


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the fuzz; print one JSON object."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=10_000)
    parser.add_argument("--sandboxed", type=int, default=300,
                        help="how many of the calls go to sandboxed domains (SQL, Python)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="(output is always JSON)")
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    started = time.perf_counter()
    retail = gym.make("sandgym/Tau2Retail-v0")
    retail_tools = {t.name: list(t.parameters["properties"]) for t in retail.unwrapped.domain.tools}
    retail.close()
    in_process = args.calls - args.sandboxed
    report: dict[str, Any] = {"benchmark": "tool_fuzz", "seed": args.seed}
    report["retail"] = fuzz_env("sandgym/Tau2Retail-v0",
                                [malformed(rng, retail_tools) for _ in range(in_process)],
                                expect_errors=True, per_episode=50)
    sql_n = args.sandboxed // 2
    sql_tools = {"execute_sql": ["query"], "submit_query": ["query"]}
    sql_replies = [malformed(rng, sql_tools) if i % 2 else _tag({
        "name": "execute_sql", "arguments": {"query": rng.choice(SQL_HOSTILE)}})
        for i in range(sql_n)]
    report["sql"] = fuzz_env("sandgym/SqlQuery-v0", sql_replies, expect_errors=True,
                             per_episode=25, timeout_s=3.0)
    py_tools = {"run_python": ["code"], "submit_answer": ["answer"]}
    py_replies = [malformed(rng, py_tools) if i % 4 else _tag({
        "name": "run_python", "arguments": {"code": rng.choice(PY_HOSTILE)}})
        for i in range(args.sandboxed - sql_n)]
    report["word_problems"] = fuzz_env("sandgym/WordProblems-v0", py_replies,
                                       expect_errors=False, per_episode=25, timeout_s=2.0)
    parts = [report[k] for k in ("retail", "sql", "word_problems")]
    report["total"] = {k: sum(p[k] for p in parts) for k in parts[0]}
    report["seconds"] = round(time.perf_counter() - started, 1)
    print(json.dumps(report))
    return report


if __name__ == "__main__":
    main()
