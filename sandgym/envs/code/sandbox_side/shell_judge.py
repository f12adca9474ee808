"""Trusted grader of a Shell episode: run the task's checks on the final state.

Runs as the judge uid after the agent's last command (every process of the agent is
already dead). Checks are Python snippets from ``JUDGE_INPUT`` that see the helpers
below plus ``OUTPUT`` (what the last command printed), ``CHECK_OUTPUT`` and
``CHECK_EXIT`` (stdout and exit code, None when it did not exit, of the task's check
command, which the host ran as the sandbox user before this judge; "" and None when the
task has none) and pass when they raise nothing. The work dir belongs to the agent, so
every read is bounded in size and time; a file the judge cannot read fails its check.
Prints exactly one JSON record.
"""

import json
import os
import signal
import sys
import time

RECORD_VERSION = 1
MAX_READ_BYTES = 4 << 20


class JudgeTimeout(BaseException):
    """The check's time budget ran out (e.g. a FIFO planted where a file should be)."""


def _alarm(signum, frame):
    raise JudgeTimeout("time budget exhausted")


def _path(path):
    full = os.path.normpath(os.path.join(WORKDIR, path))
    if not (full == WORKDIR or full.startswith(WORKDIR + "/")):
        raise ValueError(f"checks read inside {WORKDIR} only, got {path!r}")
    return full


def read(path):
    """Text of a regular file under the work dir (decoding errors replaced)."""
    full = _path(path)
    fd = os.open(full, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW)
    try:
        import stat

        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ValueError(f"{path} is not a regular file")
        data = os.read(fd, MAX_READ_BYTES + 1)
    finally:
        os.close(fd)
    if len(data) > MAX_READ_BYTES:
        raise ValueError(f"{path} is larger than {MAX_READ_BYTES} bytes")
    return data.decode("utf-8", "replace")


def exists(path):
    """True when path exists under the work dir (a dangling link does not)."""
    return os.path.exists(_path(path))


def isdir(path):
    """True when path is a directory under the work dir."""
    return os.path.isdir(_path(path))


def listdir(path="."):
    """Sorted names in a directory under the work dir."""
    return sorted(os.listdir(_path(path)))


def lines(path):
    """The lines of a file under the work dir, without line ends."""
    return read(path).splitlines()


def main():
    global WORKDIR
    record_fd = os.dup(1)
    os.dup2(2, 1)
    spec = json.loads(JUDGE_INPUT)  # noqa: F821 - given by the executor
    WORKDIR = spec.get("workdir", "/work")
    started = time.monotonic()
    signal.signal(signal.SIGALRM, _alarm)
    helpers = {"read": read, "exists": exists, "isdir": isdir, "listdir": listdir,
               "lines": lines, "WORKDIR": WORKDIR, "OUTPUT": spec.get("output", ""),
               "CHECK_OUTPUT": spec.get("check_output", ""),
               "CHECK_EXIT": spec.get("check_exit"),
               "__name__": "__sandgym_checks__"}
    outcomes, errors = [], []
    deadline = started + float(spec["budget_s"])
    for index, source in enumerate(spec["checks"]):
        left = deadline - time.monotonic()
        if left <= 0:
            outcomes.append("timeout")
            errors.append("Timeout")
            continue
        try:
            signal.setitimer(signal.ITIMER_REAL, left)
            try:
                exec(compile(source, f"<check {index}>", "exec"), dict(helpers))  # noqa: S102
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
            outcomes.append("pass")
            errors.append(None)
        except JudgeTimeout:
            outcomes.append("timeout")
            errors.append("Timeout")
        except AssertionError:
            outcomes.append("fail")
            errors.append("AssertionError")
        except Exception as exc:  # noqa: BLE001 - a missing file fails its check
            outcomes.append("error")
            errors.append(type(exc).__name__)
    record = {"judge": "sandgym", "version": RECORD_VERSION, "nonce": spec["nonce"],
              "load": {"status": "ok", "error": None},
              "hidden": {"total": len(outcomes), "passed": outcomes.count("pass"),
                         "outcomes": outcomes, "errors": errors},
              "judge_s": round(time.monotonic() - started, 4)}
    sys.stdout.flush()
    data = (json.dumps(record) + "\n").encode("ascii")
    while data:
        data = data[os.write(record_fd, data):]


WORKDIR = "/work"
main()
