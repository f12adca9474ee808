"""Word problems solved with a sandboxed Python tool; reward by the exact numeric answer.

``run_python`` runs the agent's code in the episode's sandbox and returns what it
printed; ``submit_answer`` records the answer in the state (rounded to 6 decimals,
so ``0.1 + 0.2`` and ``0.3`` agree) and ends the episode. The reward compares it with
the gold answer exactly.
"""

from __future__ import annotations

import functools
import json
from importlib import resources

from sandgym.envs.tools.domain import Domain, ToolContext, ToolError
from sandgym.envs.tools.schema import tool
from sandgym.envs.tools.tasks import ToolTask, task_from_dict

__all__ = ["WORD_PROBLEM_POLICY", "word_problem_domain", "word_problem_tasks"]

OUTPUT_CHARS = 4000
MAX_CODE_CHARS = 20_000

WORD_PROBLEM_POLICY = (
    "Solve the word problem. You may compute with `run_python` (it shows what your code "
    "prints), then call `submit_answer` with the final number only.")


@tool(sandboxed=True, computes=True)
def run_python(ctx: ToolContext, code: str) -> str:
    """Run Python 3 code in a sandbox and see what it prints.

    Args:
        code: A Python program; print the values you want to see.
    """
    if len(code) > MAX_CODE_CHARS:
        raise ToolError(f"the code is {len(code)} characters; at most {MAX_CODE_CHARS}")
    result = ctx.run_python(code)
    text = result.stdout + result.stderr
    if len(text) > OUTPUT_CHARS:
        text = text[:OUTPUT_CHARS] + f"\n... [truncated {len(text) - OUTPUT_CHARS} chars]"
    if result.status == "timeout":
        text += "\n[timed out and killed]"
    elif result.status == "oom":
        text += "\n[ran out of memory and was killed]"
    elif result.exit_code:
        text += f"\n[exit code {result.exit_code}]"
    return text


@tool(writes=True, terminal=True)
def submit_answer(ctx: ToolContext, answer: float) -> float | int:
    """Submit the final numeric answer; this ends the episode.

    Args:
        answer: The answer, a number.
    """
    value = round(float(answer), 6)
    ctx.state["answer"] = int(value) if value.is_integer() else value
    return ctx.state["answer"]


def word_problem_domain() -> Domain:
    """The word-problem domain (state: the submitted answer)."""
    return Domain("word_problems", [run_python, submit_answer], {"answer": None},
                  policy=WORD_PROBLEM_POLICY)


@functools.cache
def _records() -> tuple[str, ...]:
    text = resources.files("sandgym.envs.tools").joinpath("data/word_problems.jsonl").read_text()
    return tuple(line for line in text.splitlines() if line.strip())


def word_problem_tasks() -> list[ToolTask]:
    """The 53 word problems written for sandgym."""
    return [task_from_dict(json.loads(line), f"word_problems.jsonl:{i + 1}")
            for i, line in enumerate(_records())]
