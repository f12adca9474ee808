"""`execution_reward`: sandbox verdicts as TRL rewards (real Docker, no model)."""

from __future__ import annotations

import pickle
import re

import pytest

from sandgym.envs.code import score_completions
from sandgym.train.rewards import ExecutionReward, completion_text, execution_reward
from tests.train.conftest import assert_removed, own_containers

ENV = "sandgym/PythonTests-v0"
GOOD = "```python\ndef add(a: int, b: int) -> int:\n    return a + b\n```"
WRONG = "def add(a, b):\n    return a - b\n"
BROKEN = "def add(a, b) return"
LOOP = "def add(a, b):\n    while True:\n        pass\n"


def conversational(text: str) -> list[dict[str, str]]:
    return [{"role": "assistant", "content": text}]


def test_rewards_are_the_sandbox_verdicts_and_the_mix_is_logged(pool):
    reward = execution_reward(ENV, pool=pool, reward_mode="graded")
    assert reward.__name__ == "execution_reward"
    metrics: dict[str, float] = {}
    extra: dict[str, list] = {}
    texts = [GOOD, WRONG, BROKEN, "def add(a, b):\n    raise ValueError()\n"]
    rewards = reward(prompts=[None] * 4, completions=[conversational(t) for t in texts],
                     task_id=["builtin/add"] * 4, log_metric=metrics.__setitem__,
                     log_extra=extra.__setitem__)
    # a - b fails its tests cleanly, but passes no more of them than handing back an
    # argument does (add(x, 0)): graded mode scores that as a runtime error.
    assert rewards == [1.0, -0.6, -1.0, -0.6]
    expected = score_completions(ENV, ["builtin/add"] * 4, texts, pool=pool,
                                 reward_mode="graded")
    assert rewards == [r.reward for r in expected]
    assert metrics["verdict/pass"] == 0.25
    assert metrics["verdict/fail"] == 0.25
    assert metrics["verdict/error"] == 0.5
    assert metrics["verdict/timeout"] == 0.0
    assert metrics["verdict/sandbox_error"] == 0.0
    assert metrics["sandbox/grading_s"] > 0
    assert extra["verdict"] == ["pass", "fail", "error", "error"]
    assert reward.history[-1].completions == texts
    assert reward.grading_s_total == pytest.approx(metrics["sandbox/grading_s"])


def test_timeouts_are_counted_and_plain_strings_are_accepted(pool):
    reward = ExecutionReward(ENV, pool=pool)
    metrics: dict[str, float] = {}
    rewards = reward(completions=[LOOP, GOOD], task_id=["builtin/add", "builtin/add"],
                     log_metric=metrics.__setitem__)
    assert rewards == [0.0, 1.0]
    assert metrics["verdict/timeout"] == 0.5


def test_a_sandbox_error_is_none_not_a_wrong_answer():
    from sandgym.sandbox import SandboxPool

    dead = SandboxPool(size=1, prewarm=False)
    dead.close()
    metrics: dict[str, float] = {}
    reward = execution_reward(ENV, pool=dead)
    assert reward(completions=[GOOD], task_id=["builtin/add"],
                  log_metric=metrics.__setitem__) == [None]
    assert metrics["verdict/sandbox_error"] == 1.0


def test_the_task_column_is_required():
    reward = execution_reward(ENV)
    message = ("execution_reward needs the dataset column 'task_id' (got columns ['task']); "
               "build the dataset with sandgym.train.prompts_dataset('sandgym/PythonTests-v0')")
    with pytest.raises(ValueError, match=re.escape(message)):
        reward(completions=[GOOD], task=["builtin/add"])


def test_unknown_env_or_mode_fails_early():
    from sandgym.envs.errors import EnvError

    with pytest.raises(EnvError, match="does not score completions in batches"):
        execution_reward("sandgym/Shell-v0")
    with pytest.raises(EnvError, match="unknown reward_mode"):
        execution_reward(ENV, reward_mode="bonus")


def test_it_pickles_and_the_copy_grades_in_a_pool_of_its_own(pool):
    before = own_containers()
    reward = execution_reward(ENV, pool=pool)
    reward(completions=[GOOD], task_id=["builtin/add"])
    copy = pickle.loads(pickle.dumps(reward))
    assert copy.history == [] and copy._external_pool is None
    assert copy(completions=[GOOD, WRONG], task_id=["builtin/add"] * 2) == [1.0, 0.0]
    assert copy._pool is not None and copy._pool is not pool
    copy.close()
    copy.close()
    assert_removed(before)


def test_completion_text_reads_every_trl_shape():
    assert completion_text("x") == "x"
    assert completion_text(conversational("y")) == "y"
    assert completion_text([{"role": "assistant", "content": [{"type": "text", "text": "z"}]}]) \
        == "z"
