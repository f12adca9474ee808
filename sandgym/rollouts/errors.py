"""Errors of the rollout layer."""

from __future__ import annotations

from sandgym.errors import SandgymError

__all__ = ["NoSandboxNodesError", "RolloutError", "StorageError", "WorkerStartError"]


class RolloutError(SandgymError):
    """A rollout collection could not run or finish."""


class NoSandboxNodesError(RolloutError):
    """The Ray cluster has no node that declared the sandbox resource."""


class WorkerStartError(RolloutError):
    """Fresh rollout workers keep dying before finishing a single batch."""


class StorageError(RolloutError):
    """The output Parquet file cannot be read, written, or is locked by another run."""
