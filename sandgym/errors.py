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


class PoolClosedError(SandboxError):
    """The sandbox pool was used after close()."""


class PoolTimeoutError(SandboxError):
    """No sandbox became free within the acquire timeout."""
