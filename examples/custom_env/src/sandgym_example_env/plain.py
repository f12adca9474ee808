"""A plain text `gymnasium.Env`, with no sandgym base class: word puzzles graded in Python.

It shows the smallest thing sandgym can drive: text in, text out, Gymnasium's 5-tuple.
Everything beyond that is optional, and used when present (docs/envs.md):

* ``task_ids`` and ``options={"task_id": ...}`` in ``reset``: rollouts and evaluation
  plan episodes per task;
* ``system_prompt``: the system message of every episode;
* ``reference_answer(task_id)``: the ``canonical`` policy and ``sandgym envs check``;
* ``info["verdict"]`` with a ``status``: pass@k counts ``pass``;
* class-level traits (here ``multi_turn = False``); left out, sandgym assumes a
  multi-turn env that holds no sandbox, with one tool, ``act(action)``.

It never runs model text, so it needs no sandbox.
"""

from __future__ import annotations

import string
from typing import Any

import gymnasium as gym
from gymnasium import spaces

__all__ = ["WORDS", "WordPuzzleEnv"]

WORDS = {"reverse/stressed": ("stressed", "reverse"), "reverse/drawer": ("drawer", "reverse"),
         "upper/sandbox": ("sandbox", "upper"), "upper/gym": ("gym", "upper")}
"""Task id -> (word, what to do with it)."""
_CHARSET = string.printable


def _answer(word: str, op: str) -> str:
    return word[::-1] if op == "reverse" else word.upper()


class WordPuzzleEnv(gym.Env):
    """Word puzzles: reverse a word or write it in upper case; one reply, reward 1 if right.

    Example:
        >>> env = WordPuzzleEnv()
        >>> prompt, info = env.reset(options={"task_id": "reverse/drawer"})
        >>> env.step("reward")[1]
        1.0
    """

    metadata = {"render_modes": []}
    system_prompt = "Answer with the transformed word only, nothing else."
    multi_turn = False  # a trait: one reply per episode

    def __init__(self, render_mode: str | None = None) -> None:
        self.observation_space = spaces.Text(max_length=4096, charset=_CHARSET)
        self.action_space = spaces.Text(max_length=4096, charset=_CHARSET)
        self.render_mode = render_mode
        self.task_ids = list(WORDS)
        self._task: str | None = None

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None
              ) -> tuple[str, dict[str, Any]]:
        """Pick ``options["task_id"]`` or a task drawn with the seeded RNG."""
        super().reset(seed=seed)
        task_id = (options or {}).get("task_id")
        if task_id is None:
            task_id = self.task_ids[int(self.np_random.integers(len(self.task_ids)))]
        if task_id not in WORDS:
            raise KeyError(f"no task {task_id!r}; tasks: {self.task_ids}")
        self._task = task_id
        word, op = WORDS[task_id]
        verb = "Reverse the letters of" if op == "reverse" else "Write in upper case"
        return f"{verb} the word: {word}", {"task_id": task_id}

    def step(self, action: str) -> tuple[str, float, bool, bool, dict[str, Any]]:
        """Grade the reply (surrounding spaces, quotes and a final period are ignored)."""
        if self._task is None:
            raise RuntimeError("call reset() first")
        word, op = WORDS[self._task]
        reply = str(action).strip().strip("'\"`").rstrip(".").strip()
        ok = reply == _answer(word, op)
        verdict = {"status": "pass" if ok else "fail", "expected_length": len(word)}
        info = {"task_id": self._task, "verdict": verdict,
                "reward_components": {"correct": float(ok)}}
        self._task = None
        return ("Correct." if ok else "Wrong."), float(ok), True, False, info

    def reference_answer(self, task_id: str) -> str:
        """The right reply to a task."""
        return _answer(*WORDS[task_id])
