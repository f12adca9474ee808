"""Every sandgym env as a TRL environment (``GRPOTrainer(environment_factory=...)``).

TRL 1.16's contract (``grpo_trainer.py``): the factory is a zero-argument callable; TRL
makes one instance per rollout and reuses it across batches; before each rollout it
calls ``reset(**row)`` (the dataset row as keyword arguments; a returned string is
appended to the last user message); every *public function of the class* except
``reset`` and ``get_reward`` is offered to the model as a tool, its JSON schema built
from the type hints and Google docstring; ``get_reward()`` scores the finished rollout.
TRL never calls ``close``.

So here, one generic adapter serves every env, built from what the env declares
(`sandgym.envs.env_traits`): its ``tools`` become typed, documented methods of an
adapter class (`adapter_class`), each sending the action its `Tool` builds; the
family's rules stay in the family.

* ``get_reward`` returns the env's episode return, finishing an episode the model left
  open the way the env itself would (its ``finish()``); ``None`` after a sandbox error,
  so TRL leaves the rollout out;
* ``close`` is a `_NotATool` descriptor, which ``inspect.isfunction`` does not see on
  the class: it can never be offered as a tool; nor can private methods;
* steps are recorded by the same `StepRecorder` as the episode loop;
* sandboxes: an episode's sandbox goes back to the pool when the episode ends (or at
  the next ``reset``); `EnvironmentFactory.close` — called by the trainer callback at
  the end of training, by a ``weakref.finalize`` and at exit — closes every instance
  and the pool.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
import types
import weakref
from collections.abc import Callable
from typing import Any, ClassVar

from sandgym.agents.recorder import StepRecorder
from sandgym.train.chat_template import tool_calling_tokenizer
from sandgym.verdict import Verdict

logger = logging.getLogger(__name__)

__all__ = ["DEFAULT_TOOL_PROMPT", "EPISODE_OVER", "EnvironmentFactory", "ToolEnvironment",
           "adapter_class", "environment_factory", "tool_calling_tokenizer", "tool_names"]

EPISODE_OVER = "The episode is over; no further actions are accepted."
DEFAULT_TOOL_PROMPT = (
    "Solve the task by calling the tools. Call one tool at a time and read its result.")


class _NotATool:
    """A method TRL must never offer as a tool.

    TRL lists tools with ``inspect.getmembers(type(env), inspect.isfunction)``. On the
    class this descriptor returns itself (not a function, so it is not listed); on an
    instance it returns the bound method, so ``env.close()`` works as usual.
    """

    def __init__(self, func: Callable[..., Any]) -> None:
        self.func = func
        functools.update_wrapper(self, func)

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        return self if obj is None else types.MethodType(self.func, obj)


class _Stats:
    """What a factory's instances share: sandbox seconds and the log of finished episodes."""

    def __init__(self, keep: int = 10000) -> None:
        self.lock = threading.Lock()
        self.seconds = 0.0
        self.keep = keep
        self.episodes: list[dict[str, Any]] = []

    def add(self, seconds: float) -> None:
        with self.lock:
            self.seconds += seconds

    def record(self, episode: dict[str, Any]) -> None:
        with self.lock:
            self.episodes.append(episode)
            del self.episodes[:-self.keep]


class ToolEnvironment:
    """One sandgym env behind TRL's environment protocol (`adapter_class` adds the tools).

    Args:
        env_id: a registered env.
        pool: the `SandboxPool` the env leases from (None: the env's default pool);
            given only to envs that declare ``sandboxed``.
        env_kwargs: keyword arguments for ``gymnasium.make``.
        stats: shared timing counter (internal, set by `EnvironmentFactory`).
    """

    system_prompt: ClassVar[str] = DEFAULT_TOOL_PROMPT
    tools: ClassVar[tuple[Any, ...]] = ()

    def __init__(self, env_id: str, *, pool: Any = None, env_kwargs: dict[str, Any] | None = None,
                 stats: _Stats | None = None) -> None:
        import gymnasium as gym

        from sandgym.envs import env_traits

        kwargs = dict(env_kwargs or {})
        if pool is not None and env_traits(env_id).sandboxed:
            kwargs["pool"] = pool
        self._env_id = env_id
        self._env = gym.make(env_id, **kwargs)
        _warn_if_scripted_grader(env_id, self._env)
        self._stats = stats or _Stats()
        self._closed = False
        self._recorder: StepRecorder | None = None
        self.finished_by_adapter = False
        self._scored = False

    # ------------------------------------------------------------------ TRL protocol

    def reset(self, **row: Any) -> str | None:
        """Start the row's task (``row["task_id"]``); return its prompt unless the row has it.

        Any open episode is finished first, so its sandbox goes back to the pool.
        """
        self._finish_open_episode()
        task_id = row.get("task_id")
        started = time.perf_counter()
        self._recorder = StepRecorder.reset(self._env, task_id=None if task_id is None
                                            else str(task_id), policy="trl")
        self._stats.add(time.perf_counter() - started)
        self.finished_by_adapter = False
        self._scored = False
        observation = self._recorder.first_observation
        if _prompt_contains(row.get("prompt"), observation):
            return None
        return observation

    def get_reward(self) -> float | None:
        """The env's return for this episode (None when the sandbox failed).

        An episode still open is finished the way the env would finish it (its
        ``finish()``); the result is recorded in ``verdicts`` / ``rewards``.
        """
        if self._recorder is None:
            return None
        if not self.done:
            self._finish()
        reward = self._recorder.close()
        if not self._scored:
            self._scored = True
            traj = self._recorder.trajectory
            self._stats.record({"task_id": self.task_id, "actions": list(traj.actions),
                                "statuses": [Verdict.of(v).status or None
                                             for v in traj.verdicts],
                                "reward": reward, "sandbox_error": traj.sandbox_error,
                                "finished_by_adapter": self.finished_by_adapter})
        return reward

    @_NotATool
    def close(self) -> None:
        """Give the episode's sandbox back and close the env (calling it twice is harmless)."""
        if self._closed:
            return
        self._closed = True
        self._env.close()

    # ------------------------------------------------------------------ state

    @property
    def trajectory(self) -> Any:
        """The current episode's `Trajectory` (None before the first reset)."""
        return None if self._recorder is None else self._recorder.trajectory

    @property
    def task_id(self) -> str | None:
        """The task of the current episode."""
        return None if self._recorder is None else self._recorder.trajectory.task_id

    @property
    def done(self) -> bool:
        """Whether the current episode is over."""
        return self._recorder is not None and self._recorder.done

    @property
    def sandbox_error(self) -> bool:
        """Whether the sandbox failed in the current episode."""
        return self._recorder is not None and self._recorder.trajectory.sandbox_error

    @property
    def actions(self) -> list[str]:
        """Actions sent to the env this episode."""
        return [] if self._recorder is None else self._recorder.trajectory.actions

    @property
    def rewards(self) -> list[float]:
        """Step rewards this episode."""
        return [] if self._recorder is None else self._recorder.trajectory.rewards

    @property
    def verdicts(self) -> list[dict[str, Any]]:
        """Step verdicts this episode (as the env wrote them)."""
        return [] if self._recorder is None else self._recorder.trajectory.verdicts

    def _finish_open_episode(self) -> None:
        if self._recorder is not None and not self.done:
            try:
                self._finish()
            except Exception:  # noqa: BLE001 - a new episode must still start
                logger.warning("finishing the previous episode of %s failed", self._env_id,
                               exc_info=True)

    def _call_tool(self, tool: Any, arguments: dict[str, Any]) -> str:
        """Turn a tool call into the env's action and step; the observation is the result."""
        from sandgym.envs import InvalidToolCall

        if self._recorder is None:
            raise RuntimeError("reset() was not called: no task is running")
        if self.done:
            return EPISODE_OVER
        try:
            action = tool.action(**arguments)
        except InvalidToolCall as e:
            return str(e)
        started = time.perf_counter()
        self._recorder.step(self._env, action)
        self._stats.add(time.perf_counter() - started)
        return str(self._recorder.trajectory.final_observation)

    def _finish(self) -> None:
        """End an episode the model left open, as the env would (its ``finish()``)."""
        started = time.perf_counter()
        self._recorder.finish(self._env)
        self._stats.add(time.perf_counter() - started)
        self.finished_by_adapter = True

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._env_id!r}, task_id={self.task_id!r})"


def _tool_method(tool: Any) -> Callable[..., str]:
    """A method whose signature and Google docstring are the tool's (TRL reads both)."""
    def method(self: ToolEnvironment, *args: str, **kwargs: str) -> str:
        names = [name for name, _ in tool.params]
        return self._call_tool(tool, {**dict(zip(names, args, strict=False)), **kwargs})

    method.__name__ = method.__qualname__ = tool.name
    method.__doc__ = tool.docstring()
    method.__signature__ = tool.signature()  # type: ignore[attr-defined]
    method.__annotations__ = {**{name: str for name, _ in tool.params}, "return": str}
    return method


@functools.cache
def _adapter_for(tools: tuple[Any, ...], prompt: str, name: str) -> type[ToolEnvironment]:
    namespace: dict[str, Any] = {tool.name: _tool_method(tool) for tool in tools}
    namespace.update(tools=tools, system_prompt=prompt, __doc__=(
        f"TRL adapter with the tools {[t.name for t in tools]} (built from the env's traits)."))
    return type(name, (ToolEnvironment,), namespace)


def adapter_class(env_id: str) -> type[ToolEnvironment]:
    """The adapter class for an env: `ToolEnvironment` with the env's tools as methods.

    Envs declaring the same tools share one class.
    """
    from sandgym.envs import env_traits

    traits = env_traits(env_id)
    prompt = getattr(_env_class(env_id), "tool_prompt", None) or DEFAULT_TOOL_PROMPT
    name = "".join(part.title() for part in traits.tools[0].name.split("_")) + "ToolEnvironment"
    return _adapter_for(tuple(traits.tools), prompt, name)


def _env_class(env_id: str) -> Any:
    from sandgym.envs import env_class

    return env_class(env_id)


def tool_names(cls: type) -> list[str]:
    """The methods TRL 1.16 offers as tools for instances of ``cls`` (its exact rule)."""
    import inspect

    return [name for name, _ in inspect.getmembers(cls, predicate=inspect.isfunction)
            if name not in ("reset", "get_reward") and not name.startswith("_")]


class EnvironmentFactory:
    """Zero-argument callable that TRL calls to make adapter instances; owns their pool.

    Args:
        env_id: a registered env.
        pool_size: sandboxes in the shared pool. A stateful env (Shell) holds one per
            running episode, so give at least the number of rollouts per step.
        pool: use this pool instead (not closed here).
        **env_kwargs: keyword arguments for ``gymnasium.make``.

    Example:
        >>> factory = environment_factory("sandgym/PythonRepair-v0")  # doctest: +SKIP
        >>> trainer = GRPOTrainer(model, args=args, train_dataset=ds,
        ...                       environment_factory=factory, callbacks=[factory.callback()])
    """

    def __init__(self, env_id: str, *, pool_size: int | None = None, pool: Any = None,
                 **env_kwargs: Any) -> None:
        self.env_id = env_id
        self.env_kwargs = env_kwargs
        self.pool_size = pool_size
        from sandgym.envs import env_traits

        self.cls = adapter_class(env_id)
        self._sandboxed = env_traits(env_id).sandboxed
        self.__name__ = self.cls.__name__
        self._external_pool = pool
        self._pool: Any = None
        self._finalizer: weakref.finalize | None = None
        self._instances: weakref.WeakSet[ToolEnvironment] = weakref.WeakSet()
        self._stats = _Stats()
        self._lock = threading.Lock()
        self._closed = False

    @property
    def system_prompt(self) -> str:
        """Instructions that tell the model which tools to call."""
        return self.cls.system_prompt

    @property
    def tool_names(self) -> list[str]:
        """The tools TRL will offer the model."""
        return tool_names(self.cls)

    @property
    def grading_s_total(self) -> float:
        """Seconds all instances spent in env resets and steps (sandbox work)."""
        return self._stats.seconds

    @property
    def episodes(self) -> list[dict[str, Any]]:
        """Scored episodes, oldest first: task, actions (tool calls and the adapter's
        finishing action), verdict statuses, reward — what ``get_reward`` returned."""
        return list(self._stats.episodes)

    @property
    def instances(self) -> list[ToolEnvironment]:
        """The live instances this factory made."""
        return list(self._instances)

    def _shared_pool(self) -> Any:
        """The pool every instance leases from (None: not a sandgym env; it has its own)."""
        if self._external_pool is not None or not self._sandboxed:
            return self._external_pool
        if self._pool is None:
            from sandgym.envs.pool import default_pool_size
            from sandgym.sandbox import SandboxPool

            self._pool = SandboxPool(size=self.pool_size or default_pool_size())
            self._finalizer = weakref.finalize(self, self._pool.close)
        return self._pool

    def __call__(self) -> ToolEnvironment:
        """A new adapter instance (TRL calls this once per concurrent rollout)."""
        with self._lock:
            if self._closed:
                raise RuntimeError(f"the environment factory of {self.env_id} is closed")
            instance = self.cls(self.env_id, pool=self._shared_pool(),
                                env_kwargs=self.env_kwargs, stats=self._stats)
            self._instances.add(instance)
            return instance

    def close(self) -> None:
        """Close every instance, then the owned pool; calling it twice is harmless."""
        with self._lock:
            self._closed = True
            instances = list(self._instances)
            finalizer, self._finalizer, self._pool = self._finalizer, None, None
        for instance in instances:
            try:
                instance.close()
            except Exception:  # noqa: BLE001 - close the others and the pool anyway
                logger.warning("closing %r failed", instance, exc_info=True)
        if finalizer is not None:
            finalizer()

    def callback(self) -> Any:
        """A ``TrainerCallback`` that closes this factory when training ends."""
        from transformers import TrainerCallback

        factory = self

        class _CloseEnvironments(TrainerCallback):
            def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
                factory.close()

        return _CloseEnvironments()

    def __repr__(self) -> str:
        return (f"EnvironmentFactory({self.env_id!r}, adapter={self.cls.__name__}, "
                f"instances={len(self._instances)})")


_WARNED_SCRIPTED: set[str] = set()


def _warn_if_scripted_grader(env_id: str, env: Any) -> None:
    """Warn once per env id and process when the env grades with a scripted baseline.

    Why: the social envs' defaults (a length rater, a rule judge, a longer-argument-wins
    judge) exist for offline checks; a model trained on them learns what they pay for
    (length, stock phrases), not the skill. The env says so in ``scripted_grader``.
    """
    grader = getattr(getattr(env, "unwrapped", env), "scripted_grader", None)
    if grader and env_id not in _WARNED_SCRIPTED:
        _WARNED_SCRIPTED.add(env_id)
        logger.warning("%s grades with %s: training on it teaches what that rule pays for, "
                       "not the skill; pass a model judge or raters (--env-arg, "
                       "docs/social.md)", env_id, grader)


def environment_factory(env_id: str, *, pool_size: int | None = None, pool: Any = None,
                        **env_kwargs: Any) -> EnvironmentFactory:
    """``GRPOTrainer(environment_factory=environment_factory("sandgym/Shell-v0"))``.

    See `EnvironmentFactory`. Build the dataset with the adapter's instructions:
    ``prompts_dataset(env_id, system_prompt=factory.system_prompt)``, and give the
    trainer a tokenizer whose chat template renders tools
    (`sandgym.train.chat_template.tool_calling_tokenizer`).
    """
    return EnvironmentFactory(env_id, pool_size=pool_size, pool=pool, **env_kwargs)


def _prompt_contains(prompt: Any, observation: str) -> bool:
    """Whether the row's prompt already ends with a user message holding ``observation``."""
    if not observation or not isinstance(prompt, list) or not prompt:
        return False
    last = prompt[-1]
    content = last.get("content") if isinstance(last, dict) else None
    return isinstance(content, str) and observation in content
