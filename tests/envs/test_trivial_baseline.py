"""Partial credit is paid only beyond what a trivial answer earns (fraction and graded).

A trivial answer is a constant or an argument handed back; the judge runs the hidden
tests against each after grading the real answer. Hidden tests that are not balanced
otherwise pay for guessing: `return False` passed 4 of 5 tests of a PythonBasics task.
"""

from __future__ import annotations

import secrets

import gymnasium as gym
import pytest

from sandgym.envs.code import grading
from sandgym.envs.code.grading import Grade, grade_answer, read_trivial
from sandgym.envs.code.rewards import GRADED_VALUES, reward_of
from sandgym.envs.code.scoring import score_completions
from sandgym.envs.tasks import CodeTask

BASICS = "sandgym/PythonBasics-v0"


LOOPING = CodeTask(
    id="test/looping", prompt="Write pick(n) returning [2, 5, 7][n].", entry_point="pick",
    public_tests=(),
    # Trusted test code that spins until it sees 2: with most constant answers it never
    # ends, so the baseline runs out of time.
    hidden_tests=("x = candidate(0)\nwhile x != 2:\n    pass", "assert candidate(1) == 5",
                  "assert candidate(2) == 7"),
    reference="def pick(n):\n    return [2, 5, 7][n]\n",
)


RANKED = CodeTask(
    id="test/ranked", prompt="Write yes_no(xs).", entry_point="yes_no", public_tests=(),
    # Forty literals of input before the expected values: the compared-against ones are
    # tried first, so the guess is caught whatever the inputs hold.
    hidden_tests=("assert candidate(list(range(0))) == 'Yes' or candidate("
                  + repr([f"w{i}" for i in range(40)]) + ") == 'Yes'",
                  "assert candidate([1]) == 'No'", "assert candidate([2]) == 'No'",
                  "assert candidate([3]) == 'No'"),
    reference="def yes_no(xs):\n    return 'Yes' if not xs or len(xs) == 40 else 'No'\n",
)


NEGATIVE = CodeTask(
    id="test/negative", prompt="Write f(n) returning n - 8.", entry_point="f",
    public_tests=(),
    hidden_tests=("assert candidate(1) == -7", "assert candidate(1) + 0 == -7",
                  "assert candidate(9) == 1"),
    reference="def f(n):\n    return n - 8\n",
)


BROKEN_SETUP = CodeTask(
    id="test/broken-setup", prompt="Write one().", entry_point="one", public_tests=(),
    hidden_tests=("assert candidate() == 1",), test_setup="raise RuntimeError('broken')",
    reference="def one():\n    return 1\n",
)


TOLERANT = CodeTask(
    id="test/tolerant", prompt="Write mean(xs).", entry_point="mean", public_tests=(),
    hidden_tests=("assert abs(candidate([3, 4]) - 3.5) < 1e-9",
                  "assert abs(candidate([1, 6]) - 3.5) < 1e-9",
                  "assert abs(candidate([2, 5]) - 3.5) < 1e-9",
                  "assert abs(candidate([1, 2]) - 1.5) < 1e-9"),
    reference="def mean(xs):\n    return sum(xs) / len(xs)\n",
)


def _step(pool, task_id: str, reply: str, mode: str, env_id: str = BASICS, **kwargs):
    if env_id == BASICS:
        kwargs["split"] = "all"
    env = gym.make(env_id, pool=pool, reward_mode=mode, **kwargs)
    try:
        env.reset(options={"task_id": task_id})
        _, reward, terminated, _, info = env.step(reply)
    finally:
        env.close()
    assert terminated and not info["sandbox_error"], info
    return reward, info


@pytest.mark.parametrize(("task_id", "guess", "trivial"), [
    ("basics/is_empty_string", "def is_empty_string(s):\n    return False\n", 4),
    ("basics/max_of_two", "def max_of_two(a, b):\n    return a\n", 4),
])
def test_a_guess_that_passes_most_hidden_tests_earns_no_partial_credit(pool, task_id, guess,
                                                                       trivial):
    reward, info = _step(pool, task_id, guess, "fraction")
    verdict = info["verdict"]
    assert verdict["outcome"] == "failing_tests"
    assert verdict["passed"] == trivial == verdict["trivial_passed"]
    assert verdict["total"] == 5
    assert reward == 0.0
    graded, info = _step(pool, task_id, guess, "graded")
    assert graded == GRADED_VALUES["runtime_error"]
    assert info["reward_components"]["no_better_than_trivial"] is True


def test_the_reference_still_earns_full_credit_and_binary_skips_the_baseline(pool):
    env = gym.make(BASICS, pool=pool, split="all")
    reference = env.unwrapped.reference_answer("basics/max_of_two")
    env.close()
    for mode in ("fraction", "graded", "binary"):
        reward, info = _step(pool, "basics/max_of_two", reference, mode)
        assert reward == 1.0
        assert ("trivial_passed" in info["verdict"]) == (mode != "binary")


def test_an_empty_reply_scores_like_a_crash_in_graded_mode(pool):
    # The prompt's stub (signature and docstring) returns None: no error, every test
    # fails. CodeRL's classes paid that -0.3, above an honest attempt that crashed.
    empty, info = _step(pool, "basics/max_of_two", "", "graded")
    assert info["verdict"]["outcome"] == "failing_tests"
    crash, _ = _step(pool, "basics/max_of_two",
                     "def max_of_two(a, b):\n    return a if a > b else b[0]\n", "graded")
    assert empty == crash == GRADED_VALUES["runtime_error"]


def test_an_honest_partial_answer_beats_the_guess(pool, add_task):
    # add(7, 7) is wrong, the other three right; a trivial answer passes 1 of the 4.
    partial = "def add(a, b):\n    return 0 if a == 7 else a + b\n"
    reward, info = _step(pool, add_task.id, partial, "fraction", env_id="sandgym/PythonTests-v0",
                         tasks=[add_task])
    verdict = info["verdict"]
    assert (verdict["trivial_passed"], verdict["passed"], verdict["total"]) == (1, 3, 4)
    assert reward == pytest.approx((3 - 1) / (4 - 1))
    graded, _ = _step(pool, add_task.id, partial, "graded", env_id="sandgym/PythonTests-v0",
                      tasks=[add_task])
    assert graded == GRADED_VALUES["failing_tests"]
    # On max_of_two a guess already passes 4 of 5: only a full pass earns anything.
    _, info = _step(pool, "basics/max_of_two",
                    "def max_of_two(a, b):\n    return a if a > b else (b if b > a else 0)\n",
                    "fraction")
    assert info["reward"] == 0.0 and info["verdict"]["passed"] == 4


def test_batch_scoring_and_the_trl_reward_path_use_the_baseline(pool):
    results = score_completions(BASICS, ["basics/is_empty_string"] * 2,
                                ["def is_empty_string(s):\n    return False\n",
                                 "def is_empty_string(s):\n    return s == ''\n"],
                                pool=pool, reward_mode="fraction", split="all")
    assert [r.reward for r in results] == [0.0, 1.0]
    assert results[0].components["trivial_passed"] == 4


def test_a_baseline_out_of_time_pays_no_partial_credit_and_keeps_the_verdict(pool,
                                                                            monkeypatch):
    monkeypatch.setattr(grading, "TRIVIAL_BUDGET_S", 2.0)  # the real one is 30 s
    env = gym.make("sandgym/PythonTests-v0", pool=pool, tasks=[LOOPING],
                   reward_mode="fraction", timeout_s=5.0)
    try:
        env.reset()
        _, full, _, _, info = env.step(LOOPING.reference)
        assert full == 1.0 and info["verdict"]["outcome"] == "pass"
        env.reset()
        _, partial, _, _, info = env.step("def pick(n):\n    return [2, 5, 0][n]\n")
    finally:
        env.close()
    verdict = info["verdict"]
    assert not info["sandbox_error"]
    assert (verdict["outcome"], verdict["passed"]) == ("failing_tests", 2)
    assert verdict["trivial_passed"] == 3  # not measured in time: counted as all
    assert partial == 0.0


def test_reward_of_with_a_baseline():
    assert reward_of("failing_tests", 4, 5, "fraction", 4)[0] == 0.0
    assert reward_of("failing_tests", 3, 5, "fraction", 4)[0] == 0.0  # never below 0
    assert reward_of("failing_tests", 4, 5, "fraction", 2)[0] == pytest.approx(2 / 3)
    assert reward_of("failing_tests", 4, 5, "fraction", None)[0] == 0.8  # not measured
    assert reward_of("failing_tests", 0, 5, "fraction", 5)[0] == 0.0  # total: no credit
    assert reward_of("pass", 5, 5, "fraction", 5)[0] == 1.0
    assert reward_of("failing_tests", 3, 5, "graded", 2)[0] == GRADED_VALUES["failing_tests"]
    assert reward_of("failing_tests", 2, 5, "graded", 2)[0] == GRADED_VALUES["runtime_error"]
    assert reward_of("syntax_error", 0, 5, "graded", 0)[0] == GRADED_VALUES["syntax_error"]
    assert reward_of("failing_tests", 4, 5, "binary", 0)[0] == 0.0
    assert reward_of("sandbox_error", 0, 0, "fraction", None)[0] is None


@pytest.mark.parametrize(("record", "expected"), [
    ({"trivial": {"passed": 2, "complete": True, "total": 5}}, 2),
    ({"trivial": {"passed": 2, "complete": False, "total": 5}}, 5),  # out of time: none
    ({}, None),  # the judge never got to it: measure again
    ({"trivial": {"passed": 9, "complete": True, "total": 5}}, None),  # malformed
    ({"trivial": {"passed": True, "complete": True, "total": 5}}, None),
    ({"trivial": {"passed": 2, "complete": True, "total": 4}}, None),  # another task's
    ({"trivial": "2"}, None),
])
def test_read_trivial_takes_only_a_well_formed_baseline(record, expected):
    assert read_trivial(record, 5) == expected


def _new_sign_task(task_id: str) -> CodeTask:
    """A task no earlier grading in this process has measured (its tests are unique).

    A guess of 1 passes 2 of its 3 hidden tests."""
    return CodeTask(id=task_id, prompt="Write sign(n).", entry_point="sign", public_tests=(),
                    hidden_tests=("assert candidate(5) == 1", "assert candidate(7) == 1",
                                  f"assert candidate(-3) == -1  # {secrets.token_hex(4)}"),
                    reference="def sign(n):\n    return (n > 0) - (n < 0)\n")


class CountingSandbox:
    """A sandbox that counts judged runs (the real one does the work)."""

    def __init__(self, sandbox) -> None:
        self.sandbox, self.judged = sandbox, 0

    def run_judged(self, *args, **kwargs):
        self.judged += 1
        return self.sandbox.run_judged(*args, **kwargs)


def test_the_baseline_is_measured_once_per_task_and_reused(pool):
    task = _new_sign_task("test/once")
    with pool.sandbox() as sandbox:
        counting = CountingSandbox(sandbox)
        first = grade_answer(counting, task, "def sign(n):\n    return 1\n", timeout_s=5.0,
                             trivial_baseline=True)
        assert counting.judged == 2  # the baseline, then the answer
        again = grade_answer(counting, task, "def sign(n):\n    return 1\n", timeout_s=5.0,
                             trivial_baseline=True)
        assert counting.judged == 3  # the answer only
        plain = grade_answer(counting, task, "def sign(n):\n    return 1\n", timeout_s=5.0)
    assert first.trivial_passed == again.trivial_passed == 2
    assert first.verdict() == again.verdict() and plain.trivial_passed is None
    assert reward_of(first.outcome, first.passed, first.total, "fraction",
                     first.trivial_passed)[0] == 0.0


def test_a_grade_without_a_baseline_says_nothing_about_it():
    assert "trivial_passed" not in Grade("failing_tests", passed=1, total=2).verdict()


def test_shell_pays_no_partial_credit_for_submitting_at_once(pool):
    # shell/count_lines: its untouched start state already passes one of two checks.
    env = gym.make("sandgym/Shell-v0", pool=pool, reward_mode="fraction")
    try:
        env.reset(options={"task_id": "shell/count_lines"})
        _, idle, _, _, info = env.step("submit")
        assert info["verdict"]["passed"] == 1 == info["reward_components"]["trivial_passed"]
        assert idle == 0.0
        env.reset(options={"task_id": "shell/count_lines"})
        _, solved, *_ = env.step(env.unwrapped.reference_answer("shell/count_lines"))
        assert solved == 1.0
    finally:
        env.close()
    graded = gym.make("sandgym/Shell-v0", pool=pool, reward_mode="graded")
    try:
        graded.reset(options={"task_id": "shell/count_lines"})
        assert graded.step("submit")[1] == GRADED_VALUES["runtime_error"]
    finally:
        graded.close()


@pytest.mark.parametrize("mode", ["binary", "fraction"])
def test_a_task_whose_setup_raises_is_a_sandbox_error_not_the_answers(pool, mode):
    env = gym.make("sandgym/PythonTests-v0", pool=pool, tasks=[BROKEN_SETUP], reward_mode=mode)
    try:
        env.reset()
        _, reward, _, truncated, info = env.step(BROKEN_SETUP.reference)
    finally:
        env.close()
    assert info["sandbox_error"] and truncated and info["reward"] is None, info["verdict"]


class FailingOnce(CountingSandbox):
    """The baseline run fails in the infrastructure once; then the sandbox works."""

    def run_judged(self, *args, **kwargs):
        from sandgym.errors import SandboxCrashedError

        self.judged += 1
        if self.judged == 1:
            raise SandboxCrashedError("simulated")
        return self.sandbox.run_judged(*args, **kwargs)


def test_a_baseline_the_infrastructure_lost_is_a_sandbox_error_then_measured_again(pool):
    task = _new_sign_task("test/flaky")
    with pool.sandbox() as sandbox:
        flaky = FailingOnce(sandbox)
        lost = grade_answer(flaky, task, task.reference, timeout_s=5.0, trivial_baseline=True)
        graded = grade_answer(flaky, task, task.reference, timeout_s=5.0,
                              trivial_baseline=True)
    assert lost.sandbox_error and "trivial baseline" in lost.detail
    assert graded.outcome == "pass" and graded.trivial_passed == 2


def test_concurrent_gradings_of_a_new_task_share_one_measurement(pool):
    from concurrent.futures import ThreadPoolExecutor

    task = _new_sign_task("test/shared")
    counters: list[CountingSandbox] = []

    def grade(_: int) -> Grade:
        with pool.sandbox() as sandbox:
            counting = CountingSandbox(sandbox)
            counters.append(counting)
            return grade_answer(counting, task, "def sign(n):\n    return 1\n",
                                timeout_s=5.0, trivial_baseline=True)

    with ThreadPoolExecutor(max_workers=2) as ex:
        grades = list(ex.map(grade, range(2)))
    assert [g.trivial_passed for g in grades] == [2, 2]
    assert sum(c.judged for c in counters) == 3  # one baseline run, two answers


def test_shell_start_state_lost_by_the_infrastructure_is_a_sandbox_error_then_retried(pool):
    from sandgym.errors import SandboxCrashedError

    env = gym.make("sandgym/Shell-v0", pool=pool, reward_mode="fraction")
    shell = env.unwrapped
    real, calls = shell._run_checks, []

    def first_start_state_fails(task, output):
        calls.append(output)
        if len(calls) == 1:
            raise SandboxCrashedError("simulated")
        return real(task, output)

    shell._run_checks = first_start_state_fails
    try:
        env.reset(options={"task_id": "shell/count_lines"})
        _, reward, _, truncated, info = env.step("submit")
        assert info["sandbox_error"] and truncated and info["reward"] is None
        env.reset(options={"task_id": "shell/count_lines"})  # measured again
        _, reward, *_, info = env.step("submit")
        assert info["reward_components"]["trivial_passed"] == 1 and reward == 0.0
    finally:
        env.close()


@pytest.mark.parametrize(("task", "guess", "passes"), [
    # Forty literals of input come before the expected values: the compared-against
    # ones are tried first, so the guess is caught whatever the inputs hold.
    (RANKED, "def yes_no(xs):\n    return 'No'\n", 3),
    # -7 is minus a constant in the tests' syntax tree.
    (NEGATIVE, "def f(n):\n    return -7\n", 2),
    # The expected value sits inside arithmetic on the answer.
    (TOLERANT, "def mean(xs):\n    return 3.5\n", 3),
], ids=["ranked", "negative", "tolerance"])
def test_a_constant_guess_earns_nothing_however_the_tests_write_it(pool, task, guess, passes):
    reward, info = _step(pool, task.id, guess, "fraction", env_id="sandgym/PythonTests-v0",
                         tasks=[task])
    assert info["verdict"]["passed"] == passes == info["verdict"]["trivial_passed"]
    assert reward == 0.0
