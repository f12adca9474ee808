"""Remove every live sandbox of this process at exit and on SIGTERM/SIGINT/SIGHUP.

Containers are also started with ``auto_remove`` and ``stdin_once``: when this process
dies however it dies, its attach connection closes, the executor reads end of input
and exits, and the engine removes the container. This module makes the ordinary exits
prompt and tidy; `sandgym sandbox gc` covers whatever is left after a crash of the
engine connection itself.
"""

from __future__ import annotations

import atexit
import logging
import os
import signal
import threading
import weakref
from typing import Any, Protocol

logger = logging.getLogger(__name__)

__all__ = ["track", "close_all"]


class _Closeable(Protocol):
    def close(self) -> None: ...


_live: weakref.WeakSet[Any] = weakref.WeakSet()
_lock = threading.Lock()
_installed = False


def track(resource: _Closeable) -> None:
    """Close resource at interpreter exit or on a terminating signal, unless closed first."""
    global _installed
    with _lock:
        _live.add(resource)
        if not _installed:
            _installed = True
            atexit.register(close_all)
            _install_signal_handlers()


def close_all() -> None:
    """Close every tracked resource (pools before the sandboxes they own)."""
    with _lock:
        resources = list(_live)
    for resource in sorted(resources, key=lambda r: 0 if hasattr(r, "acquire") else 1):
        try:
            resource.close()
        except Exception:  # noqa: BLE001 - best effort at exit
            logger.debug("closing %r at exit failed", resource, exc_info=True)


def _install_signal_handlers() -> None:
    """Chain a cleanup in front of SIGTERM/SIGHUP (SIGINT raises KeyboardInterrupt → atexit)."""
    if threading.current_thread() is not threading.main_thread():
        return
    for signum in (signal.SIGTERM, signal.SIGHUP):
        try:
            previous = signal.getsignal(signum)
        except (ValueError, OSError):
            continue
        if previous not in (signal.SIG_DFL, None):
            continue  # somebody (Ray, a server) owns this signal; atexit still runs

        def handler(sig: int, _frame: object, _previous: Any = previous) -> None:
            close_all()
            signal.signal(sig, signal.SIG_DFL)
            os.kill(os.getpid(), sig)

        try:
            signal.signal(signum, handler)
        except (ValueError, OSError):
            pass
