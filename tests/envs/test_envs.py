"""The code family's envs on the real engine: API, rewards, feedback, shell state."""

from __future__ import annotations

import math
import re

import gymnasium as gym
import pytest
from gymnasium.utils.env_checker import check_env

from sandgym.envs.code import GRADED_VALUES
from sandgym.envs.errors import EnvError, EpisodeOverError, UnknownTaskError
from sandgym.envs.tasks import ShellTask
from sandgym.sandbox import SandboxPool

SHIPPED = ["sandgym/HumanEval-v0", "sandgym/PythonTests-v0", "sandgym/PythonRepair-v0",
           "sandgym/Shell-v0"]


@pytest.mark.parametrize("env_id", SHIPPED)
def test_every_shipped_env_passes_gymnasiums_checker(env_id, pool):
    env = gym.make(env_id, pool=pool)
    try:
        check_env(env.unwrapped)
        assert env.unwrapped.system_prompt
    finally:
        env.close()


def test_seeded_reset_picks_the_same_task_and_options_pick_one(pool):
    env = gym.make("sandgym/HumanEval-v0", pool=pool)
    ids = [env.reset(seed=7)[1]["task_id"] for _ in range(2)]
    assert ids[0] == ids[1]
    prompt, info = env.reset(options={"task_id": "HumanEval/3"})
    assert info["task_id"] == "HumanEval/3" and "def below_zero" in prompt
    with pytest.raises(UnknownTaskError, match=re.escape("no task 'HumanEval/3x' in this env's "
                                                         "task set; did you mean")):
        env.reset(options={"task_id": "HumanEval/3x"})
    env.close()
    env.close()  # twice is harmless
    with pytest.raises(EnvError, match=re.escape("the environment is closed")):
        env.unwrapped.reset()


def test_humaneval_reference_passes_and_a_wrong_answer_fails(pool):
    env = gym.make("sandgym/HumanEval-v0", pool=pool)
    env.reset(options={"task_id": "HumanEval/0"})
    obs, reward, terminated, truncated, info = env.step(
        env.unwrapped.reference_answer("HumanEval/0"))
    assert (reward, terminated, truncated) == (1.0, True, False)
    assert info["verdict"]["status"] == "pass" and info["sandbox_error"] is False
    assert info["reward_components"] == {"mode": "binary", "outcome": "pass", "passed": 1,
                                         "total": 1, "value": 1.0}
    with pytest.raises(EpisodeOverError, match=re.escape("call reset() first")):
        env.step("x")
    env.reset(options={"task_id": "HumanEval/0"})
    wrong = "```python\ndef has_close_elements(numbers, threshold):\n    return False\n```"
    _, reward, terminated, _, info = env.step(wrong)
    assert (reward, terminated, info["verdict"]["status"]) == (0.0, True, "fail")
    env.close()


def test_body_only_completion_continues_the_prompt(pool):
    env = gym.make("sandgym/HumanEval-v0", pool=pool)
    env.reset(options={"task_id": "HumanEval/2"})
    _, reward, *_ = env.step("    return number % 1.0\n")
    assert reward == 1.0
    env.close()


@pytest.mark.parametrize(("answer", "outcome"), [
    ("def add(a, b):\n    return (a +\n", "syntax_error"),
    ("def add(a, b):\n    return undefined_name\n", "runtime_error"),
    ("def add(a, b):\n    while True:\n        pass\n", "timeout"),
    # 3 of 4 hidden tests, more than a trivial answer passes (1: e.g. `return a`)
    ("def add(a, b):\n    return 0 if a == 7 else a + b\n", "failing_tests"),
    ("def add(a, b):\n    return a + b\n", "pass"),
])
def test_graded_rewards_order_syntax_runtime_failing_pass(answer, outcome, pool, add_task):
    env = gym.make("sandgym/PythonTests-v0", pool=pool, tasks=[add_task], reward_mode="graded",
                   timeout_s=2.0)
    env.reset()
    _, reward, terminated, truncated, info = env.step(answer)
    assert info["verdict"]["outcome"] == outcome
    assert reward == GRADED_VALUES[outcome] and terminated and not truncated
    env.close()


def test_graded_values_are_ordered():
    v = GRADED_VALUES
    assert v["syntax_error"] < v["runtime_error"] < v["failing_tests"] < v["pass"]


def test_fraction_mode_counts_hidden_tests(pool, add_task):
    env = gym.make("sandgym/PythonTests-v0", pool=pool, tasks=[add_task],
                   reward_mode="fraction")
    env.reset()
    _, reward, _, _, info = env.step("def add(a, b):\n    return 0 if a == 7 else a + b\n")
    # 3 of 4 pass; a trivial answer passes 1 (`return a` or `return 10` on add(10, 0)),
    # so the credit is (3 - 1) / (4 - 1).
    assert info["verdict"]["trivial_passed"] == 1
    assert reward == pytest.approx(2 / 3)
    assert info["verdict"]["tests"] == ["pass", "pass", "pass", "fail"]
    env.close()


def test_unknown_reward_mode_names_the_valid_ones():
    with pytest.raises(EnvError, match=re.escape("unknown reward_mode 'bogus'; choose one of "
                                                 "['binary', 'fraction', 'graded']")):
        gym.make("sandgym/PythonTests-v0", reward_mode="bogus")


@pytest.mark.filterwarnings("ignore:.*The reward is a NaN value")  # documented
def test_sandbox_error_is_nan_truncated_and_flagged_never_a_failing_reward(add_task):
    dead = SandboxPool(size=1, prewarm=False)
    dead.close()
    env = gym.make("sandgym/PythonTests-v0", pool=dead, tasks=[add_task])
    env.reset()
    _, reward, terminated, truncated, info = env.step(add_task.reference)
    assert math.isnan(reward) and truncated and not terminated
    assert info["sandbox_error"] is True and info["reward"] is None
    assert info["verdict"]["status"] == "sandbox_error"
    env.close()


def test_repair_feeds_back_public_failures_then_terminates_on_pass(pool, add_task):
    env = gym.make("sandgym/PythonRepair-v0", pool=pool, tasks=[add_task], turn_cost=0.1)
    env.reset()
    obs, reward, terminated, truncated, info = env.step("def add(a, b):\n    return a - b\n")
    assert not terminated and not truncated and reward == pytest.approx(-0.1)
    assert "0/1 public tests passed" in obs and "candidate(1, 2) returned -1" in obs
    assert "assert candidate(1, 2) == 3" in obs
    assert "candidate(2, 3)" not in obs  # hidden tests never reach the model
    obs, reward, terminated, truncated, info = env.step(add_task.reference)
    assert terminated and not truncated and reward == pytest.approx(0.9)
    assert info["reward_components"]["hidden_reward"] == 1.0
    env.close()


def test_repair_truncates_after_max_turns_and_shows_load_errors(pool, add_task):
    env = gym.make("sandgym/PythonRepair-v0", pool=pool, tasks=[add_task], max_turns=2)
    env.reset()
    obs, reward, terminated, truncated, _ = env.step("def add(a, b):\n    return (\n")
    assert "did not load (syntax_error)" in obs and "SyntaxError" in obs
    assert (reward, terminated, truncated) == (0.0, False, False)
    obs, reward, terminated, truncated, _ = env.step("def add(a, b):\n    raise ValueError('no')\n")
    assert (reward, terminated, truncated) == (0.0, False, True)
    assert "ValueError: no" in obs and "No attempts left" in obs
    env.close()


def test_shell_state_persists_within_an_episode_and_submit_grades(pool):
    env = gym.make("sandgym/Shell-v0", pool=pool)
    env.reset(options={"task_id": "shell/count_lines"})
    obs, *_ = env.step("mkdir sub && cd sub && echo hi > note.txt")
    obs, reward, terminated, truncated, info = env.step("pwd; cat note.txt")
    assert obs == "/work/sub\nhi\n" and (reward, terminated, truncated) == (0.0, False, False)
    env.step("cd /work && wc -l < data.txt")
    obs, reward, terminated, truncated, info = env.step("submit")
    assert (reward, terminated, truncated) == (1.0, True, False)
    assert info["verdict"]["tests"] == ["pass", "pass"]
    env.reset(options={"task_id": "shell/count_lines"})  # a fresh work dir again
    obs, *_ = env.step("ls")
    assert obs == "data.txt\n"
    obs, reward, *_ = env.step("echo 16\nsubmit")
    assert reward == 0.0 and "1/2 checks passed" in obs
    env.close()


def test_shell_truncation_grades_the_final_state(pool):
    env = gym.make("sandgym/Shell-v0", pool=pool, max_turns=2)
    env.reset(options={"task_id": "shell/create_file"})
    env.step("echo 'Hello, sandbox!' > hello.txt")
    _, reward, terminated, truncated, info = env.step("true")
    assert (reward, terminated, truncated) == (1.0, False, True)
    assert info["verdict"]["submitted"] is False
    env.close()


def test_shell_reference_answers_pass(pool):
    env = gym.make("sandgym/Shell-v0", pool=pool)
    unwrapped = env.unwrapped
    for task_id in unwrapped.task_ids:
        env.reset(options={"task_id": task_id})
        _, reward, terminated, _, info = env.step(unwrapped.reference_answer(task_id))
        assert (reward, terminated) == (1.0, True), (task_id, info["verdict"])
    env.close()


# shell/make_script is graded on what run.sh does when run, never on its text.
MAKE_SCRIPT_CASES = {
    "prints nothing and exits 1, with '# echo ok' in a comment":
        ("printf '#!/bin/sh\\n# echo ok\\nexit 1\\n' > run.sh && chmod +x run.sh", 0.0),
    "prints ok with printf": (
        "printf '#!/bin/sh\\nprintf \"ok\\\\n\"\\n' > run.sh && chmod +x run.sh", 1.0),
    "prints ok but exits 3": ("printf '#!/bin/sh\\necho ok\\nexit 3\\n' > run.sh && "
                              "chmod +x run.sh", 0.0),
    "correct text, not executable": ("printf '#!/bin/sh\\necho ok\\n' > run.sh", 0.0),
    "prints ok only when the agent runs it": (
        "printf '#!/bin/sh\\necho ok\\n' > run.sh && chmod +x run.sh && ./run.sh && "
        "rm run.sh && printf '#!/bin/sh\\n# echo ok\\n' > run.sh && chmod +x run.sh", 0.0),
}


@pytest.mark.parametrize("name", list(MAKE_SCRIPT_CASES))
def test_shell_make_script_is_graded_on_what_the_script_does(name, pool):
    command, expected = MAKE_SCRIPT_CASES[name]
    env = gym.make("sandgym/Shell-v0", pool=pool)
    try:
        env.reset(options={"task_id": "shell/make_script"})
        env.step(command)
        _, reward, terminated, _, info = env.step("submit")
    finally:
        env.close()
    assert (reward, terminated) == (expected, True), info["verdict"]
    assert not info.get("sandbox_error")


def _check_command_task(check_command: str, checks: tuple[str, ...]) -> ShellTask:
    return ShellTask(id="t/check", prompt="p", hidden_tests=checks,
                     check_command=check_command)


def test_shell_check_command_runs_as_the_agent_and_its_output_reaches_the_checks(pool):
    task = _check_command_task("id -u; echo err >&2; exit 7",
                               ("assert CHECK_EXIT == 7",
                                "assert CHECK_OUTPUT == read('agent_uid.txt')",
                                "assert OUTPUT == 'agent said this\\n'"))
    env = gym.make("sandgym/Shell-v0", pool=pool, tasks=[task])
    try:
        env.reset(options={"task_id": task.id})
        env.step("id -u > agent_uid.txt")
        _, reward, terminated, _, info = env.step("echo 'agent said this'\nsubmit")
    finally:
        env.close()
    assert (reward, terminated) == (1.0, True), info["verdict"]


def test_shell_check_command_that_hangs_fails_its_checks_without_a_sandbox_error(pool):
    task = _check_command_task("echo partial; sleep 600",
                               ("assert CHECK_EXIT is None", "assert CHECK_EXIT == 0"))
    env = gym.make("sandgym/Shell-v0", pool=pool, tasks=[task], timeout_s=1.0,
                   reward_mode="fraction")
    try:
        env.reset(options={"task_id": task.id})
        _, reward, terminated, _, info = env.step("submit")
    finally:
        env.close()
    assert info["verdict"]["tests"] == ["pass", "fail"]
    assert not info.get("sandbox_error")
    # The untouched start state passes the first check too (its check command hangs as
    # well): fraction pays only beyond that.
    assert info["reward_components"]["trivial_passed"] == 1
    assert (reward, terminated) == (0.0, True), info["verdict"]
