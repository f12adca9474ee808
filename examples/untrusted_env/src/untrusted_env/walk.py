"""WalkEnv: a seeded random walk whose observation uses every carried space kind."""

from __future__ import annotations

import gymnasium
import numpy as np
from gymnasium import spaces

MOVES = np.array([[0.0, 0.1], [0.1, 0.0], [0.0, -0.1], [-0.1, 0.0]], dtype=np.float32)


class WalkEnv(gymnasium.Env):
    """Walk on the unit square; reward is a noisy closeness to a seeded goal."""

    metadata = {"render_modes": []}

    def __init__(self, size: int = 4) -> None:
        self.size = size
        self.observation_space = spaces.Dict({
            "pos": spaces.Box(0.0, 1.0, shape=(2,), dtype=np.float32),
            "grid": spaces.Box(-np.inf, np.inf, shape=(size, size), dtype=np.float64),
            "steps": spaces.Discrete(1000),
            "cells": spaces.MultiDiscrete([size, size]),
            "flags": spaces.MultiBinary(3),
            "extra": spaces.Tuple((spaces.Text(12), spaces.Discrete(4, start=-2))),
        })
        self.action_space = spaces.Discrete(4)

    def _obs(self) -> dict:
        cells = np.minimum((self.pos * self.size).astype(np.int64), self.size - 1)
        return {
            "pos": self.pos.copy(),
            "grid": self.grid.copy(),
            "steps": self.steps,
            "cells": cells,
            "flags": (self.grid[0, :3] > 0).astype(np.int8),
            "extra": (f"step{self.steps}", int(self.np_random.integers(-2, 2))),
        }

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.pos = self.np_random.uniform(0, 1, size=2).astype(np.float32)
        self.goal = self.np_random.uniform(0, 1, size=2).astype(np.float32)
        self.grid = self.np_random.normal(size=(self.size, self.size))
        self.steps = 0
        return self._obs(), {"goal": self.goal.tolist()}

    def step(self, action):
        self.pos = np.clip(self.pos + MOVES[int(action)], 0.0, 1.0).astype(np.float32)
        self.grid = self.grid + self.np_random.normal(scale=0.1, size=self.grid.shape)
        self.steps += 1
        distance = float(np.linalg.norm(self.pos - self.goal))
        reward = -distance + float(self.np_random.normal(scale=0.01))
        terminated = distance < 0.1
        return self._obs(), reward, terminated, False, {"distance": distance}
