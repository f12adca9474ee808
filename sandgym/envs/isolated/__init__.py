"""Any Gymnasium env in a container: untrusted env code runs in a hardened sandbox.

`make_isolated(env_id, package)` (also ``sandgym.make_isolated``) builds, once per
content hash, an image with the env's package, starts a hardened container running a
small server, and returns a host-side `ContainerEnv` with the same Gymnasium API.
To reach it through ``gymnasium.make``, register an id whose entry point is
``"sandgym.envs.isolated:ContainerEnv"`` with kwargs ``env_id=`` and ``package=``
(docs/security.md, "Any env in a container").
"""

from __future__ import annotations

from sandgym.envs.isolated.env import ROLE, ContainerEnv, make_isolated
from sandgym.envs.isolated.errors import (
    IsolatedEnvClosedError,
    IsolatedEnvCrashedError,
    IsolatedEnvError,
    IsolatedEnvProtocolError,
    IsolatedEnvRemoteError,
    IsolatedEnvSpaceError,
    IsolatedEnvTimeoutError,
)

__all__ = ["ROLE", "ContainerEnv", "IsolatedEnvClosedError", "IsolatedEnvCrashedError",
           "IsolatedEnvError", "IsolatedEnvProtocolError", "IsolatedEnvRemoteError",
           "IsolatedEnvSpaceError", "IsolatedEnvTimeoutError", "make_isolated"]
