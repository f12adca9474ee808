"""Register sandgym's envs when Gymnasium is imported, not when sandgym is.

``import sandgym`` must make ``gymnasium.make("sandgym/...")`` work (plugins included,
in Ray workers too), while ``import sandgym.sandbox`` — which runs ``sandgym/__init__``
first — must load neither Gymnasium nor plugin code (DESIGN.md: the sandbox layer
imports nothing of the layers above it). Both hold when registration is tied to
Gymnasium itself: if Gymnasium is already loaded, `install` registers at once;
otherwise it leaves a one-shot finder on ``sys.meta_path`` that lets Gymnasium load
normally and then registers, before ``import gymnasium`` returns to its caller.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import logging
import sys
import threading
from types import ModuleType
from typing import Any

__all__ = ["install"]

logger = logging.getLogger(__name__)
_lock = threading.Lock()


def _register() -> None:
    try:
        importlib.import_module("sandgym.envs")  # registers built-ins, discovers plugins
    except Exception:  # noqa: BLE001 - must never break `import gymnasium`
        logger.exception("registering sandgym's environments failed")


class _Loader(importlib.abc.Loader):
    """Gymnasium's own loader, then sandgym's registration."""

    def __init__(self, inner: importlib.abc.Loader) -> None:
        self.inner = inner

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self.inner.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        self.inner.exec_module(module)
        _register()

    def __getattr__(self, name: str) -> Any:  # e.g. get_resource_reader
        return getattr(self.inner, name)


class _Finder(importlib.abc.MetaPathFinder):
    """Finds ``gymnasium`` the usual way and wraps its loader (once, then leaves)."""

    def find_spec(self, name: str, path: Any = None, target: Any = None
                  ) -> importlib.machinery.ModuleSpec | None:
        if name != "gymnasium":
            return None
        _remove()
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.loader is not None:
            spec.loader = _Loader(spec.loader)
        return spec


def _remove() -> None:
    with _lock:
        sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, _Finder)]


def install() -> None:
    """Register now if Gymnasium is loaded, else as soon as it is imported."""
    if "gymnasium" in sys.modules:
        _register()
        return
    with _lock:
        if not any(isinstance(f, _Finder) for f in sys.meta_path):
            sys.meta_path.insert(0, _Finder())
