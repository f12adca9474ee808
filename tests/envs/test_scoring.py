"""Batch scoring and the verdict's only source: the judge's nonce-carrying record."""

from __future__ import annotations

import json
import re

import pytest

from sandgym.envs.code import score_completions
from sandgym.envs.code.grading import parse_record
from sandgym.envs.errors import EnvError
from sandgym.envs.tasks import load_tasks
from sandgym.sandbox import ExecResult, SandboxPool

NONCE = "n" * 32


def record(**overrides):
    base = {"judge": "sandgym", "version": 1, "nonce": NONCE,
            "load": {"status": "ok", "error": None},
            "hidden": {"total": 2, "passed": 2, "outcomes": ["pass", "pass"],
                       "errors": [None, None]}}
    base.update(overrides)
    return json.dumps(base)


def result(stdout="", stderr="", status="ok"):
    return ExecResult(status, 0, stdout, stderr, False, 0.01)


def test_a_well_formed_record_with_the_nonce_passes():
    assert parse_record(result(record()), NONCE).status == "pass"


@pytest.mark.parametrize("stdout", [
    "",                                                    # no record at all
    record(nonce="guess"),                                 # forged without the nonce
    record() + "\n" + record(),                            # more than one record
    record(hidden={"total": 2, "passed": 2, "outcomes": ["pass"], "errors": [None]}),
    record(hidden={"total": 0, "passed": 0, "outcomes": [], "errors": []}),
    record(load={"status": "runtime_error", "error": "X"}),
    "not json",
])
def test_anything_but_a_complete_passing_record_is_no_pass(stdout):
    grade = parse_record(result(stdout), NONCE)
    assert grade.status != "pass" and grade.status != "sandbox_error"


def test_exit_code_and_stderr_never_count():
    assert parse_record(result("", stderr=record()), NONCE).status != "pass"
    assert parse_record(ExecResult("ok", 0, "", "", False, 0.0), NONCE).status != "pass"


def test_infrastructure_failure_is_a_sandbox_error_with_no_reward():
    grade = parse_record(ExecResult.infrastructure_failure("engine gone"), NONCE)
    assert grade.status == "sandbox_error" and grade.sandbox_error


def test_score_completions_grades_concurrently_in_order(pool):
    tasks = load_tasks("humaneval")[:6]
    replies = [t.reference for t in tasks[:3]] + ["    return (\n"] * 3
    results = score_completions("sandgym/HumanEval-v0", [t.id for t in tasks], replies,
                                pool=pool, max_concurrency=2)
    assert [r.status for r in results] == ["pass"] * 3 + ["error"] * 3
    assert [r.reward for r in results] == [1.0] * 3 + [0.0] * 3
    assert [r.task_id for r in results] == [t.id for t in tasks]
    assert results[3].verdict["load"] == "syntax_error"
    graded = score_completions("sandgym/PythonTests-v0", ["builtin/add"],
                               ["def nothing():\n    pass\n"], pool=pool, reward_mode="graded")
    assert graded[0].reward == -0.6 and graded[0].verdict["load_error"] == "MissingEntryPoint"


def test_score_completions_returns_none_on_sandbox_errors():
    dead = SandboxPool(size=1, prewarm=False)
    dead.close()
    out = score_completions("sandgym/PythonTests-v0", ["builtin/add"], ["def add(a, b): ..."],
                            pool=dead)
    assert out[0].reward is None and out[0].status == "sandbox_error"


def test_score_completions_errors_say_what_to_fix(pool):
    with pytest.raises(ValueError, match=re.escape("got 1 task ids but 2 completions")):
        score_completions("sandgym/PythonTests-v0", ["builtin/add"], ["a", "b"], pool=pool)
    with pytest.raises(EnvError, match=re.escape("does not score completions in batches")):
        score_completions("sandgym/Shell-v0", ["shell/create_file"], ["touch x"], pool=pool)
    with pytest.raises(EnvError, match=re.escape("has no task 'nope'")):
        score_completions("sandgym/PythonTests-v0", ["nope"], ["x"], pool=pool)
