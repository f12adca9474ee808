"""sandgym/PythonBasics-v0: the task set, its fixed splits, every task checked in the sandbox."""

from __future__ import annotations

import json
import re
import runpy
from collections import Counter
from pathlib import Path

import gymnasium
import pytest

from sandgym.envs.code import score_completions
from sandgym.envs.errors import TaskSetError
from sandgym.envs.tasks import CodeTask, load_tasks, select_split, task_from_dict

ENV_ID = "sandgym/PythonBasics-v0"
ROOT = Path(__file__).resolve().parents[2]
LEVELS = ("trivial", "easy", "moderate")


def test_the_set_is_large_and_every_task_is_complete():
    tasks = load_tasks("builtin:basics")
    assert len(tasks) >= 200
    for task in tasks:
        assert isinstance(task, CodeTask) and task.id.startswith("basics/")
        assert task.split in ("train", "test")
        assert task.metadata["difficulty"] in LEVELS
        assert len(task.hidden_tests) >= 4 and task.public_tests and task.reference
        assert task.signature in task.prompt and '"""' in task.prompt and ">>>" in task.prompt
        assert task.code_prefix.startswith(task.signature)


def test_the_file_is_what_the_build_script_writes():
    # The split is fixed in the file; the script's rule reproduces it (no drift, no RNG).
    built = runpy.run_path(str(ROOT / "scripts/build_basics_tasks.py"))["records"]()
    path = ROOT / "sandgym/envs/tasks/builtin_basics.jsonl"
    on_disk = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert on_disk == built


def test_splits_are_fixed_disjoint_and_share_the_difficulty_mix():
    tasks = load_tasks("builtin:basics")
    train, test = load_tasks("builtin:basics", split="train"), select_split(tasks, "test")
    assert len(test) >= 60 and len(train) > len(test)
    assert {t.id for t in train}.isdisjoint({t.id for t in test})
    assert len(train) + len(test) == len(tasks)
    mix = {name: Counter(t.metadata["difficulty"] for t in part)
           for name, part in (("train", train), ("test", test))}
    for level in LEVELS:
        shares = [mix[name][level] / len(part) for name, part in (("train", train),
                                                                  ("test", test))]
        assert mix["test"][level] >= 15 and abs(shares[0] - shares[1]) < 0.05, (level, mix)
    tags = {name: {t.metadata["tags"][0] for t in part}
            for name, part in (("train", train), ("test", test))}
    assert tags["train"] == tags["test"]


def test_env_kwarg_selects_the_split():
    sizes = {}
    for split in ("train", "test", "all"):
        env = gymnasium.make(ENV_ID, split=split)
        try:
            ids = env.unwrapped.task_ids
            if split != "all":
                assert {env.unwrapped.get_task(i).split for i in ids} == {split}
            sizes[split] = len(ids)
        finally:
            env.close()
    assert sizes["train"] + sizes["test"] == sizes["all"] == len(load_tasks("builtin:basics"))
    env = gymnasium.make(ENV_ID)
    assert len(env.unwrapped.task_ids) == sizes["all"]
    env.close()


def test_unknown_split_names_the_splits_there_are():
    with pytest.raises(TaskSetError, match=re.escape("its splits are ['test', 'train']")):
        gymnasium.make(ENV_ID, split="dev")
    with pytest.raises(TaskSetError, match=re.escape("its tasks have no split field")):
        load_tasks("builtin:python", split="test")


def test_split_field_is_validated():
    good = {"id": "t", "prompt": "p", "entry_point": "f", "hidden_tests": ["assert 1"]}
    assert task_from_dict({**good, "split": "test"}).split == "test"
    assert task_from_dict(good).split is None
    for bad in ("", "all", 3):
        with pytest.raises(TaskSetError, match="split must be a non-empty string"):
            task_from_dict({**good, "split": bad})


def _stub(task: CodeTask) -> str:
    return f"```python\ndef {task.entry_point}(*args, **kwargs):\n    return None\n```\n"


def test_references_pass_and_stubs_fail_locally():
    # A fast guard on the file; the sandboxed check below is the real one.
    for task in load_tasks("builtin:basics"):
        namespace: dict = {}
        exec(task.reference, namespace)  # noqa: S102 - our own reference code
        for test in task.hidden_tests:
            exec(test, {"candidate": namespace[task.entry_point]})  # noqa: S102
        failed = 0
        for test in task.hidden_tests:
            try:
                exec(test, {"candidate": lambda *a, **k: None})  # noqa: S102
            except (AssertionError, TypeError):
                failed += 1
        assert failed, task.id


def test_every_task_in_the_sandbox_reference_passes_and_a_stub_fails(pool):
    env = gymnasium.make(ENV_ID)
    try:
        ids = env.unwrapped.task_ids
        references = [env.unwrapped.reference_answer(i) for i in ids]
        stubs = [_stub(env.unwrapped.get_task(i)) for i in ids]
    finally:
        env.close()
    results = score_completions(ENV_ID, ids + ids, references + stubs, pool=pool)
    by_ref, by_stub = results[:len(ids)], results[len(ids):]
    assert [r.task_id for r in by_ref if r.status != "pass"] == []
    # A stub fails by a wrong value, or by an error when a test does arithmetic on None.
    assert [(r.task_id, r.status) for r in by_stub if r.status not in ("fail", "error")] == []


def test_a_body_only_reply_continues_the_signature(pool):
    # Small models often answer with the body alone; the task's code_prefix makes it count.
    results = score_completions(ENV_ID, ["basics/add", "basics/add"],
                                ["```python\n    return a + b\n```", "    return a - b"],
                                pool=pool)
    assert [r.status for r in results] == ["pass", "fail"]
