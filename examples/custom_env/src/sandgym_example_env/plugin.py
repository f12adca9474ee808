"""The entry point: registers this package's envs (cheap: entry points are strings)."""

from __future__ import annotations

import gymnasium

import sandgym

__all__ = ["register_envs"]


def register_envs() -> None:
    """Called once per process by sandgym's plugin discovery (group ``sandgym.envs``)."""
    # A sandgym env (a PythonTestsEnv subclass), with what `sandgym envs list` shows.
    sandgym.register("sandgym/ExampleStrings-v0", "sandgym_example_env.env:StringTasksEnv",
                     family="example", task_count=3, reward_mode="fraction",
                     description="Example plugin: three string functions, partial "
                     "credit for hidden tests passed.")
    # A plain gymnasium.Env: id and entry point are enough (family and description are
    # derived: the plugin's name, the class docstring's first line) ...
    sandgym.register(id="sandgym/ExampleWords-v0",
                     entry_point="sandgym_example_env.plain:WordPuzzleEnv")
    # ... and Gymnasium's own register works too, under the sandgym/ namespace.
    gymnasium.register(id="sandgym/ExampleWordsGym-v0",
                       entry_point="sandgym_example_env.plain:WordPuzzleEnv")
