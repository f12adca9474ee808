"""Typed failures of an isolated env: what the host raises instead of hanging or trusting.

Everything but `IsolatedEnvRemoteError` kills the container first: after a timeout, a
crash or a reply that breaks the protocol, the env's state is unknown and its process
is not trusted to keep running. A remote error is an ordinary exception the env raised
(as it would in-process); the container stays up and the env may be reset.
"""

from __future__ import annotations

from sandgym.envs.errors import EnvError

__all__ = ["IsolatedEnvError", "IsolatedEnvTimeoutError", "IsolatedEnvCrashedError",
           "IsolatedEnvProtocolError", "IsolatedEnvSpaceError", "IsolatedEnvRemoteError",
           "IsolatedEnvClosedError"]


class IsolatedEnvError(EnvError):
    """An isolated env failed; the message says how."""


class IsolatedEnvTimeoutError(IsolatedEnvError, TimeoutError):
    """The env did not answer within its deadline (e.g. an endless loop); it was killed."""


class IsolatedEnvCrashedError(IsolatedEnvError):
    """The env's container exited or could not be started."""


class IsolatedEnvProtocolError(IsolatedEnvError):
    """A reply was not what the protocol allows (garbage, too large, wrong types)."""


class IsolatedEnvSpaceError(IsolatedEnvProtocolError):
    """An observation was outside the observation space the env declared."""


class IsolatedEnvClosedError(IsolatedEnvError):
    """The env was used after close() or after a fatal error killed its container."""


class IsolatedEnvRemoteError(IsolatedEnvError):
    """The env raised an exception inside its container (as it would in-process).

    ``remote_type`` is the exception's class name there, ``remote_traceback`` its
    traceback (text written by untrusted code: show it, never evaluate it).
    """

    def __init__(self, remote_type: str, message: str, remote_traceback: str = "") -> None:
        self.remote_type = remote_type
        self.remote_traceback = remote_traceback
        super().__init__(f"the isolated env raised {remote_type}: {message}")
