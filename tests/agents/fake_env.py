"""A tiny multi-turn text environment for agent tests (no sandbox, no sandgym.envs).

Task ``count-N``: the agent must reply 1, 2, ..., N, one number per turn. Each right
number earns 1/N, so a perfect episode returns 1.0. ``sandbox_error_at=k`` makes step k
report a sandbox failure the way sandgym envs do (reward NaN, info["sandbox_error"]).
"""

from __future__ import annotations

import string

import gymnasium as gym
from gymnasium import spaces


class CountEnv(gym.Env):
    """Say the numbers 1..N, one per turn."""

    metadata = {"render_modes": []}

    def __init__(self, *, system_prompt: str | None = "Count upwards, one number per reply.",
                 sandbox_error_at: int | None = None) -> None:
        self.observation_space = spaces.Text(max_length=200, charset=string.printable)
        self.action_space = spaces.Text(max_length=10_000, charset=string.printable)
        self.system_prompt = system_prompt
        self.sandbox_error_at = sandbox_error_at
        self.n = 0
        self.k = 0

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        task = (options or {}).get("task_id") or f"count-{int(self.np_random.integers(2, 5))}"
        self.n, self.k = int(task.split("-")[1]), 0
        return "Say 1.", {"task_id": task}

    def step(self, action: str):
        self.k += 1
        if self.sandbox_error_at == self.k:
            return "sandbox died", float("nan"), False, False, {"sandbox_error": True}
        ok = action.strip() == str(self.k)
        terminated = self.k >= self.n
        obs = "Done." if terminated else f"Say {self.k + 1}."
        info = {"verdict": {"expected": str(self.k), "got": action.strip(), "ok": ok},
                "reward_components": {"correct": float(ok)}}
        return obs, (1.0 / self.n if ok else 0.0), terminated, False, info


def counting_reply(messages: list[dict]) -> str:
    """The right answer: one more than the number of replies so far."""
    return str(1 + sum(m["role"] == "assistant" for m in messages))
