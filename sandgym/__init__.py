"""sandgym: align language-model agents with execution feedback.

Gymnasium environments whose actions run in hardened Docker sandboxes, Ray actors that
collect rollouts, and TRL training on the rewards. The public API stays small:

* `sandgym.make` / `sandgym.register`: Gymnasium's registry, namespace ``sandgym/``;
* `DockerSandbox`, `SandboxPool`, `SandboxLimits`, `ExecResult`: the sandbox layer.

Heavy parts (Ray, torch, TRL) live in subpackages and load only when used.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

__all__ = ["DockerSandbox", "ExecResult", "SandboxLimits", "SandboxPool", "__version__",
           "make", "register"]

# Importing the envs package registers the built-in environments and discovers plugins
# (entry-point group ``sandgym.envs``), so every process that imports sandgym — a Ray
# worker included — sees the same registry. It does not import the sandbox layer.
from sandgym.envs import make, register  # noqa: E402

_LAZY = {
    "DockerSandbox": "sandgym.sandbox",
    "ExecResult": "sandgym.sandbox",
    "SandboxLimits": "sandgym.sandbox",
    "SandboxPool": "sandgym.sandbox",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'sandgym' has no attribute {name!r}")
