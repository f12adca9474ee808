"""A sandbox-free one-turn env whose first attempts of an episode fail like a sandbox.

Imported by Ray workers through the ``module:env_id`` form of gymnasium.make
(`FLAKY_ID`). Attempts are counted in files under ``state_dir`` (one per reset seed, i.e.
per episode), so the count survives across workers and retries.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import gymnasium as gym

from sandgym.envs.spaces import AnyText

ENV_NAME = "sandgym/TestFlaky-v0"
FLAKY_ID = f"{__name__}:{ENV_NAME}"


class FlakyEnv(gym.Env[str, str]):
    """Reply anything: reward 1.0, unless this episode's attempt is one of the first
    ``fail_times``, which end with reward NaN and ``info["sandbox_error"] = True``."""

    metadata: dict[str, Any] = {"render_modes": []}

    def __init__(self, *, pool: Any = None, state_dir: str = "", fail_times: int = 0,
                 num_tasks: int = 6, only_in_pid: int | None = None,
                 render_mode: str | None = None) -> None:
        if only_in_pid is not None and os.getpid() != only_in_pid:
            # the driver (which lists the tasks) can make it; a rollout worker cannot
            raise RuntimeError(f"FlakyEnv may only be made in process {only_in_pid}")
        self.observation_space = AnyText()
        self.action_space = AnyText()
        self.state_dir = Path(state_dir) if state_dir else None
        self.fail_times = fail_times
        self.task_ids = [f"t{i}" for i in range(num_tasks)]
        self._seed: int | None = None
        self._task: str | None = None

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None
              ) -> tuple[str, dict[str, Any]]:
        super().reset(seed=seed)
        self._seed = seed
        self._task = (options or {}).get("task_id") or self.task_ids[0]
        return f"task {self._task}", {"task_id": self._task}

    def _attempt(self) -> int:
        if self.state_dir is None:
            return 1
        path = self.state_dir / f"{self._task}-{self._seed}"
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, b".")
        finally:
            os.close(fd)
        return path.stat().st_size

    def step(self, action: str) -> tuple[str, float, bool, bool, dict[str, Any]]:
        if self._attempt() <= self.fail_times:
            return ("sandbox failed", float("nan"), False, True,
                    {"task_id": self._task, "sandbox_error": True,
                     "verdict": {"status": "sandbox_error", "detail": "injected failure"}})
        return "ok", 1.0, True, False, {"task_id": self._task, "verdict": {"status": "pass"}}


if ENV_NAME not in gym.registry:
    gym.register(ENV_NAME, entry_point=FlakyEnv)
