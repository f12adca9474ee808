"""Errors of the environment layer (leaves of `sandgym.errors.SandgymError`)."""

from __future__ import annotations

from sandgym.errors import SandgymError

__all__ = ["EnvError", "EpisodeOverError", "TaskSetError", "UnknownTaskError"]


class EnvError(SandgymError):
    """An environment was used or configured wrongly."""


class TaskSetError(EnvError):
    """A task file or task set is missing or does not follow the schema."""


class UnknownTaskError(EnvError, KeyError):
    """``options["task_id"]`` names no task of the environment's task set."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class EpisodeOverError(EnvError):
    """step() was called after the episode ended; call reset() first."""
