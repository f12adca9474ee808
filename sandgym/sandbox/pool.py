"""SandboxPool: pre-warmed sandboxes, handed out one caller at a time.

Starting a container takes hundreds of milliseconds; a request to a warm one takes a
few. The pool keeps up to ``size`` containers, hands each to one caller at a time,
resets it on release (kills leftover processes, wipes the work dir), and replaces
dead ones in the background. It is thread-safe; the ``a``-prefixed methods are the
asyncio versions.

Two promises hold whatever happens:

* a sandbox goes back to the idle set only when its reset succeeded and it is still
  healthy afterwards; otherwise it is retired (its container removed) and replaced
  before anyone else can use it, which is counted (``stats()["replaced"]``) and logged;
* the pool remembers every container it created until that container is removed, and
  `close()` removes all of them: it waits for starts and removals under way, and a
  removal, once scheduled, can never be cancelled.

A start that fails for a reason no retry can fix (the image is missing or speaks another
protocol, the OCI runtime is not registered: `PERMANENT_ERRORS`) is not retried in the
background: `wait_ready` raises that typed error at once, and so does a waiting `acquire`
when no sandbox is in use or starting (one in use may still come back, so it waits for
that, and its `PoolTimeoutError` then names the error), rather than a `PoolTimeoutError`
minutes later. A failure is not remembered against later callers: each `acquire` and
`wait_ready` tries the missing starts again (one cheap image check), so building the image
(or an engine back from a restart) heals a long-lived pool.
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

from sandgym.errors import (
    ImageMismatchError,
    ImageNotFoundError,
    PoolClosedError,
    PoolTimeoutError,
    RuntimeUnavailableError,
    SandboxError,
)
from sandgym.sandbox import cleanup
from sandgym.sandbox.docker_sandbox import DockerSandbox, docker_client
from sandgym.sandbox.image import DEFAULT_IMAGE
from sandgym.sandbox.limits import SandboxLimits

logger = logging.getLogger(__name__)

__all__ = ["PERMANENT_ERRORS", "SandboxPool"]

PERMANENT_ERRORS: tuple[type[SandboxError], ...] = (
    ImageNotFoundError, ImageMismatchError, RuntimeUnavailableError)
"""Start failures that waiting cannot cure: the user must act (build the image, register
the runtime). The pool reports them at once instead of retrying until a timeout."""

_BACKOFF_FIRST_S = 0.25
_BACKOFF_MAX_S = 8.0
"""After a failed start the next one waits, doubling up to this: an engine that is
restarting or gone is asked a few times a second at first, then every few seconds,
instead of thousands of times (each failure is also a log line)."""


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
        # A PERMANENT_ERRORS start failure: raised to every waiter, no background retries.
        self._fatal: SandboxError | None = None
        self._backoff_s = 0.0
        self._closing = threading.Event()  # cuts a backoff wait short
        # Every sandbox this pool created and has not yet removed, whatever its state
        # (idle, in use, being retired): what close() must remove.
        self._live: set[DockerSandbox] = set()
        self._removing: set[DockerSandbox] = set()  # in _live, removal scheduled
        self._starter = ThreadPoolExecutor(max_workers=min(size, 4),
                                           thread_name_prefix="sandgym-pool")
        # Removals run on their own threads and are never cancelled (close() waits
        # for them): a queued removal cancelled at close would leak its container.
        self._remover = ThreadPoolExecutor(max_workers=2,
                                           thread_name_prefix="sandgym-pool-remove")
        self.replaced = 0
        self.created = 0
        self.removed = 0
        cleanup.track(self)
        if prewarm:
            with self._cond:
                for _ in range(size):
                    self._schedule_start_locked()

    # ------------------------------------------------------------------ acquire/release

    def acquire(self, timeout: float | None = 120.0) -> DockerSandbox:
        """A healthy sandbox for the caller's exclusive use; give it back with release().

        Raises:
            PoolTimeoutError: none became free (or could start) within ``timeout``.
            SandboxError: one of `PERMANENT_ERRORS` (e.g. `ImageNotFoundError`) as soon
                as a start fails that way: waiting would not help.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            # A permanent failure seen before this call is given one more start (the user
            # may have built the image since); one that happens while waiting is raised.
            self._fatal = None
            while True:
                self._check_open()
                while self._idle:
                    sandbox = self._idle.popleft()
                    if sandbox.is_alive():
                        self._in_use.add(sandbox)
                        return sandbox
                    self._retire_locked(sandbox, "found dead while idle")
                if self._fatal is not None:
                    # No new start (it would fail the same way). Raised only when nothing
                    # can come back: a sandbox in use may be released healthy, a start
                    # under way may still succeed.
                    if not self._in_use and self._starting == 0:
                        raise _fresh(self._fatal) from self._fatal
                elif self._total_locked() < self.size:
                    self._schedule_start_locked()
                if self._last_error is not None and self._starting == 0 and not self._in_use:
                    error, self._last_error = self._last_error, None
                    if isinstance(error, PERMANENT_ERRORS):  # its _fatal cleared by another call
                        raise _fresh(error) from error
                    raise SandboxError(f"the pool cannot start sandboxes: {error}") from error
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    permanent = self._fatal or self._last_error
                    if isinstance(permanent, PERMANENT_ERRORS):
                        # Sandboxes were in use (so the waiter did not give up at once),
                        # but none came back and none can start: say why.
                        raise PoolTimeoutError(
                            f"no sandbox became free within {timeout}s (pool size "
                            f"{self.size}, {len(self._in_use)} in use) and none can start: "
                            f"{permanent}") from permanent
                    if self._last_error is not None:
                        # Starts keep failing (the engine is down or restarting): say
                        # so, rather than blame the pool's size.
                        raise PoolTimeoutError(
                            f"no sandbox within {timeout}s: the pool cannot start sandboxes "
                            f"(pool size {self.size}, {len(self._in_use)} in use); last "
                            f"error: {self._last_error}") from self._last_error
                    raise PoolTimeoutError(
                        f"no sandbox became free within {timeout}s (pool size {self.size}, "
                        f"{len(self._in_use)} in use); release sandboxes or enlarge the pool"
                    )
                self._cond.wait(remaining)

    def release(self, sandbox: DockerSandbox, *, reset: bool = True) -> None:
        """Give a sandbox back: reset it for the next user, or replace it.

        The sandbox is reused only when it is healthy, its reset succeeded and it is
        still healthy after the reset. Anything else (a crashed or hung executor, a
        reset that failed or found leftovers it could not remove) retires it: its
        container is removed and a fresh one started in its place.

        Args:
            sandbox: a sandbox from `acquire`.
            reset: reset it before reuse. ``False`` hands the next user the sandbox
                as it is (its files and state included); only for callers that reset
                it themselves.
        """
        why = None if sandbox.healthy else "unhealthy after use"
        if why is None and reset and not self._closed:
            try:
                sandbox.reset()
            except SandboxError as e:
                why = f"reset failed: {e}"
            else:
                if not sandbox.healthy:
                    why = "unhealthy after its reset"
        with self._cond:
            self._in_use.discard(sandbox)
            if self._closed:
                self._remove_later_locked(sandbox)
            elif why is None:
                self._idle.append(sandbox)
            else:
                self._retire_locked(sandbox, why)
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
        """Fill the pool up to ``size`` and block until those starts have finished.

        Start failures from before the call are not held against it: the containers
        missing (never started, failed to start, retired) are started again, so a pool
        whose image was built, or whose engine came back, since heals here too. Returns
        at ``timeout`` even if starts are still under way.

        Raises:
            SandboxError: no sandbox is idle and a start failed during this call; one of
                `PERMANENT_ERRORS` (e.g. `ImageNotFoundError`) as soon as a start fails
                that way, any other failure once the starts have finished.
            PoolClosedError: the pool is closed (or closes meanwhile).
        """
        deadline = time.monotonic() + timeout
        with self._cond:
            self._check_open()
            # Errors from before this call (a missing image since built, an engine since
            # restarted) would otherwise be raised again without a single new try.
            self._fatal = self._last_error = None
            while self._total_locked() < self.size:
                starting = self._starting
                self._schedule_start_locked()
                if self._starting == starting:  # the starter shut down (close() runs)
                    break
            while self._starting and self._fatal is None and not self._closed:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._cond.wait(remaining)
            self._check_open()
            if self._idle:
                return
            # Only failures of this call's starts (or of starts under way at its
            # beginning) are left: earlier ones were cleared above.
            error = self._fatal or self._last_error
            if isinstance(error, PERMANENT_ERRORS):
                raise _fresh(error) from error
            if error is not None:
                raise SandboxError(f"the pool cannot start sandboxes: {error}") from error

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
        """Counts of containers by state, and of those created, replaced and removed so far.

        ``live`` counts every container of the pool not yet removed (idle, in use, or
        being retired); after `close()` it is 0 and ``removed == created``.
        """
        with self._cond:
            return {"size": self.size, "idle": len(self._idle), "in_use": len(self._in_use),
                    "starting": self._starting, "live": len(self._live),
                    "created": self.created, "replaced": self.replaced,
                    "removed": self.removed}

    def close(self) -> None:
        """Remove every container the pool ever created; calling it twice is harmless.

        Waits for starts under way (their containers are removed too) and for every
        scheduled removal; starts that had not begun are dropped.
        """
        with self._cond:
            if self._closed:
                return
            self._closed = True
            self._closing.set()
            self._idle.clear()
            self._cond.notify_all()
        # No start can begin after this, and those under way have finished: a start
        # that finds the pool closed schedules the removal of its own sandbox.
        self._starter.shutdown(wait=True, cancel_futures=True)
        with self._cond:
            self._starting = 0
            for sandbox in list(self._live):
                self._remove_later_locked(sandbox)
        self._remover.shutdown(wait=True)  # never cancel_futures: every removal runs

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
        """Take a sandbox out of service for good and remove its container."""
        logger.warning("replacing sandbox %s (%s)", sandbox.container_id and
                       sandbox.container_id[:12], why)
        self.replaced += 1
        self._remove_later_locked(sandbox)

    def _remove_later_locked(self, sandbox: DockerSandbox) -> None:
        """Schedule the removal of the sandbox's container (close() waits for it)."""
        if sandbox not in self._live or sandbox in self._removing:
            return  # removed already, or its removal is under way
        self._removing.add(sandbox)
        try:
            self._remover.submit(self._remove, sandbox)
        except RuntimeError:  # only after close() finished; the lock is re-entrant
            self._remove(sandbox)

    def _remove(self, sandbox: DockerSandbox) -> None:
        try:
            sandbox.close()
        except Exception:  # noqa: BLE001 - reported; the sandbox stays counted as live
            logger.error("removing sandbox %s failed; `sandgym sandbox gc` removes it",
                         sandbox.container_id, exc_info=True)
            removed = False
        else:
            removed = True
        with self._cond:
            self._removing.discard(sandbox)
            if removed and sandbox in self._live:
                self._live.discard(sandbox)
                self.removed += 1
            self._cond.notify_all()

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
        skip = self._fatal is not None
        if not skip and self._backoff_s:
            skip = self._closing.wait(self._backoff_s) or self._fatal is not None
        if skip:
            # Closed while backing off, or a start queued (or backing off) behind a
            # permanent failure (it would fail the same way): nothing is created.
            with self._cond:
                self._starting -= 1
                self._cond.notify_all()
            return
        try:
            sandbox = DockerSandbox(self.image, self.limits, client=self._client,
                                    labels=self._labels)
        except BaseException as e:  # noqa: BLE001 - reported to waiting acquirers
            error = e
            if isinstance(e, PERMANENT_ERRORS):
                logger.debug("starting a sandbox failed for good: %s", e)
            else:
                logger.warning("starting a sandbox failed: %s", e)
        with self._cond:
            self._starting -= 1
            if sandbox is not None:
                self.created += 1
                self._live.add(sandbox)
                if self._closed:
                    self._remove_later_locked(sandbox)
                else:
                    self._idle.append(sandbox)
                    self._last_error = None
                self._backoff_s = 0.0
            elif isinstance(error, PERMANENT_ERRORS):
                # No backoff: no background retry follows, and the next acquire's one
                # retry should answer at once.
                self._fatal = self._last_error = error
            else:
                self._last_error = error
                self._backoff_s = min(_BACKOFF_MAX_S, max(_BACKOFF_FIRST_S, 2 * self._backoff_s))
            self._cond.notify_all()


def _fresh(error: SandboxError) -> SandboxError:
    """A new exception of the same type and message, for one waiter: one instance raised
    in several threads would share (and garble) its traceback."""
    try:
        return type(error)(str(error))
    except TypeError:  # a subclass with another constructor
        return SandboxError(str(error))
