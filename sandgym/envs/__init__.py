"""Environments: Gymnasium envs whose actions run in sandboxes, their registry and tasks.

* `register` / `make`: Gymnasium's registry under the ``sandgym/`` namespace;
  plugins register through the entry-point group ``sandgym.envs``.
* `SandboxEnv`: the base class (text spaces, tasks, seeded choice, sandbox lease).
* `env_class` / `env_traits`: what an id names and what it declares (`EnvTraits`,
  `Tool`: the env contract, `sandgym.envs.contract`), read instead of guessing.
* `default_pool`: the process-wide sandbox pool used when an env gets no ``pool=``.

Importing this package registers the built-in envs and plugins (`ensure_registered`);
env classes and the sandbox layer load only when used.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import gymnasium

from sandgym.envs.contract import EnvTraits, InvalidToolCall, TextEnv, Tool
from sandgym.envs.errors import EnvError, EpisodeOverError, TaskSetError, UnknownTaskError
from sandgym.envs.registration import (
    EnvInfo,
    discover_plugins,
    ensure_registered,
    env_class,
    env_info,
    env_traits,
    register,
    registered_envs,
)

make = gymnasium.make
"""`gymnasium.make` (sandgym envs are ordinary Gymnasium envs)."""

__all__ = ["AnyText", "EnvError", "EnvInfo", "EnvTraits", "EpisodeOverError", "InvalidToolCall",
           "SandboxEnv", "TaskSetError", "TextEnv", "Tool", "UnknownTaskError",
           "close_default_pool", "default_pool", "default_pool_size", "discover_plugins",
           "ensure_registered", "env_class", "env_info", "env_traits", "load_tasks", "make",
           "register", "registered_envs"]

_LAZY = {
    "SandboxEnv": "sandgym.envs.base",
    "AnyText": "sandgym.envs.spaces",
    "default_pool": "sandgym.envs.pool",
    "close_default_pool": "sandgym.envs.pool",
    "default_pool_size": "sandgym.envs.pool",
    "load_tasks": "sandgym.envs.tasks",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _expose_on_parent() -> None:
    """Make `sandgym.register` / `sandgym.make` usable by plugins during `import sandgym`.

    Plugins are loaded while the ``sandgym`` package is still initialising (its
    ``__init__`` imports this module), so its own names are not bound yet.
    """
    parent = sys.modules.get("sandgym")
    if parent is not None:
        parent.__dict__.setdefault("register", register)
        parent.__dict__.setdefault("make", make)


_expose_on_parent()
ensure_registered()
