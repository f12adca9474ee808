"""The sandgym executor: the main process of every sandbox container (stdlib only).

It reads length-prefixed JSON requests from its stdin (the container's attached stream)
and writes length-prefixed JSON replies to its stdout. Per request a fresh child runs
the work, forked from a warm interpreter inside the container, so a step costs a fork
(about a millisecond) instead of a `docker exec` or a new interpreter.

Who runs what (the container runs this file as uid 0 holding only CAP_SETUID,
CAP_SETGID, CAP_KILL and CAP_SYS_RESOURCE, with no-new-privileges):

* the executor (uid 0) reads requests and writes replies; it never runs untrusted code;
* the *zygote*, forked by the executor at start-up before any request was read, clones
  the children that run code under test ("spares"; with CLONE_PARENT, so they are the
  executor's own children). A spare's memory is a copy of the
  zygote's, which never held a request, reply, answer or grading record: nothing of an
  earlier request is in any frame, global, buffer or freed heap the code can scan;
* code under test runs in a spare as the *sandbox* user, with no capability, in its own
  session, with rlimits and ``oom_score_adj=1000`` that it cannot lower (set with
  CAP_SYS_RESOURCE, so 1000 is also its floor): the OOM killer takes it first, never the
  executor, the zygote or the judge (``-999``);
* an optional *judge* (trusted grading code sent by the host) runs as a third uid and
  drives the code under test over pipes. Its secret input (hidden tests) never passes
  through the executor's memory: the host sends it as a raw block right after the
  request frame, and the judge child reads it from the stream itself.

After every request every process of the sandbox and judge users is killed by the
executor itself (one kill(-1) sweep under uids the code does not own, then a /proc
check thread by thread: nothing the code can stop or stall takes part)
and every SysV/POSIX IPC object is removed, or the reply says the sandbox cannot be
trusted (``fatal``) and the host replaces it. ``reset`` also restores the work dir
(contents, mode, extended attributes, times) and empties /tmp and /dev/shm, and checks
that it did. File operations never block on FIFOs or devices and are bounded in time.
The zygote also watches the input stream: when the host is gone it kills the executor,
so the container ends whatever the executor is doing.

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
import socket
import stat
import struct
import sys
import threading
import time
import traceback
import types

PROTOCOL_VERSION = 2

_HEADER = struct.Struct(">I")
MAX_FRAME_BYTES = 256 * 1024 * 1024
"""Largest request frame the executor accepts (the host checks before sending)."""
_EXECUTOR_OOM_SCORE_ADJ = -999
# File jobs (write, read, wipe, IPC clean-up) must end well inside the host's 30 s
# window for file operations, even when a reset runs two of them.
_JOB_TIMEOUT_S = 8.0
_CHILD_OOM_SCORE_ADJ = 1000
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
        self.workdir_mode = int(raw.get("workdir_mode", 0o755))
        # The modification time every scratch dir is given back on reset.
        self.epoch = float(raw.get("epoch") or int(time.time()))


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
    if length > MAX_FRAME_BYTES:
        raise ValueError(f"frame of {length} bytes exceeds {MAX_FRAME_BYTES}")
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
        # Written while this process still holds CAP_SYS_RESOURCE, 1000 is also the
        # floor the code under test cannot go below (oom_score_adj_min).
        _set_oom_score_adj(_CHILD_OOM_SCORE_ADJ)
        resource.setrlimit(resource.RLIMIT_NPROC, (cfg.nproc, cfg.nproc))
    resource.setrlimit(resource.RLIMIT_FSIZE, (cfg.file_size_bytes, cfg.file_size_bytes))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_NOFILE, (cfg.nofile, cfg.nofile))


def _set_oom_score_adj(value: int) -> None:
    try:
        with open("/proc/self/oom_score_adj", "w") as f:
            f.write(str(value))
    except OSError:
        pass


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
        fd = _open_regular(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        with os.fdopen(fd, "wb") as f:
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
    """The executor's ends of a spare child's pipes (the child itself is the zygote's)."""

    def __init__(self, pid: int, ctl_w: int, stdin_w: int, stdout_r: int, stderr_r: int):
        self.pid = pid
        self.ctl_w = ctl_w
        self.stdin_w = stdin_w
        self.stdout_r = stdout_r
        self.stderr_r = stderr_r

    def close(self) -> None:
        for fd in (self.ctl_w, self.stdin_w, self.stdout_r, self.stderr_r):
            _close_quietly(fd)


def _close_quietly(fd: int | None) -> None:
    if fd is None or fd < 0:
        return
    try:
        os.close(fd)
    except OSError:
        pass


class ZygoteGone(Exception):
    """The zygote died or stopped answering: the sandbox cannot serve another request."""


# --------------------------------------------------------------------------- the zygote
#
# Spares are forked by the *zygote*, a process the executor forks once at start-up,
# before it has read a single request. Whatever a child can find in its own memory
# (frames, globals, buffers, freed heap) is therefore the zygote's: it has never held a
# request, a reply, an answer or a grading record. The executor, which does hold them,
# forks only judges (trusted code under a uid the code under test cannot touch).
#
# The zygote clones each spare with CLONE_PARENT, so the spare is the *executor's*
# child: the executor waits for it and gets its exit status directly, with no hop
# through the zygote on a request's path. Zygote <-> executor speak over a
# SOCK_SEQPACKET pair: the executor sends b"F" (make a spare); the zygote answers
# {"spare": pid} with the four pipe ends as SCM_RIGHTS.
#
# The zygote is also the owner watchdog: it polls the executor's input stream for a
# hang-up without ever reading it, and kills the executor when the host is gone, so
# the container goes away whatever the executor is doing.

_CLONE_PARENT = 0x00008000
_WALL = 0x40000000  # waitid: children of any kind (clone()d ones with other signals too)
_LIBC = None  # the zygote's handle on libc (loaded on its first clone)
_SYS_CLONE = {"x86_64": 56, "aarch64": 220, "ppc64le": 120, "s390x": 120, "riscv64": 220}


def _fork_as_sibling() -> int:
    """fork(), except that the child's parent is our parent (clone with CLONE_PARENT).

    Done as ``os.fork`` does it (the interpreter's before/after-fork hooks around the
    system call); returns 0 in the child and the child's pid in the caller.
    """
    import ctypes

    global _LIBC
    number = _SYS_CLONE.get(os.uname().machine)
    if number is None:
        raise OSError(f"no clone syscall number known for {os.uname().machine}")
    if _LIBC is None:
        _LIBC = ctypes.CDLL(None, use_errno=True)
        _LIBC.syscall.restype = ctypes.c_long
    libc = _LIBC
    api = ctypes.pythonapi
    api.PyOS_BeforeFork()
    pid = libc.syscall(ctypes.c_long(number), ctypes.c_ulong(_CLONE_PARENT | signal.SIGCHLD),
                       ctypes.c_ulong(0), ctypes.c_ulong(0), ctypes.c_ulong(0),
                       ctypes.c_ulong(0))
    if pid == 0:
        api.PyOS_AfterFork_Child()
        return 0
    errno = ctypes.get_errno()
    api.PyOS_AfterFork_Parent()
    if pid < 0:
        raise OSError(errno, f"clone(CLONE_PARENT) failed: {os.strerror(errno)}")
    return pid


def _zygote_main(cfg: Config, sock: socket.socket, watch_fd: int, executor_pid: int) -> None:
    poller = select.poll()
    poller.register(sock.fileno(), select.POLLIN)
    poller.register(watch_fd, 0)  # 0: hang-up and errors only; never read this fd
    while True:
        try:
            events = poller.poll()
        except InterruptedError:
            continue
        for fd, _event in events:
            if fd == watch_fd:
                # The host closed the stream: take the executor (and with it the
                # container) down even if it is stuck in the middle of something.
                _kill_quietly(executor_pid)
                os._exit(0)
            try:
                message = sock.recv(16)
            except InterruptedError:
                continue
            except OSError:
                message = b""
            if not message:
                os._exit(0)  # the executor is gone
            if message == b"F":
                _zygote_make_spare(cfg, sock)


def _zygote_make_spare(cfg: Config, sock: socket.socket) -> None:
    ctl_r, ctl_w = os.pipe()
    in_r, in_w = os.pipe()
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    try:
        pid = _fork_as_sibling()
    except OSError as exc:  # e.g. the pids limit: the executor will ask again
        for fd in (ctl_r, ctl_w, in_r, in_w, out_r, out_w, err_r, err_w):
            os.close(fd)
        message, fds = {"error": str(exc)}, []
    else:
        if pid == 0:
            _spare_main(cfg, ctl_r, in_r, out_w, err_w)
        for fd in (ctl_r, in_r, out_w, err_w):
            os.close(fd)
        message, fds = {"spare": pid}, [ctl_w, in_w, out_r, err_r]
    try:
        if fds:
            socket.send_fds(sock, [json.dumps(message).encode()], fds)
        else:
            sock.send(json.dumps(message).encode())
    except OSError:
        os._exit(0)  # the executor is gone
    for fd in fds:
        os.close(fd)


def _kill_quietly(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except OSError:
        pass


# --------------------------------------------------------------------------- spares


def _spare_main(cfg: Config, ctl_r: int, in_r: int, out_w: int, err_w: int) -> None:
    """A spare: set up, wait (uid 0, out of reach of other requests) for one job, do it.

    Jobs: ``exec`` (run Python source or a program as the sandbox user) and the file
    jobs (``write``, ``read``, ``wipe``, ``ipc_clean``), which also run as the sandbox
    user so that they can touch only what the code under test could.
    """
    try:
        _isolate({0: in_r, 1: out_w, 2: err_w, 3: ctl_r}, cfg, untrusted=True)
        job = json.loads(_read_all(3))
        os.close(3)
        op = job.get("op", "exec")
        if op != "exec":
            # From "/": the code may have made the work dir unenterable.
            _become(cfg.uid, cfg.gid, "/", _user_env(cfg, None))
            try:
                result = _FILE_JOBS[op](job, cfg)
            except BaseException as exc:  # noqa: BLE001 - reported to the executor
                _write_all(1, json.dumps({"error": f"{type(exc).__name__}: {exc}"}).encode())
                os._exit(1)
            _write_all(1, json.dumps(result).encode())
            os._exit(0)
        _become(cfg.uid, cfg.gid, cfg.workdir, _user_env(cfg, job.get("env")))
        _write_files(job.get("files") or [], cfg.workdir)
        if job.get("argv"):
            argv = [str(a) for a in job["argv"]]
            for sig in (signal.SIGPIPE, signal.SIGXFSZ):  # programs expect defaults
                signal.signal(sig, signal.SIG_DFL)
            try:
                os.execvpe(argv[0], argv, os.environ)
            except OSError as exc:
                os.write(2, f"sandgym: cannot execute {argv[0]!r}: {exc}\n".encode())
                os._exit(127)
        source = job.get("python", "")
        del job
        _run_python_in_child(source, _UNTRUSTED_CODE_NAME, None, cfg.workdir)
    except BaseException:  # noqa: BLE001
        try:
            os.write(2, traceback.format_exc().encode())
        finally:
            os._exit(126)
    os._exit(126)


def _open_regular(path: str, flags: int, mode: int = 0o644) -> int:
    """Open path without ever blocking on a FIFO or device, and only if it is a file."""
    fd = os.open(path, flags | os.O_NONBLOCK | os.O_CLOEXEC, mode)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(f"{path!r} is not a regular file")
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _job_write(job: dict, cfg: Config) -> dict:
    _write_files([job], cfg.workdir)
    return {}


def _job_read(job: dict, cfg: Config) -> dict:
    fd = _open_regular(os.path.join(cfg.workdir, job["path"]), os.O_RDONLY)
    with os.fdopen(fd, "rb") as f:
        data = f.read(int(job.get("max_bytes", cfg.output_bytes)) + 1)
    return {"b64": base64.b64encode(data).decode()}


def _job_wipe(job: dict, cfg: Config) -> dict:
    # The work dir belongs to the sandbox user: restore what the code may have changed
    # on the directory itself (mode, extended attributes) before emptying it, so that a
    # `chmod 300 /work` can neither hide files from the wipe nor lock out the judge.
    os.chmod(cfg.workdir, cfg.workdir_mode)
    for name in os.listxattr(cfg.workdir):
        os.removexattr(cfg.workdir, name)
    if _inode_flags(cfg.workdir):
        _set_inode_flags(cfg.workdir, 0)
    for top in cfg.scratch_dirs:
        _empty_dir(top)
    os.utime(cfg.workdir, (cfg.epoch, cfg.epoch))
    return {}


# ioctl numbers of the inode flags (chattr): FS_IOC_GETFLAGS / FS_IOC_SETFLAGS.
_FS_IOC_GETFLAGS = 0x80086601
_FS_IOC_SETFLAGS = 0x40086602


def _inode_flags(path: str) -> int:
    """The inode flags of path (0 where the file system has none)."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        raw = fcntl.ioctl(fd, _FS_IOC_GETFLAGS, struct.pack("i", 0))
        return struct.unpack("i", raw)[0]
    except OSError:
        return 0
    finally:
        os.close(fd)


def _set_inode_flags(path: str, flags: int) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        fcntl.ioctl(fd, _FS_IOC_SETFLAGS, struct.pack("i", flags))
    finally:
        os.close(fd)


def _job_ipc_clean(job: dict, cfg: Config) -> dict:
    """Remove the SysV IPC objects the sandbox user created (needs no privilege)."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    ipc_rmid = 0
    removers = {
        "shm": lambda ident: libc.shmctl(ident, ipc_rmid, None),
        "msg": lambda ident: libc.msgctl(ident, ipc_rmid, None),
        "sem": lambda ident: libc.semctl(ident, 0, ipc_rmid),
    }
    failed = []
    for kind, ident in job.get("objects", []):
        if removers[kind](int(ident)) != 0:
            failed.append(f"{kind} {ident}: errno {ctypes.get_errno()}")
    for name in os.listdir("/dev/mqueue") if os.path.isdir("/dev/mqueue") else []:
        os.unlink(os.path.join("/dev/mqueue", name))
    return {"failed": failed}


_FILE_JOBS = {"write": _job_write, "read": _job_read, "wipe": _job_wipe,
              "ipc_clean": _job_ipc_clean}


def _empty_dir(top: str) -> None:
    """Remove everything under top, at any depth, in time linear in what is there.

    It walks with relative ``chdir`` and names, so neither PATH_MAX, the recursion
    limit nor the open-file limit bounds the depth of what it can remove; each
    directory is listed once (its subdirectories kept on a stack), and made searchable
    first, so modes set by the code cannot hide its contents. What this user may not
    remove (someone else's file in a sticky dir) raises: the executor then cannot prove
    the sandbox clean and it is replaced.
    """
    os.chdir(top)
    stack: list[tuple[str, list[str]]] = [("", _unlink_files_list_dirs())]
    while stack:
        _name, subdirs = stack[-1]
        if subdirs:
            sub = subdirs.pop()
            os.chmod(sub, stat.S_IRWXU)
            os.chdir(sub)
            stack.append((sub, _unlink_files_list_dirs()))
            continue
        stack.pop()
        if stack:
            os.chdir("..")
            os.rmdir(_name)


def _unlink_files_list_dirs() -> list[str]:
    """Unlink every non-directory in the current directory; return its subdirectories."""
    with os.scandir(".") as entries:
        listing = [(e.name, e.is_dir(follow_symlinks=False)) for e in entries]
    subdirs = []
    for name, is_dir in listing:
        if is_dir:
            subdirs.append(name)
        else:
            try:
                os.unlink(name)
            except FileNotFoundError:
                pass
    return subdirs


# --------------------------------------------------------------------------- executor


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
        self.spare_requested = False
        self.spare_error: str | None = None
        self.zygote_sock: socket.socket | None = None
        self.zygote_pid = 0
        self.proven_clean = False  # set when the request's own kill found nothing left

    def start_zygote(self) -> None:
        """Fork the zygote; call before any request has been read."""
        mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        executor_pid = os.getpid()
        pid = os.fork()
        if pid == 0:
            try:
                mine.close()
                signal.set_wakeup_fd(-1)
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                for fd in (self.wake_r, self.wake_w, self.out_fd):
                    _close_quietly(fd)
                _zygote_main(self.cfg, theirs, self.in_fd, executor_pid)
            finally:
                os._exit(0)
        theirs.close()
        self.zygote_sock = mine
        self.zygote_pid = pid

    # ---- the zygote's side of things

    def _zygote_message(self, timeout: float) -> None:
        """Take the zygote's answer to b"F": a spare, or why there is none."""
        sock = self.zygote_sock
        if sock is None:
            raise ZygoteGone("no zygote")
        if not select.select([sock], [], [], timeout)[0]:
            raise ZygoteGone(f"the zygote did not answer within {timeout:.0f}s")
        try:
            data, fds, _flags, _addr = socket.recv_fds(sock, 256, 4)
        except OSError as e:
            raise ZygoteGone(f"the zygote is gone: {e}") from e
        if not data:
            raise ZygoteGone("the zygote is gone")
        self.spare_requested = False
        message = json.loads(data)
        if "spare" not in message or len(fds) != 4:
            # e.g. the pids limit was exhausted by the request running at that moment;
            # the caller asks again once that request's processes are gone.
            for fd in fds:
                _close_quietly(fd)
            self.spare_error = str(message.get("error"))
            return
        self.spare = _Spare(int(message["spare"]), *fds)

    def spawn_spare(self) -> None:
        """Ask the zygote for the next request's child now, while the executor is idle."""
        if self.spare is not None or self.spare_requested or self.zygote_sock is None:
            return
        self.zygote_sock.send(b"F")
        self.spare_requested = True

    def _take_spare(self) -> _Spare:
        self.spare_error = None
        for _ in range(3):
            self.spawn_spare()
            if self.spare is None:
                self._zygote_message(timeout=10.0)
            spare, self.spare = self.spare, None
            if spare is None:
                continue  # the zygote could not clone (see spare_error): ask again
            try:
                gone, _ = os.waitpid(spare.pid, os.WNOHANG)
            except ChildProcessError:
                gone = spare.pid
            if not gone:
                # The next request's spare is cloned while this request runs, so it is
                # ready when that request arrives (off the critical path).
                self.spawn_spare()
                return spare
            spare.close()  # died while idle (e.g. the OOM killer): take the next one
        raise ZygoteGone(f"no spare child to take the request ({self.spare_error or 'all died'})")

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
    def _process_uids(pid: str) -> tuple[set[int], bool] | None:
        """(real/effective/saved/fs uids, alive) of a process from /proc, None if gone.

        /proc/PID's owner is root for a non-dumpable process, so the uids are read from
        its status file, not from the directory's owner.
        """
        try:
            with open(f"/proc/{pid}/status", "rb") as f:
                text = f.read()
        except OSError:
            return None
        uids: set[int] = set()
        alive = True
        for line in text.split(b"\n"):
            if line.startswith(b"State:"):
                alive = line.split()[1] not in (b"Z", b"X")
            elif line.startswith(b"Uid:"):
                uids = {int(x) for x in line.split()[1:]}
                break
        if not alive:  # a zombie main thread may still have live threads
            alive = Executor._any_live_thread(pid)
        return uids, alive

    @staticmethod
    def _any_live_thread(pid: str) -> bool:
        try:
            tasks = os.listdir(f"/proc/{pid}/task")
        except OSError:
            return False
        for tid in tasks:
            try:
                with open(f"/proc/{pid}/task/{tid}/stat", "rb") as f:
                    state = f.read().rpartition(b")")[2].split()[0]
            except (OSError, IndexError):
                continue
            if state not in (b"Z", b"X"):
                return True
        return False

    def _live_pids(self, uids: set[int]) -> list[str]:
        # Our own root processes never change uid: skip reading their status.
        ours = {"1", str(os.getpid()), str(self.zygote_pid)}
        if self.spare is not None:
            ours.add(str(self.spare.pid))
        found = []
        for name in os.listdir("/proc"):
            if name.isdigit() and name not in ours:
                info = self._process_uids(name)
                if info is not None and info[1] and info[0] & uids:
                    found.append(name)
        return found

    def _kill_pid(self, pid: str, uids: set[int]) -> None:
        """SIGKILL one process of ours, never a process that took its pid meanwhile.

        The signal goes through a pidfd opened *before* the uid check, so it can only
        reach the process that was checked. It is sent by the executor itself (uid 0,
        CAP_KILL): no helper of the sandbox's uid, which the code could stop, is needed.
        """
        try:
            pidfd = os.pidfd_open(int(pid))
        except OSError:
            return
        try:
            info = self._process_uids(pid)
            if info is not None and info[0] & uids:
                signal.pidfd_send_signal(pidfd, signal.SIGKILL)
        except OSError:
            pass
        finally:
            os.close(pidfd)

    def _kill_all_of_both_users(self) -> None:
        """kill(-1, SIGKILL) over every process of the sandbox and judge users at once.

        The executor takes the judge's uid as real, the sandbox user's as effective
        uid and keeps 0 only as its saved uid: kill(-1) then reaches exactly the
        processes whose real or saved uid is either user's (in one sweep under the
        kernel's task lock, so a fork bomb cannot outrun it) and no root process, and
        while it lasts the code under test can neither signal nor trace the executor
        (it owns neither its real nor its saved uid). The saved 0 gives root back.
        """
        cfg = self.cfg
        os.setresuid(cfg.judge_uid, cfg.uid, 0)
        try:
            for _ in range(2):
                try:
                    os.kill(-1, signal.SIGKILL)
                except ProcessLookupError:
                    break
        finally:
            os.setresuid(0, 0, 0)

    def kill_everything(self) -> bool:
        """Kill all processes of the sandbox and judge users; False if some survived.

        The sweep always runs (an empty /proc scan proves nothing by itself); the scan
        afterwards is the proof, and it counts a process as alive while any of its
        threads is (a process whose main thread exited shows as a zombie).
        """
        uids = {self.cfg.uid, self.cfg.judge_uid}
        for attempt in range(100):
            self._kill_all_of_both_users()
            pids = self._live_pids(uids)
            if not pids:
                return True
            for pid in pids:  # belt and braces: one pidfd each
                self._kill_pid(pid, uids)
            time.sleep(0.0005 if attempt < 10 else 0.01)  # killed processes need a moment
        return not self._live_pids(uids)

    @staticmethod
    def _ipc_objects() -> list[tuple[str, int]]:
        """SysV IPC objects alive in the container's IPC namespace (kind, id)."""
        found = []
        for kind, id_column in (("shm", 1), ("msg", 1), ("sem", 1)):
            try:
                with open(f"/proc/sysvipc/{kind}") as f:
                    lines = f.read().splitlines()[1:]
            except OSError:
                continue
            for line in lines:
                fields = line.split()
                if len(fields) > id_column:
                    found.append((kind, int(fields[id_column])))
        return found

    @staticmethod
    def _mqueues() -> list[str]:
        try:
            return os.listdir("/dev/mqueue")
        except OSError:
            return []

    def clear_ipc(self) -> str | None:
        """Remove IPC objects a request left behind; a reason if some could not be."""
        objects = self._ipc_objects()
        if not objects and not self._mqueues():
            return None
        reply = self._run_job({"op": "ipc_clean", "objects": objects})
        left = self._ipc_objects()
        queues = self._mqueues()
        if left or queues:
            return (f"IPC objects survived their clean-up: {left} {queues} "
                    f"({reply.get('stderr') or reply.get('failed')})")
        return None

    def after_request(self, reply: dict) -> dict:
        """Prove the sandbox clean for the next request, or mark it for replacement."""
        problems = []
        clean, self.proven_clean = self.proven_clean, False
        if not (clean or self.kill_everything()):
            problems.append("processes of the sandbox user survived SIGKILL")
        self._reap_strays()
        try:
            ipc = self.clear_ipc()
        except ZygoteGone as e:
            ipc = str(e)
        if ipc:
            problems.append(ipc)
        if problems:
            reply["fatal"] = True
            reply["health"] = "; ".join(problems)
        return reply

    def _reap_strays(self) -> None:
        """Reap every ended child, not only those we started.

        Code under test can clone(CLONE_PARENT) to hand its own children to us; left
        unreaped, their zombies would count against the sandbox user's process limit
        (and carry names a later request could read) for the container's life. Called
        once the request's own children have been waited for.
        """
        while True:
            try:
                info = os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | _WALL)
            except ChildProcessError:
                return
            except InterruptedError:
                continue
            if info is None:
                return

    @staticmethod
    def _reaped(pid: int) -> int | None:
        """The wait status of our child pid if it has ended (without blocking)."""
        try:
            got, status = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return 0
        return status if got else None

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
        try:
            if op == "exec":
                return self.after_request(self.exec_request(req))
            if op == "write_file":
                return self.after_request(self.file_request(req, "write"))
            if op == "read_file":
                return self.after_request(self.file_request(req, "read"))
            if op == "reset":
                return self.reset()
        except ZygoteGone as e:
            self.kill_everything()
            return {"status": "sandbox_error", "stderr": str(e), "fatal": True}
        return {"status": "sandbox_error", "stderr": f"unknown op {op!r}"}

    def reset(self) -> dict:
        """End an episode: nothing of it may reach the next one, or the sandbox goes."""
        reply = self.after_request({"status": "ok"})
        if reply.get("fatal"):
            return {"status": "error", "stderr": reply["health"], "fatal": True}
        wiped = self._run_job({"op": "wipe"})
        reply = self.after_request(wiped)
        if reply.get("status") == "ok":
            cfg = self.cfg
            for top in cfg.scratch_dirs:
                if top != cfg.workdir:
                    try:  # root-owned shared dirs: only their owner may restore the time
                        os.utime(top, (cfg.epoch, cfg.epoch))
                    except OSError:
                        pass
            leftover = self._scratch_leftovers()
            if leftover:
                reply = {"status": "error", "stderr": leftover}
        if reply.get("status") != "ok":
            reply["fatal"] = True
        return reply

    def _scratch_leftovers(self) -> str | None:
        """What of an episode is still visible after the wipe (None: nothing)."""
        cfg = self.cfg
        try:
            st = os.stat(cfg.workdir)
            if stat.S_IMODE(st.st_mode) != cfg.workdir_mode:
                return f"{cfg.workdir} has mode {oct(stat.S_IMODE(st.st_mode))}"
            if os.listxattr(cfg.workdir):
                return f"{cfg.workdir} still carries extended attributes"
            if _inode_flags(cfg.workdir):
                return f"{cfg.workdir} still carries inode flags"
            for top in cfg.scratch_dirs:
                if os.listdir(top):
                    return f"{top} is not empty after the wipe"
                if os.stat(top).st_mtime != cfg.epoch:
                    return f"{top} kept a modification time the code could set"
        except OSError as e:
            return f"cannot verify the wipe: {e}"
        return None

    def _run_job(self, job: dict, timeout: float = _JOB_TIMEOUT_S) -> dict:
        """Run a file job in a fresh spare as the sandbox user; never blocks past timeout."""
        spare = self._take_spare()
        deadline = time.monotonic() + timeout
        try:
            _write_all(spare.ctl_w, json.dumps(job).encode())
        except OSError:
            pass
        for fd in (spare.ctl_w, spare.stdin_w):
            _close_quietly(fd)
        out = _Capture(spare.stdout_r, 1 << 30)
        err = _Capture(spare.stderr_r, 64 * 1024)
        for c in (out, err):
            os.set_blocking(c.fd, False)
        status = None
        while status is None:
            status = self._reaped(spare.pid)
            if status is not None:
                break
            left = deadline - time.monotonic()
            if left <= 0:
                break
            fds = [c.fd for c in (out, err) if c.open] + [self.wake_r]
            try:
                ready = select.select(fds, [], [], left)[0]
            except InterruptedError:
                continue
            if self.wake_r in ready:
                self._drain_wakeups()
            for c in (out, err):
                if c.open and c.fd in ready:
                    c.read_some()
        if status is None:
            _kill_quietly(spare.pid)
            self.kill_everything()
            self._wait_blocking(spare.pid)
            for c in (out, err):
                c.close()
            return {"status": "error", "fatal": True,
                    "stderr": f"{job['op']} did not finish within {timeout:.0f}s"}
        _drain_to_eof([out, err], time.monotonic() + 2.0)
        raw = b"".join(out.parts)
        try:
            payload = json.loads(raw) if raw else {}
        except ValueError:
            payload = {"error": f"garbled reply {raw[:200]!r}"}
        if os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0:
            return {"status": "ok", **payload}
        return {"status": "error",
                "stderr": payload.get("error") or err.text() or f"wait status {status}"}

    def file_request(self, req: dict, action: str) -> dict:
        """write_file / read_file, as the sandbox user, bounded in time."""
        job = {k: v for k, v in req.items() if k not in ("op", "id")}
        job["op"] = action
        return self._run_job(job)

    def exec_request(self, req: dict) -> dict:
        cfg = self.cfg
        timeout = float(req.get("timeout") or cfg.default_timeout_s)
        judge_source = req.get("judge")
        limit = int(req.get("output_bytes") or cfg.output_bytes)
        oom_before = self._oom_kills()
        start = time.monotonic()

        # 1. the code under test: a spare of the zygote, which never held a request
        cand = self._take_spare()
        job = {"op": "exec", **{k: req.get(k) for k in ("python", "argv", "env", "files")}}
        try:
            _write_all(cand.ctl_w, json.dumps(job).encode())
        except OSError:
            pass  # the spare died (OOM while idle); its exit status tells the rest
        del job
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
                _kill_quietly(cand.pid)
                self.kill_everything()
                self._reap_pids([cand.pid, judge_pid])
                for fd in (judge_out_r, judge_err_r, cand.stderr_r):
                    os.close(fd)
                return {"status": "sandbox_error", "stderr": "judge did not take its input",
                        "fatal": True}
            out = _Capture(judge_out_r, limit)
            err = _Capture(cand.stderr_r, limit)
            judge_err = _Capture(judge_err_r, limit)
            captures = [out, err, judge_err]
        else:
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
            cand.pid, judge_pid, captures, stdin_w,
            _stdin_bytes(stdin_data or ""), start + timeout, start)
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

    def _reap_pids(self, pids: list[int | None]) -> None:
        for pid in pids:
            if pid:
                self._wait_blocking(pid)

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

    def _supervise(self, cand_pid, judge_pid, captures, stdin_w, stdin_data, deadline, start):
        """Pump pipes until the main child (judge, else candidate) exits or time is up.

        Both are the executor's children (the candidate through CLONE_PARENT), woken on
        SIGCHLD. Nothing here blocks on anything the code under test controls.
        """
        main_pid = judge_pid or cand_pid
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
            for pid in (cand_pid, judge_pid):
                if pid and pid not in statuses:
                    status = self._reaped(pid)
                    if status is not None:
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
        if cand_pid not in statuses:
            # Ours to kill even before it has dropped to the sandbox uid; an unreaped
            # child's pid cannot have been reused.
            _kill_quietly(cand_pid)
        self.proven_clean = self.kill_everything()
        for pid in (cand_pid, judge_pid):
            if pid and pid not in statuses:
                statuses[pid] = self._wait_blocking(pid)
        return statuses.get(main_pid, 0), timed_out, (end or time.monotonic()) - start


def _stdin_bytes(text: str) -> bytes:
    """stdin as bytes: surrogate escapes back to their bytes, lone surrogates as-is."""
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass")


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


def main() -> None:
    cfg = Config(json.loads(os.environ.get("SANDGYM_EXECUTOR_CONFIG", "{}")))
    # Keep the protocol channel on private fds; stray writes to 0/1 cannot corrupt it.
    in_fd, out_fd = os.dup(0), os.dup(1)
    devnull = os.open("/dev/null", os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)
    os.close(devnull)
    _set_oom_score_adj(_EXECUTOR_OOM_SCORE_ADJ)  # the zygote and judges inherit it
    executor = Executor(cfg, in_fd, out_fd)
    # The first compile() in a process pays a one-time set-up; pay it here, once, so
    # that every forked child starts with a warm compiler.
    compile("import os\nclass A:\n    def f(self, x=1):\n        return f'{x}'\n", "<warm>", "exec")
    gc.freeze()
    executor.start_zygote()  # before the first request: see "the zygote" above
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
