"""Registry: Gymnasium's own, under the ``sandgym/`` namespace, plus plugin discovery.

`register` is a thin layer over `gymnasium.register` that also records what
``sandgym envs list`` shows (family, description, task count). Built-in families and
third-party plugins (entry-point group ``sandgym.envs``) are registered by
`ensure_registered`, which ``import sandgym`` calls: idempotent, cheap (entry points
are strings; nothing heavy is imported), and a broken plugin is logged and skipped.
"""

from __future__ import annotations

import importlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from types import ModuleType
from typing import Any

import gymnasium as gym
from gymnasium.envs.registration import EnvSpec

from sandgym.envs.contract import EnvTraits
from sandgym.envs.errors import EnvError

logger = logging.getLogger(__name__)

__all__ = ["ENTRY_POINT_GROUP", "NAMESPACE", "EnvInfo", "discover_plugins", "env_class",
           "env_traits", "ensure_registered", "env_info", "register", "registered_envs"]

NAMESPACE = "sandgym"
ENTRY_POINT_GROUP = "sandgym.envs"
BUILTIN_FAMILY_MODULES = ("sandgym.envs.code.registry", "sandgym.envs.social.registry",
                          "sandgym.envs.tools.registry")
"""Modules whose ``register_envs()`` registers a built-in family (cheaply)."""

TaskCount = int | Callable[[], int] | None


_GYM_OPTIONS = ("max_episode_steps", "reward_threshold", "nondeterministic", "order_enforce",
                "disable_env_checker", "apply_api_compatibility", "additional_wrappers",
                "vector_entry_point", "autoreset")
"""Keyword arguments of `gymnasium.register` that are options of the spec, not of the env."""


@dataclass
class EnvInfo:
    """What the registry lists about an env besides its Gymnasium spec.

    ``family`` and ``description`` are derived when a registration leaves them out:
    the family from the plugin's entry-point name (``sandgym`` for built-ins), the
    description from the first line of the env class's docstring (read on first use).
    """

    id: str
    family: str | None
    description: str | None
    task_count: TaskCount = None
    source: str = "sandgym"
    """``sandgym`` for built-ins, else the plugin's entry-point name."""

    def __post_init__(self) -> None:
        if not self.family:
            self.family = self.source if self.source not in ("sandgym", "gymnasium") else "?"

    def describe(self) -> str:
        """The description, derived from the env class's docstring when none was given."""
        if self.description is None:
            try:
                doc = (env_class(self.id).__doc__ or "").strip()
            except Exception as e:  # noqa: BLE001 - listing must not die on one env
                logger.warning("loading %s to describe it failed: %s", self.id, e)
                doc = ""
            self.description = doc.splitlines()[0] if doc else "(no description)"
        return self.description

    def count(self) -> int | None:
        """The number of tasks (computed on first use when given as a callable)."""
        if callable(self.task_count):
            try:
                self.task_count = int(self.task_count())
            except Exception as e:  # noqa: BLE001 - listing must not die on one env
                logger.warning("counting the tasks of %s failed: %s", self.id, e)
                return None
        return self.task_count


_INFO: dict[str, EnvInfo] = {}
_lock = threading.RLock()
_state = {"builtins": False, "plugins": False}
_current_source = threading.local()


def _qualify(env_id: str) -> str:
    if "/" not in env_id:
        return f"{NAMESPACE}/{env_id}"
    namespace = env_id.split("/", 1)[0]
    if namespace != NAMESPACE:
        raise EnvError(f"sandgym envs live in the {NAMESPACE!r} namespace; register "
                       f"{NAMESPACE}/{env_id.split('/', 1)[1]} instead of {env_id}")
    return env_id


def register(id: str, entry_point: str | Callable[..., gym.Env] | None = None,  # noqa: A002
             *, family: str | None = None, description: str | None = None,
             task_count: TaskCount = None, kwargs: dict[str, Any] | None = None,
             **options: Any) -> EnvSpec:
    """Register an environment under ``sandgym/`` (``Name-vN``; the namespace is added).

    Accepts what `gymnasium.register` accepts (``id`` and ``entry_point`` are enough),
    plus what ``sandgym envs list`` shows.

    Args:
        id: ``sandgym/Name-vN`` or ``Name-vN``.
        entry_point: ``"module:Class"`` (preferred: nothing is imported until make) or a
            callable returning a ``gymnasium.Env``.
        family: the family shown by ``sandgym envs list``; default: the plugin's name.
        description: one line for ``sandgym envs list``; default: the first line of
            the env class's docstring.
        task_count: number of tasks, or a callable computing it on demand.
        kwargs: constructor keyword arguments stored in the spec, as in Gymnasium.
        **options: `gymnasium.register` options (``max_episode_steps``, ...) go to the
            spec; any other keyword is a constructor keyword argument (e.g. ``tasks=``).

    Returns:
        The Gymnasium EnvSpec. Registering the same id with the same entry point and
        kwargs again is a no-op; a different one replaces it with a warning.

    Example:
        >>> import sandgym.envs                                       # doctest: +SKIP
        >>> sandgym.envs.register("MyTests-v0", "sandgym.envs.code:PythonTestsEnv",
        ...                       family="code", description="my tasks",
        ...                       tasks="/data/my_tasks.jsonl")
    """
    if entry_point is None:
        raise EnvError(f"register({id!r}) needs an entry_point ('module:Class' or a callable)")
    env_id = _qualify(id)
    gym_options = {k: options.pop(k) for k in list(options) if k in _GYM_OPTIONS}
    kwargs = {**(kwargs or {}), **options}
    source = getattr(_current_source, "name", None) or "sandgym"
    with _lock:
        existing = gym.registry.get(env_id)
        if existing is not None:
            if existing.entry_point == entry_point and existing.kwargs == kwargs:
                if env_id not in _INFO:
                    _INFO[env_id] = EnvInfo(env_id, family, description, task_count, source)
                return existing
            logger.warning("re-registering %s: %s replaces %s", env_id, entry_point,
                           existing.entry_point)
            del gym.registry[env_id]
        gym.register(id=env_id, entry_point=entry_point, kwargs=dict(kwargs), **gym_options)
        _INFO[env_id] = EnvInfo(env_id, family, description, task_count, source)
        return gym.registry[env_id]


def env_info(env_id: str) -> EnvInfo:
    """Registry metadata of an env (envs registered straight with gymnasium get a stub)."""
    ensure_registered()
    if env_id in _INFO:
        return _INFO[env_id]
    spec = gym.spec(env_id)  # raises Gymnasium's own error, with "did you mean"
    return EnvInfo(spec.id, None, None, None, "gymnasium")


def env_class(env_id: str) -> Any:
    """The class (or creator callable) registered for ``env_id``, without making an env.

    Accepts what `gymnasium.make` accepts, ``"module:sandgym/Name-v0"`` included.

    Raises:
        gymnasium.error.Error: no such id (Gymnasium's message, with "did you mean").
    """
    ensure_registered()
    if ":" in env_id:  # Gymnasium's "module:Name-v0": import the module, which registers
        module, env_id = env_id.split(":", 1)
        importlib.import_module(module)
    entry = gym.spec(env_id).entry_point
    return gym.envs.registration.load_env_creator(entry) if isinstance(entry, str) else entry


def env_traits(env_id: str) -> EnvTraits:
    """What the env registered as ``env_id`` declares (see `sandgym.envs.contract`)."""
    return EnvTraits.of(env_class(env_id))


def registered_envs() -> list[EnvInfo]:
    """Every env in the ``sandgym/`` namespace, sorted by id."""
    ensure_registered()
    ids = sorted(i for i in gym.registry if i.startswith(f"{NAMESPACE}/"))
    return [env_info(i) for i in ids]


def discover_plugins() -> dict[str, str]:
    """Load every entry point of group ``sandgym.envs``; return {name: "ok" | error}.

    An entry point names a module (registering on import) or a callable (called with no
    arguments). A plugin that fails is logged with its name and skipped.
    """
    results: dict[str, str] = {}
    try:
        entry_points = metadata.entry_points(group=ENTRY_POINT_GROUP)
    except Exception as e:  # noqa: BLE001 - a broken distribution must not break import
        logger.warning("listing %s entry points failed: %s", ENTRY_POINT_GROUP, e)
        return results
    for ep in sorted(entry_points, key=lambda e: e.name):
        _current_source.name = ep.name
        before = set(gym.registry)
        try:
            loaded = ep.load()
            if callable(loaded) and not isinstance(loaded, ModuleType):
                loaded()
            results[ep.name] = "ok"
            for env_id in sorted(set(gym.registry) - before):  # gymnasium.register straight
                if env_id.startswith(f"{NAMESPACE}/") and env_id not in _INFO:
                    _INFO[env_id] = EnvInfo(env_id, None, None, None, ep.name)
        except Exception as e:  # noqa: BLE001 - never fatal, by design
            logger.warning("sandgym plugin %r (%s) failed to load and is skipped: %s: %s",
                           ep.name, ep.value, type(e).__name__, e)
            results[ep.name] = f"{type(e).__name__}: {e}"
        finally:
            _current_source.name = None
    return results


def ensure_registered() -> None:
    """Register the built-in families and discover plugins, once per process."""
    with _lock:
        if not _state["builtins"]:
            _state["builtins"] = True
            for name in BUILTIN_FAMILY_MODULES:
                try:
                    importlib.import_module(name).register_envs()
                except Exception:  # noqa: BLE001 - one family must not hide the others
                    logger.exception("registering built-in family %s failed", name)
        if not _state["plugins"]:
            _state["plugins"] = True
            discover_plugins()
