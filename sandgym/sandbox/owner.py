"""Who owns a sandbox container, and whether that owner is still alive.

Every container carries labels naming the process that made it (host, pid, and the
pid's start time, so a recycled pid is not mistaken for the owner). `sandgym sandbox gc`
uses them to find containers whose owner is gone.
"""

from __future__ import annotations

import os
import socket

__all__ = ["LABEL_MANAGED", "owner_labels", "owner_is_alive"]

LABEL_MANAGED = "sandgym.managed"
LABEL_OWNER = "sandgym.owner"
LABEL_OWNER_HOST = "sandgym.owner_host"
LABEL_OWNER_PID = "sandgym.owner_pid"
LABEL_OWNER_START = "sandgym.owner_start"


def _process_start_time(pid: int) -> str | None:
    """Start time of pid in clock ticks since boot (None when it does not exist)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rpartition(b")")[2].split()
        return fields[19].decode()
    except (OSError, IndexError):
        return None


def owner_labels() -> dict[str, str]:
    """Labels that identify the current process as a container's owner."""
    host = socket.gethostname()
    pid = os.getpid()
    start = _process_start_time(pid) or "0"
    return {
        LABEL_MANAGED: "1",
        LABEL_OWNER: f"{host}:{pid}:{start}",
        LABEL_OWNER_HOST: host,
        LABEL_OWNER_PID: str(pid),
        LABEL_OWNER_START: start,
    }


def owner_is_alive(labels: dict[str, str]) -> bool | None:
    """True/False for an owner on this host; None when it lives on another host."""
    if labels.get(LABEL_OWNER_HOST) != socket.gethostname():
        return None
    try:
        pid = int(labels.get(LABEL_OWNER_PID, ""))
    except ValueError:
        return False
    start = _process_start_time(pid)
    return start is not None and start == labels.get(LABEL_OWNER_START)
