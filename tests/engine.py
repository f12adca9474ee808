"""Stop and start the Docker engine exactly as scripts/setup.sh starts it (chaos tests).

Only an engine that our setup started may be restarted by a test: ``dockerd`` run as
root with no arguments, its output in /var/log/sandgym-dockerd.log (the pidfile is the
engine's default, /var/run/docker.pid). A user's own engine (systemd, Docker Desktop,
another flag set) is never touched: `restart_precondition` says why, and the caller
fails under CI (where setup always started the engine) or skips elsewhere.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import time
from pathlib import Path

logger = logging.getLogger(__name__)

REPO = Path(__file__).resolve().parents[1]
START_SCRIPT = REPO / "scripts" / "start-dockerd.sh"
PIDFILE = Path("/var/run/docker.pid")
LOG = "/var/log/sandgym-dockerd.log"
STOP_TIMEOUT_S = 90.0
"""dockerd stops every running container on SIGTERM (10 s grace each, in parallel)."""


def engine_pid() -> int | None:
    """The pid in the engine's pidfile when that process is still running, else None."""
    try:
        pid = int(PIDFILE.read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if _running(pid) else None


def _running(pid: int) -> bool:
    """Whether ``pid`` exists and is not a zombie (pid 1 of a container may not reap)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def restart_precondition() -> str | None:
    """None when this process may restart the engine, else the reason it may not."""
    if os.geteuid() != 0:
        return "restarting the Docker engine needs root (CI runs as root)"
    pid = engine_pid()
    if pid is None:
        return f"no running dockerd recorded in {PIDFILE}"
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[:-1]
        stdout = os.readlink(f"/proc/{pid}/fd/1")
    except OSError as e:
        return f"cannot inspect dockerd (pid {pid}): {e}"
    if [os.path.basename(a.decode()) for a in argv] != ["dockerd"] or stdout != LOG:
        return (f"the running engine (pid {pid}: {b' '.join(argv).decode()!r}, output to "
                f"{stdout}) was not started by scripts/setup.sh (`dockerd` logging to {LOG}); "
                "this test only restarts an engine that setup started")
    if not START_SCRIPT.exists():
        return f"{START_SCRIPT} is missing"
    return None


def stop_engine(timeout: float = STOP_TIMEOUT_S) -> None:
    """SIGTERM the engine and wait until its process has exited."""
    reason = restart_precondition()
    if reason is not None:
        raise RuntimeError(f"cannot stop the Docker engine: {reason}")
    pid = engine_pid()
    assert pid is not None
    logger.info("stopping dockerd (pid %d)", pid)
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while _running(pid):
        if time.monotonic() > deadline:
            raise RuntimeError(f"dockerd (pid {pid}) did not exit within {timeout:.0f}s "
                               f"of SIGTERM; see {LOG}")
        time.sleep(0.2)


def start_engine() -> None:
    """Start the engine with setup's own script (which waits for `docker info`)."""
    logger.info("starting dockerd with %s", START_SCRIPT)
    done = subprocess.run(["bash", str(START_SCRIPT)], capture_output=True, text=True,
                          timeout=120, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{START_SCRIPT} failed ({done.returncode}): {done.stderr}")
    subprocess.run(["docker", "info"], capture_output=True, timeout=30, check=True)


def restart_engine(down_s: float = 0.0) -> float:
    """Stop the engine, keep it down ``down_s`` seconds, start it again; returns the outage."""
    started = time.monotonic()
    try:
        stop_engine()
        time.sleep(down_s)
    finally:
        if engine_pid() is None:  # whatever happened, leave an engine running
            start_engine()
    return time.monotonic() - started
