"""Resource and isolation limits of a sandbox: one value, documented defaults."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field, fields

logger = logging.getLogger(__name__)

__all__ = ["RUNTIME_ENV", "SandboxLimits"]

RUNTIME_ENV = "SANDGYM_RUNTIME"
"""Environment variable giving the default OCI runtime of every sandbox (e.g. ``runsc``).
Ray workers started by a local collection inherit it from the driver."""


def _default_runtime() -> str | None:
    return os.environ.get(RUNTIME_ENV) or None


@dataclass(frozen=True)
class SandboxLimits:
    """Every limit a sandbox enforces, with safe defaults.

    An environment may loosen a limit, but only by naming it (e.g.
    ``SandboxLimits(network=True)`` for a web-tool env); loosened isolation is logged
    once per sandbox at WARNING level, never applied silently.

    Example:
        >>> SandboxLimits(memory_mb=256).memory_mb
        256
    """

    memory_mb: int = 512
    """Container memory limit; swap is set to the same value, so there is no swap."""
    cpus: float = 1.0
    """CPU quota of the whole container, in cores."""
    pids: int = 128
    """Most processes and threads alive at once in the container (fork-bomb stop)."""
    timeout_s: float = 10.0
    """Default wall-clock deadline of one request; the whole process tree is killed."""
    output_bytes: int = 256 * 1024
    """Bytes kept of stdout and of stderr each per request; the rest is counted, dropped."""
    file_size_mb: int = 16
    """Largest file a process may write (RLIMIT_FSIZE)."""
    workdir_mb: int = 64
    """Size of the tmpfs work dir (/work), counted against memory_mb."""
    tmp_mb: int = 64
    """Size of the tmpfs /tmp and of /dev/shm each, counted against memory_mb."""
    ipc_mb: int = 16
    """SysV shared memory of the container in total; message queues and semaphores are
    capped to a few hundred KB (IPC objects outlive processes, so they are bounded and
    removed after every request)."""
    files: int = 16384
    """Most files and directories in each scratch tmpfs (bounds what a reset must wipe)."""
    request_mb: int = 32
    """Largest request the host sends, measured after encoding (frame plus judge input).

    A larger one raises `RequestTooLargeError` before anything is sent. Encodings can
    multiply a payload's size, so this is not a limit on the code's length. The
    executor's own frame limit caps it, whatever it is set to."""
    network: bool = False
    """Give the container a network (bridge). Off by default: network mode 'none'."""
    read_only_root: bool = True
    """Mount the image's root file system read-only."""
    runtime: str | None = field(default_factory=_default_runtime)
    """OCI runtime of the container: None for the engine's default (``runc``, with the
    hardening above), or ``"runsc"`` for gVisor, which adds a user-space kernel between
    the code and the host's (security tiers: docs/security.md). The engine must have it
    registered; otherwise starting a sandbox fails with a message saying how. Default:
    ``$SANDGYM_RUNTIME``."""

    def __post_init__(self) -> None:
        positive = ("memory_mb", "cpus", "pids", "timeout_s", "output_bytes", "file_size_mb",
                    "workdir_mb", "tmp_mb", "ipc_mb", "files", "request_mb")
        for name in positive:
            value = getattr(self, name)
            if not value > 0:
                raise ValueError(f"SandboxLimits.{name} must be > 0, got {value!r}")
        if self.pids < 16:
            raise ValueError(f"SandboxLimits.pids must be >= 16 (the executor needs room), "
                             f"got {self.pids}")
        if self.runtime is not None and (not isinstance(self.runtime, str)
                                         or not self.runtime.strip()):
            raise ValueError(f"SandboxLimits.runtime must be a runtime name such as 'runsc' or "
                             f"None for the engine's default, got {self.runtime!r}")
        if self.memory_mb < 64:
            raise ValueError(f"SandboxLimits.memory_mb must be >= 64, got {self.memory_mb}")
        scratch = self.workdir_mb + 2 * self.tmp_mb + self.ipc_mb
        if scratch + 32 > self.memory_mb:
            # tmpfs pages count against the memory limit; full scratch space must still
            # leave the executor room to run, or filling the disk would kill the sandbox.
            raise ValueError(
                f"SandboxLimits: workdir_mb + 2 * tmp_mb + ipc_mb (= {scratch}) must stay 32 MB "
                f"below memory_mb (= {self.memory_mb}); raise memory_mb or shrink the scratch "
                f"space"
            )

    @property
    def nproc(self) -> int:
        """RLIMIT_NPROC of the code under test: the pids limit less room for the executor."""
        return max(8, self.pids - 16)

    def loosened(self) -> list[str]:
        """Names of isolation settings turned off relative to the defaults."""
        out = []
        if self.network:
            out.append("network")
        if not self.read_only_root:
            out.append("read_only_root")
        return out

    def describe(self) -> dict[str, object]:
        """The limits as a plain dict (for logs, JSON and the README table)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}
