"""`ContainerEnv`: a host-side `gymnasium.Env` whose real env runs in a hardened container.

The host holds only the spaces (rebuilt from the container's description) and a line
channel; every reset/step is one request and one reply. Every reply is treated as
hostile: its size is capped by the channel, its fields are type-checked, observations
are decoded by the host's copy of the space and must lie in it, rewards must be finite
numbers, flags booleans and info a JSON object. A violation, a crash or a deadline
missed raises a typed `IsolatedEnvError` and kills the container; nothing hangs.
"""

from __future__ import annotations

import logging
import math
import weakref
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import gymnasium
from gymnasium import spaces

from sandgym.envs.isolated import codec
from sandgym.envs.isolated.errors import (
    IsolatedEnvClosedError,
    IsolatedEnvCrashedError,
    IsolatedEnvProtocolError,
    IsolatedEnvRemoteError,
    IsolatedEnvSpaceError,
    IsolatedEnvTimeoutError,
)
from sandgym.envs.isolated.image import build_isolated_image
from sandgym.sandbox import SandboxLimits, docker_client
from sandgym.sandbox.lines import ChannelClosed, ChannelGarbage, ChannelTimeout
from sandgym.sandbox.service import ServiceContainer

logger = logging.getLogger(__name__)

__all__ = ["ContainerEnv", "ROLE", "make_isolated"]

ROLE = "isolated-env"
"""Value of the ``sandgym.role`` label on every isolated env's container."""


def _kill(service: ServiceContainer) -> None:
    service.close()


class ContainerEnv(gymnasium.Env):
    """A Gymnasium env run wholly inside a sandbox container built with its package.

    Args:
        env_id: the id to ``gymnasium.make`` inside the container (``"module:Id-v0"``
            imports ``module`` first, as Gymnasium does).
        package: a wheel or a directory of Python code holding the env.
        modules: modules to import in the container before ``make`` (the ones whose
            import calls ``gymnasium.register``), when the id does not name one.
        env_kwargs: keyword arguments of the env (must be JSON).
        step_timeout_s: deadline of one reset/step/close, in seconds.
        start_timeout_s: deadline of the container's start and the env's construction.
        max_message_bytes: largest reply accepted (one JSON line).
        limits: container limits (memory, pids, cpus, runtime); network stays off
            unless a limit loosens it by name.
        image: an already built image to use instead of building one from ``package``.
    """

    metadata: dict[str, Any] = {"render_modes": []}

    def __init__(self, env_id: str, package: str | Path | None = None, *,
                 modules: Sequence[str] = (), env_kwargs: Mapping[str, Any] | None = None,
                 step_timeout_s: float = 10.0, start_timeout_s: float = 60.0,
                 max_message_bytes: int = 8 << 20, limits: SandboxLimits | None = None,
                 image: str | None = None) -> None:
        if not (step_timeout_s > 0 and start_timeout_s > 0):
            raise ValueError(f"timeouts must be > 0, got {step_timeout_s}, {start_timeout_s}")
        if package is None and image is None:
            raise ValueError("ContainerEnv needs package= (a wheel or a directory) or image=")
        self.env_id = env_id
        self.step_timeout_s = float(step_timeout_s)
        client = docker_client()
        self.image = image or build_isolated_image(package, client=client)
        self._service = ServiceContainer(self.image, None, role=ROLE, limits=limits,
                                         max_line_bytes=max_message_bytes, client=client,
                                         labels={"sandgym.isolated-env": env_id[:200]})
        self._finalizer = weakref.finalize(self, _kill, self._service)
        self._dead = False
        self._next_id = 0
        try:
            self._service.start()
            reply = self._call({"op": "make", "env_id": env_id, "modules": list(modules),
                                "kwargs": dict(env_kwargs or {})}, start_timeout_s)
            self.observation_space = self._space(reply, "observation_space")
            self.action_space = self._space(reply, "action_space")
        except BaseException:
            self.close()
            raise
        meta = reply.get("metadata")
        self.metadata = {**(meta if isinstance(meta, dict) else {}), "render_modes": []}
        self.render_mode = None

    # ------------------------------------------------------------------ Gymnasium API

    def reset(self, *, seed: int | None = None,
              options: dict[str, Any] | None = None) -> tuple[Any, dict[str, Any]]:
        """Reset the env in the container; same arguments and results as in-process."""
        super().reset(seed=seed)
        reply = self._call({"op": "reset", "seed": seed, "options": options},
                           self.step_timeout_s)
        return self._observation(reply), self._info(reply)

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        """One step in the container; the reply is validated before it is returned."""
        try:
            encoded = codec.encode_value(self.action_space, action)
        except (codec.CodecError, TypeError, ValueError) as e:
            raise ValueError(f"action {action!r:.200} does not fit {self.action_space}: "
                             f"{e}") from None
        reply = self._call({"op": "step", "action": encoded}, self.step_timeout_s)
        obs = self._observation(reply)
        reward = reply.get("reward")
        try:
            finite = type(reward) in (int, float) and math.isfinite(float(reward))
        except OverflowError:  # an int too large for a float (10**400)
            finite = False
        if not finite:
            self._fail(IsolatedEnvProtocolError(f"reward must be a finite number, got "
                                                f"{reward!r:.80}"))
        flags = reply.get("terminated"), reply.get("truncated")
        if not all(type(flag) is bool for flag in flags):
            self._fail(IsolatedEnvProtocolError(f"terminated/truncated must be booleans, got "
                                                f"{flags!r:.80}"))
        return obs, float(reward), flags[0], flags[1], self._info(reply)

    def close(self) -> None:
        """Ask the server to close the env, then remove the container (always)."""
        if not self._dead and getattr(self, "_service", None) is not None:
            try:
                self._call({"op": "close"}, min(self.step_timeout_s, 5.0))
            except Exception as e:  # noqa: BLE001 - the container goes anyway
                logger.debug("isolated env close request failed: %s", e)
        self._dead = True
        if getattr(self, "_finalizer", None) is not None:
            self._finalizer()

    @property
    def container_id(self) -> str | None:
        """The engine's id of the env's container."""
        return self._service.container_id

    def __repr__(self) -> str:
        return f"ContainerEnv({self.env_id!r}, image={self.image!r})"

    # ------------------------------------------------------------------ plumbing

    def _fail(self, error: Exception) -> None:
        """Kill the container and raise ``error``: the env is no longer trusted."""
        tail = self._service.channel.stderr_tail() if self._service.channel else ""
        self._dead = True
        self._finalizer()
        if tail.strip() and not isinstance(error, IsolatedEnvSpaceError):
            error.args = (f"{error.args[0]}; env stderr: {tail.strip()[-1500:]}",)
        raise error

    def _call(self, request: dict[str, Any], timeout: float) -> dict[str, Any]:
        if self._dead or self._service.channel is None:
            raise IsolatedEnvClosedError(f"isolated env {self.env_id!r} is closed")
        channel = self._service.channel
        self._next_id += 1
        request["id"] = self._next_id
        try:
            channel.send(request, timeout)
            reply = channel.receive(timeout)
        except ChannelTimeout:
            self._fail(IsolatedEnvTimeoutError(
                f"isolated env {self.env_id!r} did not answer {request['op']} within "
                f"{timeout:.1f}s; its container was killed"))
        except ChannelGarbage as e:
            self._fail(IsolatedEnvProtocolError(
                f"isolated env {self.env_id!r} broke the protocol: {e}"))
        except ChannelClosed as e:
            self._fail(IsolatedEnvCrashedError(
                f"isolated env {self.env_id!r} exited during {request['op']} ({e})"))
        if reply.get("id") != request["id"]:
            self._fail(IsolatedEnvProtocolError(
                f"reply out of step (wanted id {request['id']}): {str(reply)[:200]}"))
        ok = reply.get("ok")
        if ok is True:
            return reply
        error = reply.get("error")
        if ok is False and isinstance(error, dict):
            raise IsolatedEnvRemoteError(str(error.get("type"))[:100],
                                         str(error.get("message"))[:2000],
                                         str(error.get("traceback"))[:4000])
        self._fail(IsolatedEnvProtocolError(f"reply without ok: {str(reply)[:200]}"))
        raise AssertionError("unreachable")

    def _space(self, reply: dict[str, Any], key: str) -> spaces.Space:
        try:
            return codec.decode_space(reply.get(key))
        except (codec.CodecError, ValueError, TypeError, OverflowError) as e:
            self._fail(IsolatedEnvProtocolError(f"the env declared an unusable {key}: {e}"))
            raise AssertionError("unreachable") from None

    def _observation(self, reply: dict[str, Any]) -> Any:
        try:
            obs = codec.decode_value(self.observation_space, reply.get("obs"))
        except (codec.CodecError, ValueError, TypeError, OverflowError) as e:
            self._fail(IsolatedEnvSpaceError(f"observation does not decode by "
                                             f"{self.observation_space}: {e}"))
        if not self.observation_space.contains(obs):
            self._fail(IsolatedEnvSpaceError(f"observation {obs!r:.200} is outside the "
                                             f"declared {self.observation_space}"))
        return obs

    def _info(self, reply: dict[str, Any]) -> dict[str, Any]:
        info = reply.get("info")
        if not isinstance(info, dict):
            self._fail(IsolatedEnvProtocolError(f"info must be a JSON object, got "
                                                f"{type(info).__name__}"))
        return info


def make_isolated(env_id: str, package: str | Path, *,
                  env_kwargs: Mapping[str, Any] | None = None, modules: Sequence[str] = (),
                  step_timeout_s: float = 10.0, start_timeout_s: float = 60.0,
                  limits: SandboxLimits | None = None,
                  max_message_bytes: int = 8 << 20) -> ContainerEnv:
    """Run ``env_id`` from an untrusted ``package`` wholly inside a sandbox container.

    The one call that turns any registered Gymnasium env into an isolated one: the
    result is a `gymnasium.Env` with the same spaces, reset and step as
    ``gymnasium.make(env_id, **env_kwargs)`` would give in-process, at the cost of one
    round trip through the Docker engine per call (docs/security.md). The env's own
    keyword arguments go in ``env_kwargs`` (a dict, JSON), so none of them can clash
    with this function's parameters.

    Example:
        >>> env = make_isolated("untrusted_env:UntrustedEnv/Walk-v0",   # doctest: +SKIP
        ...                     "examples/untrusted_env", env_kwargs={"size": 4})
        >>> obs, info = env.reset(seed=0)                               # doctest: +SKIP
    """
    return ContainerEnv(env_id, package, modules=modules, env_kwargs=env_kwargs,
                        step_timeout_s=step_timeout_s, start_timeout_s=start_timeout_s,
                        limits=limits, max_message_bytes=max_message_bytes)
