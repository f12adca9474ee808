"""The named result of one request to a sandbox."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

__all__ = ["ExecResult", "ExecStatus"]

ExecStatus = Literal["ok", "error", "timeout", "oom", "killed", "sandbox_error"]


@dataclass(frozen=True)
class ExecResult:
    """What happened when code ran in a sandbox.

    ``status`` is one of:

    * ``ok``: exited with code 0;
    * ``error``: exited with a non-zero code (``exit_code``);
    * ``timeout``: still running at the deadline; the whole process tree was killed;
    * ``oom``: the container hit its memory limit during the request;
    * ``killed``: ended by a signal it did not get from the deadline (a segfault,
      SIGXFSZ for a file past the size limit, killing itself); ``exit_code`` is
      ``-signal`` and ``signal`` names it;
    * ``sandbox_error``: the infrastructure failed (container died, engine gone). It is
      never the code's fault and must never be scored as a wrong answer.

    For a judged request (see ``DockerSandbox.run_judged``) ``stdout`` is the judge's
    report and ``stderr`` what the code under test wrote (its prints included).
    """

    status: ExecStatus
    exit_code: int | None
    stdout: str
    stderr: str
    truncated: bool
    duration_s: float
    signal: str | None = None
    judge_stderr: str = ""

    @property
    def ok(self) -> bool:
        """True when the code exited with status 0."""
        return self.status == "ok"

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready dict of every field."""
        return asdict(self)

    @classmethod
    def infrastructure_failure(cls, message: str, duration_s: float = 0.0) -> ExecResult:
        """A ``sandbox_error`` result carrying what went wrong."""
        return cls("sandbox_error", None, "", message, False, duration_s)
