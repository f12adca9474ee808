"""The TRL environment adapter: tools, lifecycle, rewards equal to the env's own."""

from __future__ import annotations

import inspect

import gymnasium as gym
import pytest
from transformers.utils import get_json_schema

from sandgym.envs.code import GRADED_VALUES
from sandgym.train.datasets import prompts_dataset
from sandgym.train.environment import (
    EPISODE_OVER,
    adapter_class,
    environment_factory,
    tool_names,
)
from tests.train.conftest import assert_removed, own_containers

REPAIR = "sandgym/PythonRepair-v0"
SHELL = "sandgym/Shell-v0"
WRONG_ADD = "def add(a, b):\n    return a - b\n"
# Wrong on negative a: 2 of 4 hidden tests, more than a constant passes (graded: -0.3).
PARTIAL_ADD = "def add(a, b):\n    return abs(a) + b\n"


def trl_tool_names(instance: object) -> list[str]:
    """TRL 1.16's own rule (grpo_trainer.py): public functions of the class minus two."""
    return [name for name, _ in inspect.getmembers(type(instance), predicate=inspect.isfunction)
            if name not in ("reset", "get_reward") and not name.startswith("_")]


@pytest.fixture()
def repair_factory(pool):
    factory = environment_factory(REPAIR, pool=pool)
    yield factory
    factory.close()


@pytest.fixture()
def shell_factory(pool):
    factory = environment_factory(SHELL, pool=pool)
    yield factory
    factory.close()


def test_actions_become_documented_tools_and_lifecycle_methods_do_not(repair_factory,
                                                                       shell_factory):
    repair, shell = repair_factory(), shell_factory()
    assert trl_tool_names(repair) == tool_names(adapter_class(REPAIR)) == ["submit_solution"]
    assert trl_tool_names(shell) == tool_names(adapter_class(SHELL)) == ["run_command", "submit"]
    assert adapter_class(REPAIR) is adapter_class("sandgym/HumanEval-v0")  # same tools
    for instance in (repair, shell):
        assert callable(instance.close)  # still a method on instances
        assert "close" not in trl_tool_names(instance)
    schema = get_json_schema(repair.submit_solution)["function"]
    assert schema["name"] == "submit_solution"
    assert schema["parameters"]["properties"]["code"]["type"] == "string"
    assert schema["parameters"]["required"] == ["code"]
    assert "tests" in schema["description"]
    assert get_json_schema(shell.submit)["function"]["parameters"].get("properties", {}) == {}


def test_reset_returns_the_prompt_only_when_the_row_lacks_it(repair_factory):
    env = repair_factory()
    row = prompts_dataset(REPAIR, task_ids=["builtin/add"],
                          system_prompt=repair_factory.system_prompt)[0]
    assert env.reset(**row) is None
    assert env.task_id == "builtin/add"
    observation = env.reset(task_id="builtin/add", prompt=[{"role": "user", "content": ""}])
    assert "def add" in observation


def test_repair_episode_reward_equals_the_env_playing_the_same_actions(repair_factory, pool):
    env = repair_factory()
    env.reset(task_id="builtin/add")
    feedback = env.submit_solution(WRONG_ADD)
    assert not env.done
    assert "assert" in feedback.lower() or "fail" in feedback.lower(), feedback
    reference = gym.make(REPAIR).unwrapped.reference_answer("builtin/add")
    env.submit_solution(reference)
    assert env.done
    assert env.submit_solution(reference) == EPISODE_OVER
    reward = env.get_reward()

    plain = gym.make(REPAIR, pool=pool)
    plain.reset(options={"task_id": "builtin/add"})
    expected = sum(plain.step(action)[1] for action in (WRONG_ADD, reference))
    plain.close()
    assert reward == expected == 1.0
    assert [v["status"] for v in env.verdicts] == ["fail", "pass"]


def test_open_episodes_are_finished_as_the_env_would(repair_factory):
    env = repair_factory()
    env.reset(task_id="builtin/add")
    assert env.get_reward() == 0.0  # no attempt: the env grades an empty answer
    assert env.finished_by_adapter and env.verdicts[-1]["status"] != "pass"

    graded = environment_factory(REPAIR, pool=repair_factory._external_pool,
                                 reward_mode="graded")
    try:
        env = graded()
        env.reset(task_id="builtin/add")
        env.submit_solution(PARTIAL_ADD)  # one failing attempt of three, then the model stops
        assert not env.done
        assert env.get_reward() == -0.3  # the last attempt's hidden-test reward (CodeRL)
        env.reset(task_id="builtin/add")
        reward = env.get_reward()  # no attempt: an empty answer, graded by the env
        assert reward == GRADED_VALUES[env.verdicts[-1]["outcome"]] < 0
        assert [e["reward"] for e in graded.episodes] == [-0.3, reward]
        assert graded.episodes[1]["actions"] == [""]
        assert graded.episodes[1]["finished_by_adapter"]
    finally:
        graded.close()


def test_shell_tools_play_an_episode_and_release_the_sandbox(shell_factory, pool):
    env = shell_factory()
    env.reset(task_id="shell/create_file")
    assert pool.stats()["in_use"] == 1  # the episode holds its sandbox
    output = env.run_command("echo 'Hello, sandbox!' > hello.txt && ls")
    assert "hello.txt" in output
    assert "1/1 checks passed" in env.submit()
    assert env.get_reward() == 1.0
    assert pool.stats()["in_use"] == 0

    env.reset(task_id="shell/create_file")
    assert env.get_reward() == 0.0  # no command, no submit: the state as it is fails
    assert env.finished_by_adapter
    assert pool.stats()["in_use"] == 0


def test_reset_finishes_an_open_episode_and_close_releases_everything(pool):
    before = own_containers()
    factory = environment_factory(SHELL, pool_size=2)
    first, second = factory(), factory()
    first.reset(task_id="shell/create_file")
    first.run_command("touch x")
    first.reset(task_id="shell/count_lines")  # the open episode is graded and released
    second.reset(task_id="shell/create_file")
    assert factory._pool.stats()["in_use"] == 2
    assert factory.grading_s_total > 0
    factory.close()
    factory.close()
    with pytest.raises(RuntimeError, match="closed"):
        factory()
    assert_removed(before)


def test_sandbox_failure_gives_no_reward(repair_factory):
    from sandgym.sandbox import SandboxPool

    dead = SandboxPool(size=1, prewarm=False)
    dead.close()
    factory = environment_factory(REPAIR, pool=dead)
    env = factory()
    env.reset(task_id="builtin/add")
    env.submit_solution(WRONG_ADD)
    assert env.sandbox_error and env.done
    assert env.get_reward() is None
    factory.close()


def test_tool_calling_tokenizer_renders_tools_for_the_default_model(model_path):
    from transformers import AutoTokenizer
    from trl.chat_template_utils import supports_tool_calling

    from sandgym.train.chat_template import tool_calling_tokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_path, local_files_only=True)
    assert not supports_tool_calling(tokenizer)
    tool_tokenizer = tool_calling_tokenizer(tokenizer)
    assert supports_tool_calling(tool_tokenizer)
    assert tool_calling_tokenizer(tool_tokenizer) is tool_tokenizer
    assert tokenizer.chat_template != tool_tokenizer.chat_template  # the original is untouched


def test_a_tool_call_in_the_models_format_reaches_the_tool(model_path, pool):
    """What TRL does with a completion: render the tools, parse the call, call the method."""
    from transformers import AutoTokenizer
    from trl.chat_template_utils import add_response_schema, parse_response

    from sandgym.train.chat_template import tool_calling_tokenizer

    tokenizer = tool_calling_tokenizer(AutoTokenizer.from_pretrained(model_path,
                                                                     local_files_only=True))
    add_response_schema(tokenizer)
    factory = environment_factory(REPAIR, pool=pool)
    env = factory()
    row = prompts_dataset(REPAIR, task_ids=["builtin/add"], system_prompt=factory.system_prompt)[0]
    assert env.reset(**row) is None
    prompt_ids = tokenizer.apply_chat_template(row["prompt"], tools=[env.submit_solution],
                                               add_generation_prompt=True, tokenize=True,
                                               return_dict=True)["input_ids"]
    rendered = tokenizer.decode(prompt_ids)
    assert '"name": "submit_solution"' in rendered and "task's tests" in rendered
    completion = ('<tool_call>\n{"name": "submit_solution", "arguments": {"code": '
                  '"def add(a, b):\\n    return a + b\\n"}}\n</tool_call><|im_end|>')
    ids = tokenizer(completion, add_special_tokens=False)["input_ids"]
    call = parse_response(tokenizer, ids, prefix=prompt_ids)["tool_calls"][0]["function"]
    assert call["name"] == "submit_solution"
    result = getattr(env, call["name"])(**call["arguments"])
    assert "passed" in result
    assert env.get_reward() == 1.0
    factory.close()
