"""Errors of the agents layer: leaves of `sandgym.errors.SandgymError`.

Each message says what was expected, what happened and what to do, so a user who
mistypes a server URL or a model name can fix it from the message alone.
"""

from __future__ import annotations

from sandgym.errors import SandgymError

__all__ = [
    "AgentError",
    "ModelFetchError",
    "PolicyServerError",
    "PolicySpecError",
    "ScriptExhaustedError",
]


class AgentError(SandgymError):
    """Something in the agents layer (policies, episode loop) went wrong."""


class ModelFetchError(AgentError):
    """The default model could not be downloaded or converted."""


class PolicySpecError(AgentError, ValueError):
    """A policy spec string (``default``, ``openai:URL#MODEL``, a path) is not understood."""


class ScriptExhaustedError(AgentError):
    """A `ScriptedPolicy` was asked for more replies than it was given."""


class PolicyServerError(AgentError):
    """An OpenAI-compatible server refused, failed or could not be reached.

    Attributes:
        status_code: the HTTP status of the last answer, or None when none came.
        url: the URL that was called.
    """

    def __init__(self, message: str, *, status_code: int | None = None, url: str = "") -> None:
        super().__init__(message)
        self.status_code = status_code
        self.url = url
