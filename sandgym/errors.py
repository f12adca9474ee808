"""Exceptions of sandgym: one root, small leaves that each say what went wrong.

This module imports nothing of sandgym, so every layer (the sandbox included) may use it.
"""

from __future__ import annotations

__all__ = [
    "SandgymError",
    "SandboxError",
    "EngineUnavailableError",
    "ImageNotFoundError",
    "ImageMismatchError",
    "SandboxCrashedError",
    "PoolClosedError",
    "PoolTimeoutError",
    "RequestTooLargeError",
    "RuntimeUnavailableError",
]


class SandgymError(Exception):
    """Root of every error sandgym raises on purpose."""


class SandboxError(SandgymError):
    """The sandbox infrastructure failed (never the code under test's fault)."""


class EngineUnavailableError(SandboxError):
    """No Docker engine answers."""


class ImageNotFoundError(SandboxError):
    """The sandbox image does not exist on this engine."""


class ImageMismatchError(SandboxError):
    """The sandbox image carries another executor protocol than this sandgym speaks."""


class SandboxCrashedError(SandboxError):
    """The sandbox container or its executor died."""


class RuntimeUnavailableError(SandboxError):
    """The Docker engine has no such OCI runtime (e.g. gVisor's runsc) registered."""


class PoolClosedError(SandboxError):
    """The sandbox pool was used after close()."""


class PoolTimeoutError(SandboxError):
    """No sandbox became free within the acquire timeout."""


class RequestTooLargeError(SandboxError):
    """A request was larger, once encoded, than the sandbox accepts; nothing was sent.

    The sandbox is untouched and stays usable. ``size`` and ``limit`` are in bytes, as
    sent on the wire (frame plus judge input), after every encoding.
    """

    def __init__(self, size: int, limit: int, what: str = "request") -> None:
        self.size = size
        self.limit = limit
        super().__init__(
            f"the {what} is {size} bytes once encoded, more than the sandbox's limit of "
            f"{limit} bytes (SandboxLimits.request_mb); nothing was sent and the sandbox "
            f"is unchanged. Send less (shorter code, smaller files or judge input), or "
            f"raise SandboxLimits.request_mb"
        )
