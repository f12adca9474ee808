"""`StepRecorder`: the bookkeeping of one episode, shared by every loop that plays one.

The batched episode loop (`sandgym.agents.episode`), the TRL tool adapter
(`sandgym.train.environment`) and ``sandgym chat`` all reset an env, send it actions and
keep what happened; they record it here, into a `Trajectory`, so a step means the same
everywhere: reward, verdict and components per step, a sandbox error ends the episode
unscored, and the return is the sum of step rewards.

It lives in the agents layer because the episode loop does and agents may not import
envs (DESIGN.md): it duck-types the env (Gymnasium's ``reset``/``step``) and reads the
info conventions documented in `sandgym.agents.episode`; train and cli sit above both.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from sandgym.agents.trajectory import Trajectory, episode_id, is_nan

__all__ = ["StepRecorder", "env_id_of"]

logger = logging.getLogger(__name__)


def env_id_of(env: Any) -> str:
    """The registered id of an env (``env.spec.id``), else its class name."""
    spec = getattr(env, "spec", None)
    return getattr(spec, "id", None) or type(getattr(env, "unwrapped", env)).__name__


class StepRecorder:
    """Records an episode's reset, steps and finish into ``trajectory``.

    Example:
        >>> import gymnasium as gym                                    # doctest: +SKIP
        >>> env = gym.make("sandgym/PythonTests-v0")
        >>> rec = StepRecorder.reset(env, task_id="builtin/add")
        >>> rec.step(env, "def add(a, b): return a + b")
        True
        >>> rec.close(), rec.trajectory.verdict.status
        (1.0, 'pass')
    """

    def __init__(self, trajectory: Trajectory) -> None:
        self.trajectory = trajectory
        self.done = False

    @classmethod
    def reset(cls, env: Any, *, task_id: str | None = None, seed: int | None = None,
              episode: str | None = None, policy: str = "",
              system_prompt: str | None = None) -> StepRecorder:
        """Reset ``env`` and start recording: the system prompt and first observation.

        Args:
            env: a Gymnasium text env.
            task_id: the task to play (``options={"task_id": ...}``), or None.
            seed: the reset seed.
            episode: the episode id; default `episode_id` with a fresh sample id.
            policy: who acts (recorded).
            system_prompt: the system message; None: ``env.unwrapped.system_prompt``.
        """
        started = time.perf_counter()
        observation, info = env.reset(seed=seed,
                                      options=None if task_id is None else {"task_id": task_id})
        elapsed = time.perf_counter() - started
        env_id = env_id_of(env)
        task = (info or {}).get("task_id", task_id)
        traj = Trajectory(episode_id=episode or episode_id(env_id, task, None), env_id=env_id,
                          task_id=None if task is None else str(task), policy=policy,
                          seed=seed)
        traj.timings["env_s"] += elapsed
        if system_prompt is None:
            system_prompt = getattr(getattr(env, "unwrapped", env), "system_prompt", None)
        if system_prompt:
            traj.messages.append({"role": "system", "content": str(system_prompt)})
        traj.messages.append({"role": "user", "content": str(observation)})
        return cls(traj)

    @property
    def first_observation(self) -> str:
        """What ``reset`` returned (the last user message before any step)."""
        users = [m for m in self.trajectory.messages if m["role"] == "user"]
        return str(users[0]["content"]) if users else ""

    def step(self, env: Any, action: str) -> bool:
        """Step ``env`` with ``action`` and record it; True when the episode is over."""
        started = time.perf_counter()
        result = env.step(action)
        self.trajectory.timings["env_s"] += time.perf_counter() - started
        return self.record(action, result)

    def record(self, action: str | None, result: tuple[Any, float, bool, bool, dict[str, Any]]
               ) -> bool:
        """Record a step's 5-tuple (``action`` None: none is listed, e.g. a finish)."""
        traj = self.trajectory
        obs, reward, terminated, truncated, info = result
        info = info or {}
        if action is not None:
            traj.actions.append(action)
        reward = float(reward)
        traj.rewards.append(reward)
        traj.verdicts.append(dict(info.get("verdict") or {}))  # as the env wrote it (JSON)
        traj.reward_components.append(dict(info.get("reward_components") or {}))
        traj.final_observation = str(obs)
        traj.terminated = bool(terminated)
        traj.truncated = bool(truncated)
        if info.get("sandbox_error") is True or is_nan(reward):
            traj.sandbox_error = True
            if not terminated:
                traj.truncated = True
            logger.warning("sandbox error in episode %s (task %s); it will not be scored",
                           traj.episode_id, traj.task_id)
            self.done = True
        else:
            self.done = bool(terminated or truncated)
        return self.done

    def finish(self, env: Any) -> None:
        """End an open episode the way the env would (its optional ``finish()``)."""
        if self.done:
            return
        finish = getattr(getattr(env, "unwrapped", env), "finish", None)
        result = finish() if callable(finish) else None
        if result is not None:
            self.record(result[4].get("action") if result[4] else None, result)
        self.done = True

    def close(self) -> float | None:
        """The return (sum of step rewards), or None after a sandbox error; sets it."""
        traj = self.trajectory
        traj.final_reward = None if traj.sandbox_error else float(sum(traj.rewards))
        return traj.final_reward
