"""The process-wide default sandbox pool, for envs created without ``pool=``.

Created on first use (so `import sandgym` starts no container), sized for the machine
(``SANDGYM_POOL_SIZE`` overrides), closed at interpreter exit.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading

from sandgym.sandbox import SandboxPool

logger = logging.getLogger(__name__)

__all__ = ["close_default_pool", "default_pool", "default_pool_size"]

_lock = threading.Lock()
_pool: SandboxPool | None = None


def default_pool_size() -> int:
    """``SANDGYM_POOL_SIZE``, else one sandbox per core, at least 2 and at most 8."""
    raw = os.environ.get("SANDGYM_POOL_SIZE")
    if raw:
        try:
            size = int(raw)
        except ValueError:
            size = 0
        if size < 1:
            raise ValueError(f"SANDGYM_POOL_SIZE must be a positive integer, got {raw!r}")
        return size
    return max(2, min(8, os.cpu_count() or 2))


def default_pool() -> SandboxPool:
    """The shared pool, started on first call; a closed one is replaced."""
    global _pool
    with _lock:
        if _pool is None or _pool.closed:
            size = default_pool_size()
            logger.info("starting the default sandbox pool (%d sandboxes)", size)
            _pool = SandboxPool(size=size)
        return _pool


def close_default_pool() -> None:
    """Remove the default pool's containers (registered to run at exit; harmless twice)."""
    global _pool
    with _lock:
        pool, _pool = _pool, None
    if pool is not None:
        pool.close()


atexit.register(close_default_pool)
