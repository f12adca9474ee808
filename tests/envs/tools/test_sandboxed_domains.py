"""SQL and word problems: queries and code run in real sandboxes; state only via tools."""

from __future__ import annotations

import json

import gymnasium as gym
import pytest

from sandgym.envs.check import check_env_id
from sandgym.envs.tools.calls import ToolCall, format_call

SQL = "sandgym/SqlQuery-v0"
WORDS = "sandgym/WordProblems-v0"


def call(name: str, **arguments) -> str:
    return format_call(ToolCall(name, arguments))


@pytest.mark.parametrize("env_id", [SQL, WORDS, "sandgym/Tau2Retail-v0",
                                    "sandgym/Tau2Airline-v0"])
def test_every_tool_env_passes_check_env(env_id, pool):
    report = check_env_id(env_id, pool=pool)
    assert report["ok"], report


@pytest.fixture(scope="module")
def sql(pool):
    env = gym.make(SQL, pool=pool)
    yield env.unwrapped
    env.close()


def test_sql_gold_queries_score_one_and_doing_nothing_zero(sql):
    assert len(sql.task_ids) == 44 and not sql.report.rejected
    for task_id in sql.task_ids:
        sql.reset(options={"task_id": task_id})
        assert sql.step(sql.reference_answer(task_id))[1] == 1.0, task_id
    sql.reset(options={"task_id": sql.task_ids[0]})
    assert sql.step(call("done"))[1] == 0.0


def test_sql_result_sets_are_order_aware_only_when_the_question_asks(sql):
    sql.reset(options={"task_id": "sql/berlin_departments"})  # no ORDER BY: a multiset
    query = "SELECT name FROM departments WHERE city = 'Berlin' ORDER BY name DESC"
    assert sql.step(call("submit_query", query=query))[1] == 1.0
    sql.reset(options={"task_id": "sql/dept_names_sorted"})  # ORDER BY: order matters
    _, reward, _, _, info = sql.step(call("submit_query",
                                          query="SELECT name FROM departments ORDER BY "
                                          "name DESC"))
    assert reward == 0.0 and not info["verdict"]["diff"]["equal"]
    sql.reset(options={"task_id": "sql/berlin_departments"})
    assert sql.step(call("submit_query", query="SELECT name, city FROM departments "
                                              "WHERE city = 'Berlin'"))[1] == 0.0


@pytest.mark.parametrize("query", [
    "DELETE FROM employees", "DROP TABLE employees", "ATTACH DATABASE '/work/x' AS x",
    "PRAGMA writable_schema = ON", "SELECT 1; DELETE FROM employees",
    "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT n FROM r",
    "SELECT load_extension('/tmp/x')",
])
def test_hostile_sql_is_a_tool_error_and_changes_nothing(sql, query):
    sql.reset(options={"task_id": "sql/count_employees"})
    observation, _, terminated, _, info = sql.step(call("execute_sql", query=query))
    assert json.loads(observation)["error"]["type"] == "tool_error" and not terminated
    observation, *_ = sql.step(call("execute_sql", query="SELECT COUNT(*) FROM employees"))
    assert json.loads(observation)["result"]["rows"] == [[30]]


def test_word_problems_python_runs_in_the_sandbox_and_cannot_touch_the_answer(pool):
    env = gym.make(WORDS, pool=pool, timeout_s=3.0)
    words = env.unwrapped
    try:
        assert len(words.task_ids) == 53 and not words.report.rejected
        for task_id in words.task_ids:
            env.reset(options={"task_id": task_id})
            assert env.step(words.reference_answer(task_id))[1] == 1.0, task_id
        env.reset(options={"task_id": "math/apples"})
        for code in ("import os\nprint(os.getuid() != 0, os.path.exists('/work'))",
                     "open('/work/answer', 'w').write('53')\nprint('{\"answer\": 53}')",
                     "import os, signal\nos.kill(-1, signal.SIGKILL)"):
            observation, reward, terminated, _, _ = env.step(call("run_python", code=code))
            assert "result" in json.loads(observation) and not terminated and reward == 0.0
        assert words._ctx.state == {"answer": None}
        observation, *_ = env.step(call("run_python", code="print(17 + 3 * 12)"))
        assert json.loads(observation)["result"].strip() == "53"
        observation, *_ = env.step(call("submit_answer", answer="53"))
        assert json.loads(observation)["error"]["type"] == "bad_arguments"
        _, reward, terminated, _, _ = env.step(call("submit_answer", answer=53.0))
        assert terminated and reward == 1.0
    finally:
        env.close()
