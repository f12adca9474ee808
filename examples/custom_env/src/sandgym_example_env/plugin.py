"""The entry point: registers this package's envs (cheap: entry points are strings)."""

from __future__ import annotations

import sandgym

__all__ = ["register_envs"]


def register_envs() -> None:
    """Called once per process by sandgym's plugin discovery (group ``sandgym.envs``)."""
    sandgym.register("sandgym/ExampleStrings-v0", "sandgym_example_env.env:StringTasksEnv",
                     family="example", task_count=3, reward_mode="fraction",
                     description="Example plugin: three string functions, fraction of "
                     "hidden tests passed.")
