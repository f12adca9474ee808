"""SandboxPool: pre-warmed sandboxes, handed out one caller at a time.

Starting a container takes hundreds of milliseconds; a request to a warm one takes a
few. The pool keeps up to ``size`` containers, hands each to one caller at a time,
resets it on release (kills leftover processes, wipes the work dir), and replaces
dead ones in the background. It is thread-safe; the ``a``-prefixed methods are the
asyncio versions.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager, contextmanager
from typing import Any

from sandgym.errors import PoolClosedError, PoolTimeoutError, SandboxError
from sandgym.sandbox import cleanup
from sandgym.sandbox.docker_sandbox import DockerSandbox, docker_client
from sandgym.sandbox.image import DEFAULT_IMAGE
from sandgym.sandbox.limits import SandboxLimits

logger = logging.getLogger(__name__)

__all__ = ["SandboxPool"]


class SandboxPool:
    """A bounded, thread-safe pool of warm sandboxes.

    Args:
        size: most containers alive at once (idle + in use + starting).
        image: sandbox image (see `sandgym image build`).
        limits: limits of every sandbox in the pool.
        prewarm: start all ``size`` containers now, in the background.
        labels: extra container labels.

    Example:
        >>> with SandboxPool(size=2) as pool:                         # doctest: +SKIP
        ...     with pool.sandbox() as sandbox:
        ...         sandbox.run_python("print('hi')").stdout
        'hi\\n'
    """

    def __init__(self, size: int = 4, *, image: str = DEFAULT_IMAGE,
                 limits: SandboxLimits | None = None, prewarm: bool = True,
                 labels: Mapping[str, str] | None = None, client: Any = None) -> None:
        if size < 1:
            raise ValueError(f"SandboxPool size must be >= 1, got {size}")
        self.size = size
        self.image = image
        self.limits = limits or SandboxLimits()
        self._labels = dict(labels or {})
        self._client = client or docker_client()
        self._cond = threading.Condition()
        self._idle: deque[DockerSandbox] = deque()
        self._in_use: set[DockerSandbox] = set()
        self._starting = 0
        self._closed = False
        self._last_error: BaseException | None = None
        self._starter = ThreadPoolExecutor(max_workers=min(size, 4),
                                           thread_name_prefix="sandgym-pool")
        self.replaced = 0
        self.created = 0
        cleanup.track(self)
        if prewarm:
            with self._cond:
                for _ in range(size):
                    self._schedule_start_locked()

    # ------------------------------------------------------------------ acquire/release

    def acquire(self, timeout: float | None = 120.0) -> DockerSandbox:
        """A healthy sandbox for the caller's exclusive use; give it back with release()."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while True:
                self._check_open()
                while self._idle:
                    sandbox = self._idle.popleft()
                    if sandbox.is_alive():
                        self._in_use.add(sandbox)
                        return sandbox
                    self._retire_locked(sandbox, "found dead while idle")
                if self._total_locked() < self.size:
                    self._schedule_start_locked()
                if self._last_error is not None and self._starting == 0 and not self._in_use:
                    error, self._last_error = self._last_error, None
                    raise SandboxError(f"the pool cannot start sandboxes: {error}") from error
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    raise PoolTimeoutError(
                        f"no sandbox became free within {timeout}s (pool size {self.size}, "
                        f"{len(self._in_use)} in use); release sandboxes or enlarge the pool"
                    )
                self._cond.wait(remaining)

    def release(self, sandbox: DockerSandbox, *, reset: bool = True) -> None:
        """Give a sandbox back: reset it for the next user, or replace it if it is broken."""
        ok = sandbox.healthy
        if ok and reset and not self._closed:
            try:
                sandbox.reset()
            except SandboxError as e:
                logger.info("sandbox reset failed, replacing it: %s", e)
                ok = False
        with self._cond:
            self._in_use.discard(sandbox)
            if self._closed:
                sandbox.close()
            elif ok:
                self._idle.append(sandbox)
            else:
                self._retire_locked(sandbox, "unhealthy after use")
                self._schedule_start_locked()
            self._cond.notify()

    @contextmanager
    def sandbox(self, timeout: float | None = 120.0) -> Iterator[DockerSandbox]:
        """``with pool.sandbox() as sb:`` — acquire, then release however the block ends."""
        sandbox = self.acquire(timeout)
        try:
            yield sandbox
        finally:
            self.release(sandbox)

    async def aacquire(self, timeout: float | None = 120.0) -> DockerSandbox:
        """acquire() without blocking the event loop."""
        return await asyncio.to_thread(self.acquire, timeout)

    async def arelease(self, sandbox: DockerSandbox, *, reset: bool = True) -> None:
        """release() without blocking the event loop."""
        await asyncio.to_thread(self.release, sandbox, reset=reset)

    @asynccontextmanager
    async def asandbox(self, timeout: float | None = 120.0) -> AsyncIterator[DockerSandbox]:
        """``async with pool.asandbox() as sb:``."""
        sandbox = await self.aacquire(timeout)
        try:
            yield sandbox
        finally:
            await self.arelease(sandbox)

    def wait_ready(self, timeout: float = 120.0) -> None:
        """Block until every container of a pre-warmed pool has started."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._starting and time.monotonic() < deadline:
                self._cond.wait(deadline - time.monotonic())
            if self._last_error is not None and not self._idle:
                raise SandboxError(f"the pool cannot start sandboxes: {self._last_error}")

    # ------------------------------------------------------------------ state

    @property
    def closed(self) -> bool:
        """True after close()."""
        return self._closed

    def __copy__(self) -> SandboxPool:
        return self  # a pool is a shared resource, never duplicated

    def __deepcopy__(self, memo: dict[int, Any]) -> SandboxPool:
        # gymnasium.make deep-copies an env spec's kwargs; a pool passed as pool=...
        # must stay the same pool.
        return self

    def stats(self) -> dict[str, int]:
        """Counts of idle, in-use and starting containers, and replacements so far."""
        with self._cond:
            return {"size": self.size, "idle": len(self._idle), "in_use": len(self._in_use),
                    "starting": self._starting, "created": self.created,
                    "replaced": self.replaced}

    def close(self) -> None:
        """Remove every container of the pool. Calling it twice is harmless."""
        with self._cond:
            if self._closed:
                return
            self._closed = True
            sandboxes = list(self._idle) + list(self._in_use)
            self._idle.clear()
            self._cond.notify_all()
        self._starter.shutdown(wait=True, cancel_futures=True)
        for sandbox in sandboxes:
            sandbox.close()
        with self._cond:  # containers that finished starting while we shut down
            leftovers = list(self._idle)
            self._idle.clear()
        for sandbox in leftovers:
            sandbox.close()

    def __enter__(self) -> SandboxPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"SandboxPool(size={self.size}, image={self.image!r}, stats={self.stats()})"

    # ------------------------------------------------------------------ internals

    def _check_open(self) -> None:
        if self._closed:
            raise PoolClosedError("the sandbox pool is closed")

    def _total_locked(self) -> int:
        return len(self._idle) + len(self._in_use) + self._starting

    def _retire_locked(self, sandbox: DockerSandbox, why: str) -> None:
        logger.info("replacing sandbox %s (%s)", sandbox.container_id and
                    sandbox.container_id[:12], why)
        self.replaced += 1
        try:
            self._starter.submit(sandbox.close)  # removing a container takes a while
        except RuntimeError:  # the pool is shutting down
            sandbox.close()

    def _schedule_start_locked(self) -> None:
        if self._closed or self._total_locked() >= self.size:
            return
        self._starting += 1
        try:
            self._starter.submit(self._start_one)
        except RuntimeError:  # shut down concurrently
            self._starting -= 1

    def _start_one(self) -> None:
        sandbox = None
        error = None
        try:
            sandbox = DockerSandbox(self.image, self.limits, client=self._client,
                                    labels=self._labels)
        except BaseException as e:  # noqa: BLE001 - reported to waiting acquirers
            error = e
            logger.warning("starting a sandbox failed: %s", e)
        with self._cond:
            self._starting -= 1
            if sandbox is not None:
                self.created += 1
                if self._closed:
                    sandbox.close()
                else:
                    self._idle.append(sandbox)
                    self._last_error = None
            else:
                self._last_error = error
            self._cond.notify_all()
