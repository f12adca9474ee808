"""`prompts_dataset`: the prompt + task_id rows GRPO needs, from any registered env."""

from __future__ import annotations

import re

import gymnasium as gym
import pytest

from sandgym.envs.errors import UnknownTaskError
from sandgym.train.datasets import prompts_dataset


def test_python_tasks_become_conversational_prompts():
    env = gym.make("sandgym/PythonTests-v0")
    tasks, system = env.unwrapped.tasks, env.unwrapped.system_prompt
    env.close()
    dataset = prompts_dataset("sandgym/PythonTests-v0")
    assert dataset.column_names == ["prompt", "task_id"]
    assert dataset["task_id"] == [t.id for t in tasks]
    row = dataset[0]
    assert row["prompt"] == [{"role": "system", "content": system},
                             {"role": "user", "content": tasks[0].prompt}]


def test_selection_repeat_and_system_prompt():
    dataset = prompts_dataset("sandgym/Shell-v0", task_ids=["shell/count_lines",
                                                            "shell/create_file"],
                              repeat=2, system_prompt="")
    assert dataset["task_id"] == ["shell/count_lines", "shell/create_file"] * 2
    assert [m["role"] for m in dataset[0]["prompt"]] == ["user"]
    assert len(prompts_dataset("sandgym/HumanEval-v0", limit=3)) == 3
    custom = prompts_dataset("sandgym/PythonRepair-v0", limit=1, system_prompt="Use tools.")
    assert custom[0]["prompt"][0] == {"role": "system", "content": "Use tools."}


def test_unknown_task_suggests_close_ids():
    with pytest.raises(UnknownTaskError, match=re.escape("did you mean ['builtin/add'")):
        prompts_dataset("sandgym/PythonTests-v0", task_ids=["builtin/ad"])
    with pytest.raises(ValueError, match="repeat must be >= 1"):
        prompts_dataset("sandgym/PythonTests-v0", repeat=0)
