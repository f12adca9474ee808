"""`make_scorer`: an env instance whose ``score`` grades one-turn completions in batches.

This is the path `sandgym.train.execution_reward` uses: the env's own class, task set,
reward mode and time budget, with no sandbox started until ``score`` runs.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym

from sandgym.envs.errors import EnvError
from sandgym.envs.registration import env_traits

__all__ = ["make_scorer"]


def make_scorer(env_id: str, **env_kwargs: Any) -> Any:
    """An unwrapped instance of ``env_id`` to call ``score(task_ids, completions, ...)`` on.

    Args:
        env_id: a registered env whose class declares ``batch_scoring``.
        **env_kwargs: keyword arguments for ``gymnasium.make``; None values are dropped
            (the env's default applies).

    Raises:
        EnvError: the id is unknown or its env does not score batches.
    """
    try:
        traits = env_traits(env_id)
    except gym.error.Error as e:
        raise EnvError(f"cannot score for {env_id!r}: {e}") from e
    if not traits.batch_scoring:
        raise EnvError(f"{env_id} does not score completions in batches (its class declares "
                       f"batch_scoring = False); play episodes instead")
    kwargs = {k: v for k, v in env_kwargs.items() if v is not None}
    return gym.make(env_id, **kwargs).unwrapped
