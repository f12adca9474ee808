"""sandgym: align language-model agents with execution feedback.

Gymnasium environments whose actions run in hardened Docker sandboxes, Ray actors that
collect rollouts, and TRL training on the rewards. The public API stays small:

* `sandgym.make` / `sandgym.register`: Gymnasium's ``make`` and a ``register`` that
  files a bare id under the ``sandgym/`` namespace (``register("Mine-v0", ...)``
  returns ``"sandgym/Mine-v0"``); ``make`` takes that full id, as ``gymnasium.make``;
* `sandgym.make_isolated`: any third-party Gymnasium env, run wholly in a sandbox;
* `DockerSandbox`, `SandboxPool`, `SandboxLimits`, `ExecResult`: the sandbox layer.

Heavy parts (Ray, torch, TRL) live in subpackages and load only when used.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

__all__ = ["DockerSandbox", "ExecResult", "SandboxLimits", "SandboxPool", "__version__",
           "make", "make_isolated", "register"]

# Every process that imports sandgym — a Ray worker included — sees the same registry:
# the built-in environments and the plugins (entry-point group ``sandgym.envs``) are
# registered as soon as Gymnasium is loaded, and not before, so ``import sandgym.sandbox``
# loads neither Gymnasium nor plugin code (`sandgym.gym_hook`).
from sandgym.gym_hook import install as _install  # noqa: E402

_install()

_LAZY = {
    "make": "sandgym.envs",
    "register": "sandgym.envs",
    "make_isolated": "sandgym.envs.isolated",
    "DockerSandbox": "sandgym.sandbox",
    "ExecResult": "sandgym.sandbox",
    "SandboxLimits": "sandgym.sandbox",
    "SandboxPool": "sandgym.sandbox",
}


_SUBPACKAGES = ("agents", "envs", "rollouts", "sandbox", "train")


def __getattr__(name: str) -> Any:
    import importlib

    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    if name in _SUBPACKAGES:  # ``import sandgym; sandgym.envs.env_info(...)``
        return importlib.import_module(f"sandgym.{name}")
    raise AttributeError(f"module 'sandgym' has no attribute {name!r}")
