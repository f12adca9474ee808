"""DockerSandbox: one long-lived, hardened container whose main process is the executor."""

from __future__ import annotations

import base64
import json
import logging
import secrets
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import PurePosixPath
from typing import Any

from sandgym.errors import (
    EngineUnavailableError,
    ImageMismatchError,
    ImageNotFoundError,
    RequestTooLargeError,
    RuntimeUnavailableError,
    SandboxCrashedError,
    SandboxError,
)
from sandgym.sandbox import cleanup
from sandgym.sandbox.executor import MAX_FRAME_BYTES, PROTOCOL_VERSION
from sandgym.sandbox.image import DEFAULT_IMAGE, check_image
from sandgym.sandbox.limits import SandboxLimits
from sandgym.sandbox.owner import owner_labels
from sandgym.sandbox.result import ExecResult
from sandgym.sandbox.stream import AttachedStream

logger = logging.getLogger(__name__)

__all__ = ["DockerSandbox", "docker_client", "WORKDIR"]

WORKDIR = "/work"
# Every sandbox runs its code under its own uid (and its judge under the next one).
# Per-user limits such as RLIMIT_NPROC count a uid's processes across the whole host,
# so a shared uid would let a fork bomb in one sandbox starve its neighbours.
_UID_RANGE = (1_000_000, 2_000_000_000)
_START_TIMEOUT_S = 60.0
_REPLY_GRACE_S = 10.0
_FILE_OP_TIMEOUT_S = 30.0

_WORKDIR_MODE = 0o755
FileMap = Mapping[str, "str | bytes"]


def _ipc_sysctls(ipc_mb: int) -> dict[str, str]:
    """Bounds on the container's own IPC namespace (objects there outlive processes).

    Shared memory is capped at ``ipc_mb`` in all and destroyed once no process has it
    attached (``shm_rmid_forced``); message queues and semaphore sets are few and small,
    so what a request can pin in kernel memory before the executor removes it is small.
    """
    pages = max(1, (ipc_mb << 20) // 4096)
    return {
        "kernel.shmmax": str(ipc_mb << 20),
        "kernel.shmall": str(pages),
        "kernel.shmmni": "64",
        "kernel.shm_rmid_forced": "1",
        "kernel.msgmni": "16",
        "kernel.msgmnb": "16384",
        "kernel.msgmax": "8192",
        "kernel.sem": "64 1024 32 32",
        "fs.mqueue.queues_max": "16",
        "fs.mqueue.msg_max": "16",
        "fs.mqueue.msgsize_max": "8192",
    }


def docker_client() -> Any:
    """A docker SDK client from the environment (DOCKER_HOST etc.), or a clear error."""
    import docker

    try:
        client = docker.from_env(timeout=120)
        client.ping()
    except Exception as e:  # docker raises several unrelated types here
        raise EngineUnavailableError(
            f"no Docker engine answers ({e}). Start Docker or set DOCKER_HOST; on a fresh "
            "machine as root, `make test` / scripts/setup.sh installs and starts one."
        ) from e
    return client


def _engine_gone(error: BaseException) -> bool:
    """Whether ``error`` means the engine's socket did not answer at all (engine down).

    docker-py lets the transport's errors through unwrapped: while dockerd is stopped
    or restarting, a call fails with requests' ``ConnectionError`` (socket file gone,
    connection refused or aborted), which is no ``docker.errors.DockerException``.
    """
    import requests.exceptions

    return isinstance(error, requests.exceptions.ConnectionError)


def _encode_files(files: FileMap | None) -> list[dict[str, str]]:
    out = []
    for path, content in (files or {}).items():
        _check_relative(path)
        data = content.encode("utf-8") if isinstance(content, str) else bytes(content)
        out.append({"path": path, "b64": base64.b64encode(data).decode("ascii")})
    return out


def _check_relative(path: str) -> None:
    p = PurePosixPath(path)
    if p.is_absolute() or ".." in p.parts or not p.parts:
        raise ValueError(f"sandbox file paths are relative to {WORKDIR} and stay inside it; "
                         f"got {path!r}")


class _EngineCaps:
    """What the Docker engine can grant, learnt once per process."""

    def __init__(self) -> None:
        self.oom_floor = True

    def refuse_oom_floor(self, error: Exception) -> None:
        """The engine cannot grant CAP_SYS_RESOURCE (its own bounding set lacks it)."""
        # One line, once per process: it shows on every command that starts a sandbox
        # on such an engine, and the engine's own explanation is a paragraph of runc.
        if self.oom_floor:
            logger.warning(
                "this Docker engine cannot grant CAP_SYS_RESOURCE: sandboxes start without "
                "it, so an out-of-memory request may end its container (still scored "
                "`oom`, and replaced); README, security model")
            logger.debug("the engine refused CAP_SYS_RESOURCE: %s",
                         getattr(error, "explanation", None) or error)
        self.oom_floor = False


_engine_caps = _EngineCaps()


def check_runtime(client: Any, runtime: str) -> None:
    """Raise `RuntimeUnavailableError` unless the engine has ``runtime`` registered.

    Asked before every start with a non-default runtime (one cheap ``info`` call), so a
    missing gVisor is a clear error at once, not a container that never starts.
    """
    import docker.errors

    try:
        known = sorted((client.info().get("Runtimes") or {}).keys())
    except docker.errors.DockerException as e:
        raise SandboxError(f"could not ask the Docker engine for its runtimes: {e}") from e
    if runtime not in known:
        hint = ("install gVisor (Debian: apt-get install runsc), register it with the engine "
                "(`runsc install`, which edits /etc/docker/daemon.json) and restart or reload "
                "dockerd (kill -HUP its pid)" if runtime == "runsc" else
                f"register {runtime!r} in the engine's daemon.json \"runtimes\"")
        raise RuntimeUnavailableError(
            f"the Docker engine has no {runtime!r} runtime (it has: {', '.join(known)}); "
            f"{hint}, or choose the default runtime (runtime=None / unset $SANDGYM_RUNTIME). "
            "See docs/security.md.")


class DockerSandbox:
    """A hardened container that runs code on request in a few milliseconds.

    The container's main process is the sandgym executor: each request forks a fresh
    child from a warm interpreter inside the container (see `sandgym.sandbox.executor`),
    so a step costs about a millisecond plus the engine's stream latency, not a
    ``docker exec``. State that must persist across the steps of an episode lives in
    files under the work dir (``/work``); `reset()` wipes it.

    Example:
        >>> with DockerSandbox() as sandbox:                          # doctest: +SKIP
        ...     sandbox.run_python("print(6 * 7)").stdout
        '42\\n'
    """

    def __init__(self, image: str = DEFAULT_IMAGE, limits: SandboxLimits | None = None, *,
                 client: Any = None, labels: Mapping[str, str] | None = None,
                 start: bool = True) -> None:
        self.image = image
        self.limits = limits or SandboxLimits()
        self._client = client
        self._extra_labels = dict(labels or {})
        self._lock = threading.Lock()
        self._stream: AttachedStream | None = None
        self._container: Any = None
        self._next_id = 0
        self._healthy = False
        self._closed = False
        self.requests_served = 0
        self.oom_floor = False
        """Whether code under test is pinned at oom_score_adj 1000 (the engine granted
        CAP_SYS_RESOURCE): the OOM killer then never picks the executor or the judge."""
        self.uid = _UID_RANGE[0] + 2 * secrets.randbelow((_UID_RANGE[1] - _UID_RANGE[0]) // 2)
        if start:
            self.start()

    # ------------------------------------------------------------------ lifecycle

    @property
    def container_id(self) -> str | None:
        """The engine's id of the container (None before start)."""
        return self._container.id if self._container is not None else None

    @property
    def healthy(self) -> bool:
        """False once the container or its executor failed; the pool then replaces it."""
        return self._healthy and not self._closed

    def start(self) -> None:
        """Create and start the container and wait for the executor's hello."""
        if self._container is not None:
            return
        client = self._client = self._client or docker_client()
        try:
            check_image(client, self.image, PROTOCOL_VERSION)
        except Exception as e:
            if _engine_gone(e):
                raise EngineUnavailableError(f"the Docker engine does not answer: {e}") from e
            raise
        if self.limits.runtime is not None:
            check_runtime(client, self.limits.runtime)
        for name in self.limits.loosened():
            logger.warning("sandbox isolation loosened on request: %s", name)
        import docker.errors

        try:
            try:
                self._create_and_start(client, oom_floor=_engine_caps.oom_floor)
            except docker.errors.APIError as e:
                if not self.oom_floor or isinstance(e, docker.errors.NotFound):
                    raise
                # Perhaps only CAP_SYS_RESOURCE was refused (the engine's own bounding
                # set lacks it): try once without; a second failure is the real error.
                self._discard()
                self._create_and_start(client, oom_floor=False)
                _engine_caps.refuse_oom_floor(e)
        except docker.errors.ImageNotFound as e:
            self._discard()
            raise ImageNotFoundError(
                f"sandbox image {self.image!r} not found; run `sandgym image build`"
            ) from e
        except docker.errors.DockerException as e:
            self._discard()
            raise SandboxError(f"could not start a sandbox from {self.image!r}: {e}") from e
        except Exception as e:
            # The engine went away between two calls (restarting, stopped): a container
            # created before that must not be left behind, and the caller (the pool)
            # gets a SandboxError it knows, not the transport's own exception.
            self._discard()
            if _engine_gone(e):
                raise EngineUnavailableError(
                    f"the Docker engine stopped answering while a sandbox started: {e}") from e
            raise
        cleanup.track(self)
        try:
            hello = self._stream.receive(_START_TIMEOUT_S)
        except SandboxCrashedError:
            self._discard()
            raise
        if hello.get("protocol") != PROTOCOL_VERSION:
            self._discard()
            raise ImageMismatchError(
                f"the executor in {self.image!r} speaks protocol {hello.get('protocol')}, this "
                f"sandgym speaks {PROTOCOL_VERSION}; run `sandgym image build --force`"
            )
        self._healthy = True
        logger.debug("sandbox %s started", self.container_id[:12])

    def _create_and_start(self, client: Any, *, oom_floor: bool) -> None:
        self.oom_floor = oom_floor
        config = client.api.create_container_config(self.image, None,
                                                    **self._container_config())
        config["StdinOnce"] = True  # host gone -> executor reads EOF -> container removed
        created = client.api.create_container_from_config(config)
        self._container = client.containers.get(created["Id"])
        sock = client.api.attach_socket(
            self._container.id, params={"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1}
        )
        self._stream = AttachedStream(getattr(sock, "_sock", sock))
        self._container.start()

    def _container_config(self) -> dict[str, Any]:
        """Engine settings of the container: the hardening lives here."""
        from docker.types import Ulimit

        lim = self.limits
        executor_config = {
            "uid": self.uid, "gid": self.uid, "judge_uid": self.uid + 1,
            "judge_gid": self.uid + 1, "workdir": WORKDIR,
            "scratch_dirs": [WORKDIR, "/tmp", "/dev/shm"],
            "output_bytes": lim.output_bytes, "file_size_bytes": lim.file_size_mb << 20,
            "nproc": lim.nproc, "default_timeout_s": lim.timeout_s,
            "workdir_mode": _WORKDIR_MODE, "epoch": int(time.time()),
        }
        host_config = self._client.api.create_host_config(
            runtime=lim.runtime,
            auto_remove=True,
            init=True,
            cap_drop=["ALL"],
            # The executor (uid 0, nothing else) needs these to start children as other
            # uids, to kill them, and (SYS_RESOURCE, where the engine can grant it) to pin
            # their oom_score_adj at 1000 and its own below zero, so that the OOM killer
            # never picks it or the judge. The children themselves hold no capability.
            cap_add=["SETUID", "SETGID", "KILL"]
            + (["SYS_RESOURCE"] if self.oom_floor else []),
            security_opt=["no-new-privileges"],
            network_mode="bridge" if lim.network else "none",
            read_only=lim.read_only_root,
            tmpfs={
                # exec: scripts and binaries written by the code may run (they could
                # do nothing Python code cannot); Docker's tmpfs default is noexec.
                "/tmp": f"rw,exec,nosuid,nodev,size={lim.tmp_mb}m,nr_inodes={lim.files},"
                f"mode=1777",
                WORKDIR: f"rw,exec,nosuid,nodev,size={lim.workdir_mb}m,nr_inodes={lim.files},"
                f"uid={self.uid},gid={self.uid},mode={_WORKDIR_MODE:o}",
                # Our own /dev/shm (not the engine's IPC mount), for the inode cap.
                "/dev/shm": f"rw,nosuid,nodev,noexec,size={lim.tmp_mb}m,nr_inodes={lim.files},"
                f"mode=1777",
            },
            # Replies travel on stdout; a logging driver would copy every one of them to
            # the host's disk for the container's life.
            log_config={"type": "none", "config": {}},
            sysctls=_ipc_sysctls(lim.ipc_mb),
            mem_limit=f"{lim.memory_mb}m",
            memswap_limit=f"{lim.memory_mb}m",
            nano_cpus=int(lim.cpus * 1e9),
            pids_limit=lim.pids,
            ulimits=[Ulimit(name="core", soft=0, hard=0)],
            ipc_mode="private",
        )
        return {
            "detach": True,
            "stdin_open": True,
            "tty": False,
            "user": "0:0",  # the executor; it drops every child to an unprivileged uid
            "network_disabled": not lim.network,
            "hostname": "sandbox",
            "working_dir": WORKDIR,
            "labels": {**owner_labels(), **self._extra_labels},
            "environment": {"SANDGYM_EXECUTOR_CONFIG": json.dumps(executor_config)},
            "host_config": host_config,
        }

    def close(self) -> None:
        """Stop and remove the container. Calling it twice is harmless."""
        if self._closed:
            return
        self._closed = True
        self._healthy = False
        self._discard()

    def _discard(self) -> None:
        if self._stream is not None:
            self._stream.close()
        if self._container is not None:
            import docker.errors

            try:
                self._container.remove(force=True)
            except docker.errors.NotFound:
                pass
            except docker.errors.APIError as e:
                if e.status_code not in (404, 409):  # 409: auto-removal already under way
                    logger.warning("removing sandbox %s failed: %s", self.container_id, e)
            except Exception as e:
                if not _engine_gone(e):
                    raise
                # No engine to ask. A container is only ever lost with its engine: a
                # stopping dockerd stops it, and it was started with auto_remove (and
                # stdin_once: its executor exits once the attach stream closes), so the
                # engine removes it; `sandgym sandbox gc` covers anything else.
                logger.warning("the Docker engine does not answer; sandbox %s is left to "
                               "its auto-removal (%s)", self.container_id[:12], e)

    def __enter__(self) -> DockerSandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        cid = self.container_id[:12] if self.container_id else "-"
        return f"DockerSandbox(image={self.image!r}, id={cid}, healthy={self.healthy})"

    # ------------------------------------------------------------------ requests

    def run_python(self, code: str, *, stdin: str | None = None, timeout: float | None = None,
                   files: FileMap | None = None, env: Mapping[str, str] | None = None,
                   ) -> ExecResult:
        """Run Python source as ``__main__`` in a fresh child process.

        Args:
            code: the program text (any size the engine accepts; 5 MB is fine).
            stdin: text fed to the program's stdin; None gives it an empty stdin.
            timeout: wall-clock seconds before the process tree is killed
                (default ``limits.timeout_s``).
            files: files to write into the work dir first (relative path -> content).
            env: extra environment variables.

        Returns:
            The ExecResult; infrastructure failures come back as ``sandbox_error``.

        Raises:
            RequestTooLargeError: the request, once encoded, is over
                ``limits.request_mb``; nothing was sent and the sandbox stays usable.
        """
        return self._exec({"python": code}, stdin, timeout, files, env)

    def run(self, command: str | Sequence[str], *, stdin: str | None = None,
            timeout: float | None = None, files: FileMap | None = None,
            env: Mapping[str, str] | None = None) -> ExecResult:
        """Run a command: a string goes to ``/bin/sh -c``, a list is executed directly."""
        argv = ["/bin/sh", "-c", command] if isinstance(command, str) else list(command)
        if not argv:
            raise ValueError("run() needs a non-empty command")
        return self._exec({"argv": argv}, stdin, timeout, files, env)

    def run_judged(self, code: str, *, judge: str, judge_input: bytes = b"",
                   timeout: float | None = None, files: FileMap | None = None,
                   env: Mapping[str, str] | None = None) -> ExecResult:
        """Run untrusted ``code`` driven by a trusted ``judge`` program.

        The judge runs as its own uid, which the code under test can neither signal,
        trace nor read. It gets ``JUDGE_INPUT`` (bytes, e.g. hidden tests, which never
        pass through memory the code under test can see) and two fds,
        ``TO_CANDIDATE_FD`` / ``FROM_CANDIDATE_FD``, wired to the code's stdin/stdout.
        Whatever the judge prints is the result's ``stdout``: the grading record, which
        the code under test cannot forge. The code's stderr is the result's ``stderr``.
        The request frame and ``judge_input`` together count against
        ``limits.request_mb`` (`RequestTooLargeError`, nothing sent).
        """
        message = {"python": code, "judge": judge, "judge_input_bytes": len(judge_input)}
        return self._exec(message, None, timeout, files, env, trailer=judge_input)

    def _exec(self, message: dict[str, Any], stdin: str | None, timeout: float | None,
              files: FileMap | None, env: Mapping[str, str] | None,
              trailer: bytes = b"") -> ExecResult:
        timeout = float(timeout if timeout is not None else self.limits.timeout_s)
        if timeout <= 0:
            raise ValueError(f"timeout must be > 0 seconds, got {timeout}")
        request = {"op": "exec", **message, "timeout": timeout,
                   "files": _encode_files(files), "env": dict(env or {})}
        if stdin is not None:
            request["stdin"] = stdin
        start = time.monotonic()
        started_at = time.time()
        try:
            reply = self._call(request, timeout + _REPLY_GRACE_S, trailer)
        except SandboxCrashedError as e:
            if self._oom_killed_since(started_at):
                # The request filled the container's memory and the OOM killer ended the
                # container: the answer's doing, so it is scored like any other `oom`.
                return ExecResult(status="oom", exit_code=None, stdout="",
                                  stderr=f"out of memory: the sandbox was OOM-killed ({e})",
                                  truncated=False, duration_s=time.monotonic() - start)
            return ExecResult.infrastructure_failure(str(e), time.monotonic() - start)
        if reply.get("status") == "sandbox_error":
            self._healthy = False
            return ExecResult.infrastructure_failure(reply.get("stderr", "executor failure"),
                                                     time.monotonic() - start)
        return ExecResult(
            status=reply["status"],
            exit_code=reply.get("exit_code"),
            stdout=reply.get("stdout", ""),
            stderr=reply.get("stderr", ""),
            truncated=bool(reply.get("truncated")),
            duration_s=float(reply.get("duration_s", 0.0)),
            signal=reply.get("signal"),
            judge_stderr=reply.get("judge_stderr", ""),
        )

    def _oom_killed_since(self, since: float) -> bool:
        """Whether the engine reported an OOM kill in this container since ``since``."""
        if self._container is None or self._client is None:
            return False
        try:
            events = self._client.events(
                since=int(since) - 1, until=int(time.time()) + 1, decode=True,
                filters={"container": self._container.id, "event": "oom"})
            return any(int(event.get("timeNano", 0)) >= since * 1e9 for event in events)
        except Exception as e:  # noqa: BLE001 - the answer is then "unknown": no
            logger.debug("could not read the engine's events: %s", e)
            return False

    def write_file(self, path: str, content: str | bytes, *, mode: int | None = None) -> None:
        """Write a file under the work dir, as the sandbox user."""
        item = _encode_files({path: content})[0]
        if mode is not None:
            item["mode"] = mode
        reply = self._call({"op": "write_file", **item}, _FILE_OP_TIMEOUT_S)
        if reply.get("status") != "ok":
            raise SandboxError(f"write_file({path!r}) failed: {reply.get('stderr')}")

    def read_file(self, path: str, *, max_bytes: int | None = None) -> bytes:
        """Read a file under the work dir, as the sandbox user; capped at max_bytes."""
        _check_relative(path)
        cap = max_bytes or self.limits.output_bytes
        reply = self._call({"op": "read_file", "path": path, "max_bytes": cap},
                           _FILE_OP_TIMEOUT_S)
        if reply.get("status") != "ok":
            raise FileNotFoundError(f"read_file({path!r}) failed: {reply.get('stderr')}")
        data = base64.b64decode(reply["b64"])
        if len(data) > cap:
            raise SandboxError(f"{path!r} is larger than max_bytes={cap}")
        return data

    def reset(self) -> None:
        """Kill every process the code started and empty /work, /tmp and /dev/shm."""
        reply = self._call({"op": "reset"}, _FILE_OP_TIMEOUT_S)
        if reply.get("status") != "ok":
            self._healthy = False
            raise SandboxCrashedError(f"reset failed: {reply.get('stderr')}")

    def is_alive(self) -> bool:
        """A free check (no round trip) that the container has not gone away."""
        if not self.healthy or self._stream is None:
            return False
        if self._lock.locked():
            return True
        alive = self._stream.is_open()
        if not alive:
            self._healthy = False
        return alive

    def ping(self, timeout: float = 5.0) -> bool:
        """True when the executor answers within timeout."""
        try:
            return self._call({"op": "ping"}, timeout).get("status") == "ok"
        except SandboxCrashedError:
            return False

    def _check_size(self, request: dict[str, Any], size: int) -> None:
        """Refuse a request the executor could not take, before any byte of it is sent.

        Measured on the encoded bytes (frame plus trailer): JSON escapes alone can
        double a payload (a backslash becomes two), so a check on the payload's
        length is not enough. Never above the executor's own frame limit.
        """
        limit = min(self.limits.request_mb << 20, MAX_FRAME_BYTES)
        if size > limit:
            raise RequestTooLargeError(size, limit, f"{request.get('op', '?')} request")

    def _call(self, request: dict[str, Any], timeout: float, trailer: bytes = b"") -> dict:
        with self._lock:
            if self._closed:
                raise SandboxCrashedError("the sandbox is closed")
            if not self._healthy or self._stream is None:
                raise SandboxCrashedError("the sandbox is not healthy; replace it")
            self._next_id += 1
            request["id"] = self._next_id
            data = AttachedStream.encode(request, trailer)
            self._check_size(request, len(data))
            try:
                self._stream.send(data, timeout)
                reply = self._stream.receive(timeout)
            except SandboxCrashedError:
                self._healthy = False
                raise
            if reply.get("id") != request["id"] or reply.get("fatal"):
                self._healthy = False
                if reply.get("health"):
                    logger.warning("sandbox %s cannot be trusted after this request, it will "
                                   "be replaced: %s", self.container_id[:12], reply["health"])
                if reply.get("id") != request["id"]:
                    raise SandboxCrashedError(
                        f"executor reply out of step (wanted id {request['id']}, "
                        f"got {reply.get('id')}): {str(reply)[:200]}"
                    )
            self.requests_served += 1
            return reply
