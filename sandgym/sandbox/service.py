"""A hardened container that runs one long-lived program speaking line-delimited JSON.

Where `DockerSandbox` runs many short requests under its executor, a service container
runs one program of the caller's choosing (e.g. a third-party Gymnasium env's server)
for its whole life. It gets the same isolation as a sandbox, and less privilege: the
program runs as an unprivileged random uid with *no* capability (there is no executor
that must switch users), no network, a read-only root, size-capped tmpfs scratch,
memory = memswap, pids, CPU and core-dump limits, an init process, and the owner labels
`sandgym sandbox gc` reads. The container dies with its attach connection
(``StdinOnce`` + ``auto_remove``) and is force-removed on `close()`, at exit, or on
SIGTERM (`sandgym.sandbox.cleanup`).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping, Sequence
from typing import Any

from sandgym.errors import EngineUnavailableError, SandboxError
from sandgym.sandbox import cleanup
from sandgym.sandbox.docker_sandbox import _engine_gone, check_runtime, docker_client
from sandgym.sandbox.limits import SandboxLimits
from sandgym.sandbox.lines import LineChannel
from sandgym.sandbox.owner import owner_labels

logger = logging.getLogger(__name__)

__all__ = ["ServiceContainer", "LABEL_ROLE"]

LABEL_ROLE = "sandgym.role"
_UID_RANGE = (1_000_000, 2_000_000_000)


class ServiceContainer:
    """One hardened container running ``command`` (its entrypoint; None: the image's).

    `channel` talks to the program's stdin/stdout once `start()` returned.
    """

    def __init__(self, image: str, command: Sequence[str] | None = None, *,
                 limits: SandboxLimits | None = None, role: str = "service",
                 labels: Mapping[str, str] | None = None, max_line_bytes: int = 8 << 20,
                 client: Any = None) -> None:
        self.image = image
        self.command = list(command) if command is not None else None
        self.limits = limits or SandboxLimits()
        self.labels = {**owner_labels(), LABEL_ROLE: role, **(labels or {})}
        self.max_line_bytes = max_line_bytes
        self.uid = _UID_RANGE[0] + secrets.randbelow(_UID_RANGE[1] - _UID_RANGE[0])
        self._client = client
        self._container: Any = None
        self.channel: LineChannel | None = None
        self.closed = False

    @property
    def container_id(self) -> str | None:
        """The engine's id of the container (None before start)."""
        return self._container.id if self._container is not None else None

    def start(self) -> None:
        """Create, attach to and start the container (raises SandboxError on failure)."""
        client = self._client = self._client or docker_client()
        if self.limits.runtime is not None:
            check_runtime(client, self.limits.runtime)
        for name in self.limits.loosened():
            logger.warning("service container isolation loosened on request: %s", name)
        import docker.errors

        try:
            config = client.api.create_container_config(self.image, None, entrypoint=self.command,
                                                        **self._config(client))
            config["StdinOnce"] = True  # host gone -> program reads EOF -> removed
            created = client.api.create_container_from_config(config)
            self._container = client.containers.get(created["Id"])
            cleanup.track(self)
            sock = client.api.attach_socket(
                self._container.id, params={"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1})
            self.channel = LineChannel(getattr(sock, "_sock", sock), self.max_line_bytes)
            self._container.start()
        except docker.errors.DockerException as e:
            self.close()
            raise SandboxError(f"could not start a container from {self.image!r}: {e}") from e
        except BaseException as e:
            # The engine went away between two calls (its transport errors are no
            # DockerException), or anything else: a container created before that must
            # not be left behind.
            self.close()
            if _engine_gone(e):
                raise EngineUnavailableError(
                    f"the Docker engine stopped answering while a container from "
                    f"{self.image!r} started: {e}") from e
            raise
        logger.debug("service container %s started (%s)", self._container.id[:12], self.image)

    def _config(self, client: Any) -> dict[str, Any]:
        """Engine settings: the hardening lives here."""
        from docker.types import Ulimit

        lim = self.limits
        host_config = client.api.create_host_config(
            runtime=lim.runtime,
            auto_remove=True,
            init=True,
            cap_drop=["ALL"],
            security_opt=["no-new-privileges"],
            network_mode="bridge" if lim.network else "none",
            read_only=lim.read_only_root,
            tmpfs={"/tmp": f"rw,nosuid,nodev,noexec,size={lim.tmp_mb}m,"
                           f"nr_inodes={lim.files},mode=1777"},
            log_config={"type": "none", "config": {}},
            mem_limit=f"{lim.memory_mb}m",
            memswap_limit=f"{lim.memory_mb}m",
            nano_cpus=int(lim.cpus * 1e9),
            pids_limit=lim.pids,
            ulimits=[Ulimit(name="core", soft=0, hard=0),
                     Ulimit(name="fsize", soft=lim.file_size_mb << 20,
                            hard=lim.file_size_mb << 20)],
            ipc_mode="private",
        )
        return {
            "detach": True,
            "stdin_open": True,
            "tty": False,
            "user": f"{self.uid}:{self.uid}",
            "network_disabled": not lim.network,
            "hostname": "sandbox",
            "working_dir": "/tmp",
            "labels": self.labels,
            "environment": {"HOME": "/tmp", "PYTHONDONTWRITEBYTECODE": "1"},
            "host_config": host_config,
        }

    def close(self) -> None:
        """Kill and remove the container. Calling it twice is harmless."""
        if self.closed:
            return
        self.closed = True
        if self.channel is not None:
            self.channel.close()
        if self._container is not None:
            import docker.errors

            try:
                self._container.remove(force=True)
            except docker.errors.NotFound:
                pass
            except docker.errors.APIError as e:
                if e.status_code == 409:  # the engine's auto-removal is under way
                    self._wait_removed()
                elif e.status_code != 404:
                    logger.warning("removing container %s failed: %s", self.container_id, e)
            except Exception as e:
                if not _engine_gone(e):
                    raise
                # Never mask the caller's error, nor raise in a finalizer: the container
                # was created with auto_remove and its attach connection is closed, so the
                # engine removes it when it answers again (`sandgym sandbox gc` otherwise).
                logger.warning("the Docker engine does not answer; container %s is left to "
                               "its auto-removal: %s", self.container_id, e)

    def _wait_removed(self, timeout_s: float = 30.0) -> None:
        """Return once the engine has removed the container, so that close() means gone."""
        import docker.errors

        try:
            self._container.wait(condition="removed", timeout=timeout_s)
        except docker.errors.NotFound:
            pass
        except Exception as e:  # noqa: BLE001 - a read timeout: gc removes it later
            logger.warning("container %s is still being removed: %s", self.container_id, e)

    def __repr__(self) -> str:
        cid = self.container_id[:12] if self.container_id else "-"
        return f"ServiceContainer(image={self.image!r}, id={cid}, closed={self.closed})"
