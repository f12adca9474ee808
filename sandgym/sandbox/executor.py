"""The sandgym executor: the main process of every sandbox container (stdlib only).

It reads length-prefixed JSON requests from its stdin (the container's attached stream)
and writes length-prefixed JSON replies to its stdout. Per request it forks a fresh
child from its own, already warm, interpreter, so a step costs a fork (about a
millisecond) instead of a `docker exec` or a new interpreter.

Who runs what (the container runs this file as uid 0 holding only CAP_SETUID,
CAP_SETGID and CAP_KILL, with no-new-privileges):

* the executor itself (uid 0, no other capability) never runs untrusted code;
* code under test runs as the *sandbox* user, with no capability at all, in its own
  session, with rlimits and ``oom_score_adj=1000`` (the OOM killer takes it first);
* an optional *judge* (trusted grading code sent by the host) runs as a third uid and
  drives the code under test over pipes. Its secret input (hidden tests) never passes
  through the executor's memory: the host sends it as a raw block right after the
  request frame, and the judge child reads it from the stream itself. The code under
  test is forked before that block is read, and cannot signal, ptrace or read the
  files or memory of the judge or the executor (other uids).

After every request all processes of the sandbox and judge users are killed, so
nothing started by one request survives into the next.

Wire format, both ways: 4-byte big-endian length, then that many bytes of UTF-8 JSON.
Requests carry ``op`` (``exec``, ``write_file``, ``read_file``, ``reset``, ``ping``);
replies echo ``id``. This file is copied into the image; its hash labels the image.
"""

from __future__ import annotations

import atexit
import base64
import fcntl
import gc
import io
import json
import os
import resource
import select
import signal
import stat
import struct
import sys
import threading
import time
import traceback
import types

PROTOCOL_VERSION = 1

_HEADER = struct.Struct(">I")
_MAX_FRAME = 256 * 1024 * 1024
_UNTRUSTED_CODE_NAME = "<sandbox>"
_SIGNAL_NAMES = {int(s): s.name for s in signal.Signals}


class Config:
    """Per-container settings, given by the host in SANDGYM_EXECUTOR_CONFIG (JSON)."""

    def __init__(self, raw: dict) -> None:
        self.uid = int(raw.get("uid", 65432))
        self.gid = int(raw.get("gid", 65432))
        self.judge_uid = int(raw.get("judge_uid", 65433))
        self.judge_gid = int(raw.get("judge_gid", 65433))
        self.workdir = raw.get("workdir", "/work")
        self.scratch_dirs = list(raw.get("scratch_dirs", ["/work", "/tmp"]))
        self.output_bytes = int(raw.get("output_bytes", 256 * 1024))
        self.file_size_bytes = int(raw.get("file_size_bytes", 16 * 1024 * 1024))
        self.nproc = int(raw.get("nproc", 96))
        self.nofile = int(raw.get("nofile", 256))
        self.default_timeout_s = float(raw.get("default_timeout_s", 10.0))


# --------------------------------------------------------------------------- framing


def _read_exact(fd: int, n: int) -> bytes | None:
    chunks = []
    while n:
        try:
            chunk = os.read(fd, min(n, 1 << 20))
        except InterruptedError:
            continue
        if not chunk:
            return None
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        try:
            written = os.write(fd, view)
        except InterruptedError:
            continue
        view = view[written:]


def _read_all(fd: int) -> bytes:
    chunks = []
    while True:
        try:
            chunk = os.read(fd, 1 << 20)
        except InterruptedError:
            continue
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def recv_frame(fd: int) -> dict | None:
    """Read one request; None on end of stream (the host went away)."""
    header = _read_exact(fd, _HEADER.size)
    if header is None:
        return None
    (length,) = _HEADER.unpack(header)
    if length > _MAX_FRAME:
        raise ValueError(f"frame of {length} bytes exceeds {_MAX_FRAME}")
    body = _read_exact(fd, length)
    if body is None:
        return None
    return json.loads(body)


def send_frame(fd: int, message: dict) -> None:
    body = json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode(
        "utf-8", "surrogatepass"
    )
    _write_all(fd, _HEADER.pack(len(body)) + body)


# --------------------------------------------------------------------------- children


def _drop_to_user(uid: int, gid: int) -> None:
    os.setgroups([])
    os.setgid(gid)
    os.setuid(uid)  # from uid 0 this clears every capability


def _isolate(fd_map: dict[int, int], cfg: Config, untrusted: bool) -> None:
    """In a fresh child: own session, only the given fds, limits. Still uid 0."""
    os.setsid()
    for sig in (signal.SIGCHLD, signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, signal.SIG_DFL)
    for sig in (signal.SIGPIPE, signal.SIGXFSZ):  # as the interpreter sets them
        signal.signal(sig, signal.SIG_IGN)
    signal.set_wakeup_fd(-1)
    signal.pthread_sigmask(signal.SIG_SETMASK, [])
    # Park sources above every target first, so that no dup2 clobbers a later source.
    staged = {target: fcntl.fcntl(source, fcntl.F_DUPFD, 64) for target, source in fd_map.items()}
    for target, source in staged.items():
        os.dup2(source, target)
    os.closerange(max(fd_map) + 1, 65536)
    if untrusted:
        try:
            with open("/proc/self/oom_score_adj", "w") as f:
                f.write("1000")
        except OSError:
            pass
        resource.setrlimit(resource.RLIMIT_NPROC, (cfg.nproc, cfg.nproc))
    resource.setrlimit(resource.RLIMIT_FSIZE, (cfg.file_size_bytes, cfg.file_size_bytes))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_NOFILE, (cfg.nofile, cfg.nofile))


def _become(uid: int, gid: int, cwd: str, env: dict[str, str]) -> None:
    """Drop to an unprivileged user for good, then enter its directory and environment."""
    _drop_to_user(uid, gid)
    os.chdir(cwd)
    os.environ.clear()
    os.environ.update(env)


def _reset_stdio() -> None:
    sys.stdin = io.TextIOWrapper(io.FileIO(0, "r", closefd=False), encoding="utf-8",
                                 errors="replace")
    sys.stdout = io.TextIOWrapper(io.BufferedWriter(io.FileIO(1, "w", closefd=False)),
                                  encoding="utf-8", errors="backslashreplace")
    sys.stderr = io.TextIOWrapper(io.BufferedWriter(io.FileIO(2, "w", closefd=False)),
                                  encoding="utf-8", errors="backslashreplace",
                                  line_buffering=True)


def _exit_code_of(exc: SystemExit) -> int:
    code = exc.code
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    try:
        print(code, file=sys.stderr)
    except Exception:
        pass
    return 1


def _run_python_in_child(source: str, filename: str, namespace_extra: dict | None,
                         workdir: str) -> None:
    """Run source as ``__main__`` the way ``python3 -c`` would, then leave the process."""
    _reset_stdio()
    main = types.ModuleType("__main__")
    main.__dict__["__builtins__"] = __builtins__
    if namespace_extra:
        main.__dict__.update(namespace_extra)
    sys.modules["__main__"] = main
    sys.argv = [filename]
    sys.path[0] = workdir
    code = 0
    try:
        exec(compile(source, filename, "exec"), main.__dict__)  # noqa: S102 - the point
    except SystemExit as exc:
        code = _exit_code_of(exc)
    except BaseException:  # noqa: BLE001 - report it like the interpreter would
        traceback.print_exc()
        code = 1
    try:
        threading._shutdown()  # type: ignore[attr-defined]
    except BaseException:  # noqa: BLE001
        pass
    try:
        atexit._run_exitfuncs()
    except BaseException:  # noqa: BLE001
        pass
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BaseException:  # noqa: BLE001
            pass
    os._exit(code)


def _write_files(files: list[dict], workdir: str) -> None:
    for item in files:
        path = os.path.join(workdir, item["path"])
        parent = os.path.dirname(path)
        if parent:
            os.makedirs(parent, exist_ok=True)
        with open(path, "wb") as f:
            f.write(base64.b64decode(item["b64"]))
        if item.get("mode") is not None:
            os.chmod(path, int(item["mode"]))


def _user_env(cfg: Config, extra: dict | None) -> dict[str, str]:
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": cfg.workdir,
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "PYTHONIOENCODING": "utf-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONUNBUFFERED": "1",
        "TMPDIR": "/tmp",
        "USER": "sandbox",
        "LOGNAME": "sandbox",
    }
    if extra:
        env.update({str(k): str(v) for k, v in extra.items()})
    return env


# --------------------------------------------------------------------------- executor


class _Capture:
    """Reads a pipe into a bounded buffer; counts what it had to drop."""

    def __init__(self, fd: int, limit: int) -> None:
        self.fd = fd
        self.limit = limit
        self.parts: list[bytes] = []
        self.kept = 0
        self.dropped = 0
        self.open = True

    def read_some(self) -> None:
        try:
            chunk = os.read(self.fd, 1 << 16)
        except BlockingIOError:
            return
        except OSError:
            chunk = b""
        if not chunk:
            self.close()
            return
        room = self.limit - self.kept
        if room > 0:
            self.parts.append(chunk[:room])
            self.kept += min(room, len(chunk))
        self.dropped += max(0, len(chunk) - max(room, 0))

    def close(self) -> None:
        if self.open:
            os.close(self.fd)
            self.open = False

    def text(self) -> str:
        data = b"".join(self.parts).decode("utf-8", "replace")
        if self.dropped:
            data += f"\n... [truncated {self.dropped} bytes]"
        return data


class _Spare:
    """The parent's ends of a pre-forked child's pipes."""

    def __init__(self, pid: int, ctl_w: int, stdin_w: int, stdout_r: int, stderr_r: int):
        self.pid = pid
        self.ctl_w = ctl_w
        self.stdin_w = stdin_w
        self.stdout_r = stdout_r
        self.stderr_r = stderr_r

    def close(self) -> None:
        for fd in (self.ctl_w, self.stdin_w, self.stdout_r, self.stderr_r):
            try:
                os.close(fd)
            except OSError:
                pass


class Executor:
    """The request loop. One request at a time; every request gets fresh children."""

    def __init__(self, cfg: Config, in_fd: int, out_fd: int) -> None:
        self.cfg = cfg
        self.in_fd = in_fd
        self.out_fd = out_fd
        self.wake_r, self.wake_w = os.pipe()
        os.set_blocking(self.wake_w, False)
        os.set_blocking(self.wake_r, False)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        signal.set_wakeup_fd(self.wake_w)
        self.oom_counter_path = self._find_oom_counter()
        self.spare: _Spare | None = None

    # ---- helpers

    @staticmethod
    def _find_oom_counter() -> str | None:
        for path in ("/sys/fs/cgroup/memory.events", "/sys/fs/cgroup/memory/memory.oom_control"):
            if os.path.exists(path):
                return path
        return None

    def _oom_kills(self) -> int:
        if not self.oom_counter_path:
            return 0
        try:
            with open(self.oom_counter_path) as f:
                for line in f:
                    key, _, value = line.partition(" ")
                    if key == "oom_kill":
                        return int(value)
        except OSError:
            pass
        return 0

    @staticmethod
    def _live_uids(uids: tuple[int, ...]) -> set[int]:
        """Which of uids still own a live (non-zombie) process; a /proc scan, no fork."""
        found: set[int] = set()
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            try:
                uid = os.stat(f"/proc/{name}").st_uid
                if uid not in uids or uid in found:
                    continue
                with open(f"/proc/{name}/stat", "rb") as f:
                    state = f.read().rpartition(b")")[2].split()[0]
            except (OSError, IndexError):
                continue
            if state not in (b"Z", b"X"):
                found.add(uid)
        return found

    def _kill_user(self, uid: int, gid: int) -> None:
        """Kill every process of uid, wherever it hid (new sessions, double forks)."""
        pid = os.fork()
        if pid == 0:
            try:
                _drop_to_user(uid, gid)
                # kill(-1) keeps "succeeding" on zombies (our own killed children stay
                # zombies until we reap them), so do not loop until ESRCH here: the
                # caller rescans /proc, which skips zombies, and calls again if needed.
                for _ in range(3):
                    try:
                        os.kill(-1, signal.SIGKILL)
                    except ProcessLookupError:
                        break
            except BaseException:  # noqa: BLE001
                os._exit(1)
            os._exit(0)
        self._wait_blocking(pid)

    def kill_everything(self) -> None:
        """Kill all processes of the sandbox and judge users (cheap when there are none)."""
        for _ in range(20):
            uids = self._live_uids((self.cfg.uid, self.cfg.judge_uid))
            if not uids:
                return
            if self.cfg.uid in uids:
                self._kill_user(self.cfg.uid, self.cfg.gid)
            if self.cfg.judge_uid in uids:
                self._kill_user(self.cfg.judge_uid, self.cfg.judge_gid)
            time.sleep(0.001)  # killed processes need a moment to become zombies

    @staticmethod
    def _wait_blocking(pid: int) -> int:
        while True:
            try:
                return os.waitpid(pid, 0)[1]
            except InterruptedError:
                continue
            except ChildProcessError:
                return 0

    def _drain_wakeups(self) -> None:
        try:
            while os.read(self.wake_r, 512):
                pass
        except (BlockingIOError, OSError):
            pass

    # ---- request handlers

    def handle(self, req: dict) -> dict:
        # Objects in the permanent generation are never scanned by a child's collector,
        # so the child does not copy-on-write every page of the parent's heap.
        gc.freeze()
        op = req.get("op")
        if op == "ping":
            return {"status": "ok", "protocol": PROTOCOL_VERSION}
        if op == "exec":
            return self.exec_request(req)
        if op == "write_file":
            return self.as_user_request(req, "write")
        if op == "read_file":
            return self.as_user_request(req, "read")
        if op == "reset":
            return self.reset()
        return {"status": "sandbox_error", "stderr": f"unknown op {op!r}"}

    def reset(self) -> dict:
        self.kill_everything()
        reply = self.as_user_request({"op": "wipe"}, "wipe")
        self.kill_everything()
        return reply

    def as_user_request(self, req: dict, action: str) -> dict:
        """File work runs as the sandbox user, so it can touch only what that user can."""
        cfg = self.cfg
        out_r, out_w = os.pipe()
        pid = os.fork()
        if pid == 0:
            try:
                _isolate({1: out_w, 2: out_w}, cfg, untrusted=True)
                _become(cfg.uid, cfg.gid, cfg.workdir, _user_env(cfg, None))
                if action == "write":
                    _write_files([req], cfg.workdir)
                elif action == "read":
                    path = os.path.join(cfg.workdir, req["path"])
                    with open(path, "rb") as f:
                        data = f.read(int(req.get("max_bytes", cfg.output_bytes)) + 1)
                    os.write(1, json.dumps({"b64": base64.b64encode(data).decode()}).encode())
                elif action == "wipe":
                    _wipe(cfg.scratch_dirs)
                os._exit(0)
            except BaseException as exc:  # noqa: BLE001
                os.write(1, json.dumps({"error": f"{type(exc).__name__}: {exc}"}).encode())
                os._exit(1)
        os.close(out_w)
        capture = _Capture(out_r, 1 << 30)
        while capture.open:
            capture.read_some()
        status = self._wait_blocking(pid)
        raw = b"".join(capture.parts)
        payload = json.loads(raw) if raw else {}
        if os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0:
            return {"status": "ok", **payload}
        return {"status": "error", "stderr": payload.get("error", f"wait status {status}")}

    def spawn_spare(self) -> None:
        """Fork the child for the next request now, while the executor is idle.

        The spare does all the set-up that does not depend on the request (session,
        fds, rlimits) and then waits, still uid 0 and so out of reach of the code of
        other requests, for its request on a private pipe. This takes the fork and the
        set-up off the request's critical path.
        """
        if self.spare is not None:
            return
        ctl_r, ctl_w = os.pipe()
        in_r, in_w = os.pipe()
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        pid = os.fork()
        if pid == 0:
            self._spare_child(ctl_r, in_r, out_w, err_w)
        for fd in (ctl_r, in_r, out_w, err_w):
            os.close(fd)
        self.spare = _Spare(pid, ctl_w, in_w, out_r, err_r)

    def _take_spare(self) -> _Spare:
        spare = self.spare
        self.spare = None
        if spare is not None:
            try:
                gone, _ = os.waitpid(spare.pid, os.WNOHANG)
            except ChildProcessError:
                gone = spare.pid
            if not gone:
                return spare
            spare.close()
        self.spawn_spare()
        spare, self.spare = self.spare, None
        return spare

    def _spare_child(self, ctl_r: int, in_r: int, out_w: int, err_w: int) -> None:
        cfg = self.cfg
        try:
            _isolate({0: in_r, 1: out_w, 2: err_w, 3: ctl_r}, cfg, untrusted=True)
            req = json.loads(_read_all(3))
            os.close(3)
            _become(cfg.uid, cfg.gid, cfg.workdir, _user_env(cfg, req.get("env")))
            _write_files(req.get("files") or [], cfg.workdir)
            if req.get("argv"):
                argv = [str(a) for a in req["argv"]]
                for sig in (signal.SIGPIPE, signal.SIGXFSZ):  # programs expect defaults
                    signal.signal(sig, signal.SIG_DFL)
                try:
                    os.execvpe(argv[0], argv, os.environ)
                except OSError as exc:
                    os.write(2, f"sandgym: cannot execute {argv[0]!r}: {exc}\n".encode())
                    os._exit(127)
            _run_python_in_child(req.get("python", ""), _UNTRUSTED_CODE_NAME, None, cfg.workdir)
        except BaseException:  # noqa: BLE001
            try:
                os.write(2, traceback.format_exc().encode())
            finally:
                os._exit(126)
        os._exit(126)

    def exec_request(self, req: dict) -> dict:
        cfg = self.cfg
        timeout = float(req.get("timeout") or cfg.default_timeout_s)
        judge_source = req.get("judge")
        limit = int(req.get("output_bytes") or cfg.output_bytes)
        oom_before = self._oom_kills()
        start = time.monotonic()

        # 1. the code under test: the spare, forked before any secret reached the stream
        cand = self._take_spare()
        _write_all(cand.ctl_w, json.dumps({k: req.get(k) for k in
                                           ("python", "argv", "env", "files")}).encode())
        os.close(cand.ctl_w)
        stdin_w: int | None = cand.stdin_w

        # 2. the judge, which reads its secret input straight from the stream and talks
        #    to the code under test over the pipes that would otherwise be ours
        judge_pid = None
        if judge_source is not None:
            judge_out_r, judge_out_w = os.pipe()
            judge_err_r, judge_err_w = os.pipe()
            ack_r, ack_w = os.pipe()
            judge_pid = os.fork()
            if judge_pid == 0:
                self._judge_child(req, cfg, judge_source, judge_out_w, judge_err_w, ack_w,
                                  cand.stdin_w, cand.stdout_r)
            for fd in (judge_out_w, judge_err_w, ack_w, cand.stdin_w, cand.stdout_r):
                os.close(fd)
            stdin_w = None
            acked = self._wait_ack(ack_r, deadline=time.monotonic() + max(timeout, 10.0))
            os.close(ack_r)
            if not acked:
                self.kill_everything()
                self._reap_pids([cand.pid, judge_pid])
                for fd in (judge_out_r, judge_err_r, cand.stderr_r):
                    os.close(fd)
                return {"status": "sandbox_error", "stderr": "judge did not take its input",
                        "fatal": True}
            main_pid = judge_pid
            out = _Capture(judge_out_r, limit)
            err = _Capture(cand.stderr_r, limit)
            judge_err = _Capture(judge_err_r, limit)
            captures = [out, err, judge_err]
        else:
            main_pid = cand.pid
            out = _Capture(cand.stdout_r, limit)
            err = _Capture(cand.stderr_r, limit)
            judge_err = None
            captures = [out, err]
        for c in captures:
            os.set_blocking(c.fd, False)
        stdin_data = req.get("stdin") if judge_source is None else None
        if stdin_w is not None:
            os.set_blocking(stdin_w, False)

        status, timed_out, duration = self._supervise(
            main_pid, [cand.pid, judge_pid], captures, stdin_w,
            (stdin_data or "").encode("utf-8", "surrogateescape"), start + timeout, start)
        self.kill_everything()
        _drain_to_eof(captures, time.monotonic() + 2.0)
        oom = self._oom_kills() > oom_before

        reply = {
            "stdout": out.text(),
            "stderr": err.text(),
            "truncated": bool(out.dropped or err.dropped),
            "duration_s": duration,
        }
        if judge_err is not None:
            reply["judge_stderr"] = judge_err.text()
        reply.update(_verdict(status, timed_out, oom))
        return reply

    def _judge_child(self, req, cfg, source, out_w, err_w, ack_w, to_cand, from_cand) -> None:
        try:
            size = int(req.get("judge_input_bytes", 0))
            secret = _read_exact(self.in_fd, size) if size else b""
            os.write(ack_w, b"1")
            _isolate({1: out_w, 2: err_w, 3: to_cand, 4: from_cand}, cfg, untrusted=False)
            _become(cfg.judge_uid, cfg.judge_gid, "/", _user_env(cfg, None))
            extra = {"JUDGE_INPUT": secret or b"", "TO_CANDIDATE_FD": 3, "FROM_CANDIDATE_FD": 4}
            _run_python_in_child(source, "<judge>", extra, "/")
        except BaseException:  # noqa: BLE001
            try:
                os.write(2, traceback.format_exc().encode())
            finally:
                os._exit(126)
        os._exit(126)

    @staticmethod
    def _wait_ack(fd: int, deadline: float) -> bool:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            try:
                ready, _, _ = select.select([fd], [], [], left)
            except InterruptedError:
                continue
            if ready:
                return os.read(fd, 1) == b"1"

    def _reap_pids(self, pids: list[int | None]) -> None:
        for pid in pids:
            if pid:
                self._wait_blocking(pid)

    def _supervise(self, main_pid, all_pids, captures, stdin_w, stdin_data, deadline, start):
        """Pump pipes until the main child exits or the deadline passes."""
        poller = select.poll()
        by_fd = {}
        for c in captures:
            poller.register(c.fd, select.POLLIN | select.POLLHUP | select.POLLERR)
            by_fd[c.fd] = c
        poller.register(self.wake_r, select.POLLIN)
        pending = memoryview(stdin_data)
        if stdin_w is not None:
            if pending:
                poller.register(stdin_w, select.POLLOUT | select.POLLERR)
            else:
                os.close(stdin_w)
                stdin_w = None
        statuses: dict[int, int] = {}
        timed_out = False
        end = None
        while True:
            for pid in all_pids:
                if pid and pid not in statuses:
                    try:
                        got, status = os.waitpid(pid, os.WNOHANG)
                    except ChildProcessError:
                        got, status = pid, 0
                    if got:
                        statuses[pid] = status
                        if pid == main_pid:
                            end = time.monotonic()
            if main_pid in statuses:
                break
            left = deadline - time.monotonic()
            if left <= 0:
                timed_out = True
                end = time.monotonic()
                break
            try:
                events = poller.poll(max(1, int(left * 1000) + 1))
            except InterruptedError:
                continue
            for fd, _event in events:
                if fd == self.wake_r:
                    self._drain_wakeups()
                elif fd == stdin_w:
                    try:
                        written = os.write(stdin_w, pending[:65536])
                        pending = pending[written:]
                    except (BrokenPipeError, OSError):
                        pending = pending[:0]
                    if not pending:
                        poller.unregister(stdin_w)
                        os.close(stdin_w)
                        stdin_w = None
                elif fd in by_fd:
                    capture = by_fd[fd]
                    capture.read_some()
                    if not capture.open:
                        poller.unregister(fd)
        if stdin_w is not None:
            os.close(stdin_w)
        # The main child is gone (or out of time): take what is already in the pipes, but
        # not forever, since a background process may still be writing.
        drain_until = time.monotonic() + 0.05
        for c in captures:
            while c.open and time.monotonic() < drain_until:
                if not select.select([c.fd], [], [], 0)[0]:
                    break
                c.read_some()
        self.kill_everything()
        for pid in all_pids:
            if pid and pid not in statuses:
                statuses[pid] = self._wait_blocking(pid)
        return statuses.get(main_pid, 0), timed_out, (end or time.monotonic()) - start


def _drain_to_eof(captures: list[_Capture], deadline: float) -> None:
    """Read pipes whose writers are all dead to their end; give up at deadline."""
    for c in captures:
        while c.open:
            left = deadline - time.monotonic()
            if left <= 0:
                c.close()
                break
            if select.select([c.fd], [], [], left)[0]:
                c.read_some()


def _verdict(status: int, timed_out: bool, oom: bool) -> dict:
    if timed_out:
        return {"status": "timeout", "exit_code": None, "signal": None}
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        verdict = "oom" if oom else "killed"
        return {"status": verdict, "exit_code": -sig, "signal": _SIGNAL_NAMES.get(sig, str(sig))}
    code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else 1
    if oom:
        return {"status": "oom", "exit_code": code, "signal": None}
    return {"status": "ok" if code == 0 else "error", "exit_code": code, "signal": None}


def _wipe(dirs: list[str]) -> None:
    """Empty scratch directories, even of entries made unreadable on purpose."""

    def remove(path: str) -> None:
        if os.path.islink(path) or not os.path.isdir(path):
            os.unlink(path)
            return
        os.chmod(path, stat.S_IRWXU)
        for name in os.listdir(path):
            remove(os.path.join(path, name))
        os.rmdir(path)

    for top in dirs:
        try:
            names = os.listdir(top)
        except OSError:
            continue
        for name in names:
            try:
                remove(os.path.join(top, name))
            except FileNotFoundError:
                pass


def main() -> None:
    cfg = Config(json.loads(os.environ.get("SANDGYM_EXECUTOR_CONFIG", "{}")))
    # Keep the protocol channel on private fds; stray writes to 0/1 cannot corrupt it.
    in_fd, out_fd = os.dup(0), os.dup(1)
    devnull = os.open("/dev/null", os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)
    os.close(devnull)
    executor = Executor(cfg, in_fd, out_fd)
    # The first compile() in a process pays a one-time set-up; pay it here, once, so
    # that every forked child starts with a warm compiler.
    compile("import os\nclass A:\n    def f(self, x=1):\n        return f'{x}'\n", "<warm>", "exec")
    gc.freeze()
    executor.spawn_spare()
    send_frame(out_fd, {"op": "hello", "protocol": PROTOCOL_VERSION, "pid": os.getpid(),
                        "oom_counter": executor.oom_counter_path})
    while True:
        try:
            req = recv_frame(in_fd)
        except (ValueError, json.JSONDecodeError) as exc:
            send_frame(out_fd, {"id": None, "status": "sandbox_error", "fatal": True,
                                "stderr": f"bad frame: {exc}"})
            return
        if req is None:
            executor.kill_everything()
            return
        try:
            reply = executor.handle(req)
        except Exception:  # noqa: BLE001 - an executor bug must reach the host, not hang it
            executor.kill_everything()
            reply = {"status": "sandbox_error", "stderr": traceback.format_exc()}
        reply["id"] = req.get("id")
        send_frame(out_fd, reply)
        executor.spawn_spare()


if __name__ == "__main__":
    main()
