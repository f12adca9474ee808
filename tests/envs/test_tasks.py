"""Task sets: schema validation, loaders, HumanEval and the built-in sets."""

from __future__ import annotations

import gzip
import json
import re

import pytest

from sandgym.envs.errors import TaskSetError
from sandgym.envs.tasks import CodeTask, ShellTask, load_jsonl, load_tasks, task_from_dict

GOOD = {"id": "t1", "prompt": "p", "entry_point": "f", "hidden_tests": ["assert candidate()"]}


def test_humaneval_has_164_tasks_with_check_as_the_hidden_test():
    tasks = load_tasks("humaneval")
    assert len(tasks) == 164
    first = tasks[0]
    assert first.id == "HumanEval/0" and first.entry_point == "has_close_elements"
    assert first.hidden_tests == ("check(candidate)",)
    assert "def check(candidate)" in first.test_setup
    assert first.code_prefix == first.prompt and first.reference.startswith(first.prompt)


def test_builtin_python_set_is_varied_and_complete():
    tasks = load_tasks("builtin:python")
    assert len(tasks) >= 20
    assert {t.metadata["difficulty"] for t in tasks} == {"easy", "medium", "hard"}
    for task in tasks:
        assert isinstance(task, CodeTask)
        assert task.public_tests and len(task.hidden_tests) >= 4 and task.reference


def test_builtin_references_pass_their_own_tests_locally():
    # A fast guard on the task file itself (the sandboxed path is tested elsewhere).
    for task in load_tasks("builtin:python"):
        namespace: dict = {}
        exec(task.reference, namespace)  # noqa: S102 - our own reference code
        for test in task.public_tests + task.hidden_tests:
            exec(test, {"candidate": namespace[task.entry_point]})  # noqa: S102


def test_builtin_shell_set_loads_as_shell_tasks():
    tasks = load_tasks("builtin:shell")
    assert len(tasks) >= 5 and all(isinstance(t, ShellTask) for t in tasks)


def test_jsonl_and_gzip_files_load_by_path(tmp_path):
    path = tmp_path / "tasks.jsonl"
    path.write_text(json.dumps(GOOD) + "\n\n" + json.dumps({**GOOD, "id": "t2"}) + "\n")
    assert [t.id for t in load_tasks(str(path))] == ["t1", "t2"]
    gz = tmp_path / "tasks.jsonl.gz"
    with gzip.open(gz, "wt") as f:
        f.write(json.dumps(GOOD) + "\n")
    assert [t.id for t in load_jsonl(gz)] == ["t1"]


def test_lists_of_dicts_and_tasks_load():
    task = task_from_dict(GOOD)
    assert [t.id for t in load_tasks([task, {**GOOD, "id": "t2"}])] == ["t1", "t2"]


def test_missing_file_says_what_to_give(tmp_path):
    missing = str(tmp_path / "nope.jsonl")
    with pytest.raises(TaskSetError, match=re.escape(f"task file {missing!r} does not exist")):
        load_tasks(missing)


def test_unknown_named_set_lists_the_known_ones():
    with pytest.raises(TaskSetError, match=re.escape("unknown task set 'builtin:nope'")):
        load_tasks("builtin:nope")


def test_unknown_field_is_an_error_not_a_silently_dropped_test():
    with pytest.raises(TaskSetError, match=re.escape("unknown field(s) ['hiden_tests']")):
        task_from_dict({**GOOD, "hiden_tests": ["assert False"]})


def test_missing_required_fields_are_named():
    with pytest.raises(TaskSetError, match=re.escape("missing required field(s) "
                                                     "['entry_point']")):
        task_from_dict({"id": "x", "prompt": "p", "hidden_tests": ["assert 1"]})


def test_tests_must_be_a_list_of_strings():
    with pytest.raises(TaskSetError, match=re.escape("hidden_tests must be a list of strings")):
        task_from_dict({**GOOD, "hidden_tests": "assert candidate()"})


def test_duplicate_ids_and_bad_json_report_the_line(tmp_path):
    path = tmp_path / "dup.jsonl"
    path.write_text(json.dumps(GOOD) + "\n" + json.dumps(GOOD) + "\n")
    with pytest.raises(TaskSetError, match=re.escape("task id 't1' appears twice")):
        load_tasks(str(path))
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(GOOD) + "\n{not json\n")
    with pytest.raises(TaskSetError, match=re.escape(f"{bad.resolve()}:2: not valid JSON")):
        load_tasks(str(bad))


def test_shell_setup_paths_stay_in_the_work_dir():
    with pytest.raises(TaskSetError, match=re.escape("setup file paths are relative")):
        task_from_dict({"kind": "shell", "id": "s", "prompt": "p", "hidden_tests": ["1"],
                        "setup_files": {"../etc/x": "y"}})


def test_shell_check_command_is_optional_and_must_be_a_string():
    base = {"kind": "shell", "id": "s", "prompt": "p", "hidden_tests": ["1"]}
    assert task_from_dict(base).check_command == ""
    assert task_from_dict({**base, "check_command": "./run.sh"}).check_command == "./run.sh"
    with pytest.raises(TaskSetError, match=re.escape("check_command must be a string")):
        task_from_dict({**base, "check_command": ["./run.sh"]})
