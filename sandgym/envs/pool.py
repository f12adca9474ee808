"""The process-wide default sandbox pool, for envs created without ``pool=``.

Created on first use (so `import sandgym` starts no container), sized for the machine
(``SANDGYM_POOL_SIZE`` overrides), closed at interpreter exit.
"""

from __future__ import annotations

import atexit
import copyreg
import logging
import os
import threading
import weakref

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
        if _pool is None or _pool._closed:  # noqa: SLF001 - no public "closed" flag yet
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

# gymnasium.make() deep-copies an env spec's kwargs (``pool=`` among them), e.g. in
# check_env's ``env.spec.make()``. A pool is a shared handle to running containers:
# copying it must give the same pool. Until SandboxPool defines __deepcopy__ itself,
# teach copy (and same-process pickling) that, through the public copyreg table.
_live_pools: weakref.WeakValueDictionary[int, SandboxPool] = weakref.WeakValueDictionary()


def _same_pool(token: int) -> SandboxPool:
    try:
        return _live_pools[token]
    except KeyError:
        raise RuntimeError("a SandboxPool cannot be copied to another process; create a pool "
                           "there (or omit pool= to use the default pool)") from None


def _reduce_pool(pool: SandboxPool) -> tuple:
    _live_pools[id(pool)] = pool
    return _same_pool, (id(pool),)


if "__deepcopy__" not in vars(SandboxPool):
    copyreg.pickle(SandboxPool, _reduce_pool)
