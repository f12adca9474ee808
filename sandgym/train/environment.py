"""Multi-turn sandgym envs as TRL environments (``GRPOTrainer(environment_factory=...)``).

TRL 1.16's contract (``grpo_trainer.py``): the factory is a zero-argument callable; TRL
makes one instance per rollout and reuses it across batches; before each rollout it
calls ``reset(**row)`` (the dataset row as keyword arguments; a returned string is
appended to the last user message); every *public function of the class* except
``reset`` and ``get_reward`` is offered to the model as a tool, its JSON schema built
from the type hints and Google docstring; ``get_reward()`` scores the finished rollout.
TRL never calls ``close``.

So here:

* an env's actions become typed, documented tool methods, per family:
  `PythonToolEnvironment` (``submit_solution(code)``), `ShellToolEnvironment`
  (``run_command(command)``, ``submit()``), `TextToolEnvironment` (``act(action)``);
* ``get_reward`` returns the env's episode return, finishing an episode the model left
  open the way the env itself would (Shell grades the state as it is; Python envs
  grade the last attempt, or an empty answer when there was none); ``None`` after a
  sandbox error, so TRL leaves the rollout out;
* ``close`` is a `_NotATool` descriptor, which ``inspect.isfunction`` does not see on
  the class: it can never be offered as a tool; nor can private methods;
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

logger = logging.getLogger(__name__)

__all__ = ["EnvironmentFactory", "PythonToolEnvironment", "ShellToolEnvironment",
           "TextToolEnvironment", "ToolEnvironment", "adapter_class", "environment_factory",
           "tool_calling_tokenizer", "tool_names"]

EPISODE_OVER = "The episode is over; no further actions are accepted."


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
    """One sandgym env behind TRL's environment protocol (subclasses add the tools).

    Args:
        env_id: a registered env.
        pool: the `SandboxPool` the env leases from (None: the env's default pool).
        env_kwargs: keyword arguments for ``gymnasium.make``.
        stats: shared timing counter (internal, set by `EnvironmentFactory`).
    """

    system_prompt: ClassVar[str] = (
        "Solve the task by calling the tools. Call one tool at a time and read its result.")

    def __init__(self, env_id: str, *, pool: Any = None, env_kwargs: dict[str, Any] | None = None,
                 stats: _Stats | None = None) -> None:
        import gymnasium as gym

        kwargs = dict(env_kwargs or {})
        if pool is not None and _is_sandbox_env(env_id):
            kwargs["pool"] = pool
        self._env_id = env_id
        self._env = gym.make(env_id, **kwargs)
        self._stats = stats or _Stats()
        self._closed = False
        self._begin(None)

    # ------------------------------------------------------------------ TRL protocol

    def reset(self, **row: Any) -> str | None:
        """Start the row's task (``row["task_id"]``); return its prompt unless the row has it.

        Any open episode is finished first, so its sandbox goes back to the pool.
        """
        self._finish_open_episode()
        task_id = row.get("task_id")
        started = time.perf_counter()
        observation, info = self._env.reset(
            options=None if task_id is None else {"task_id": str(task_id)})
        self._stats.add(time.perf_counter() - started)
        self._begin((info or {}).get("task_id", task_id))
        if _prompt_contains(row.get("prompt"), str(observation)):
            return None
        return str(observation)

    def get_reward(self) -> float | None:
        """The env's return for this episode (None when the sandbox failed).

        An episode still open is finished the way the env would finish it
        (`_finish`); the result is recorded in ``verdicts`` / ``rewards``.
        """
        if self.task_id is None:
            return None
        if not self.done:
            self._finish()
        reward = None if self.sandbox_error else float(sum(self.rewards))
        if not self._scored:
            self._scored = True
            self._stats.record({"task_id": self.task_id, "actions": list(self.actions),
                                "statuses": [v.get("status") for v in self.verdicts],
                                "reward": reward, "sandbox_error": self.sandbox_error,
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

    def _begin(self, task_id: str | None) -> None:
        self.task_id = task_id
        self.actions: list[str] = []
        self.rewards: list[float] = []
        self.verdicts: list[dict[str, Any]] = []
        self.components: list[dict[str, Any]] = []
        self.done = False
        self.sandbox_error = False
        self.finished_by_adapter = False
        self._scored = False

    def _finish_open_episode(self) -> None:
        if self.task_id is not None and not self.done:
            try:
                self._finish()
            except Exception:  # noqa: BLE001 - a new episode must still start
                logger.warning("finishing the previous episode of %s failed", self._env_id,
                               exc_info=True)

    def _act(self, action: str) -> str:
        """Step the env with ``action``; the observation is the tool's result."""
        if self.task_id is None:
            raise RuntimeError("reset() was not called: no task is running")
        if self.done:
            return EPISODE_OVER
        self.actions.append(action)
        started = time.perf_counter()
        observation, reward, terminated, truncated, info = self._env.step(action)
        self._stats.add(time.perf_counter() - started)
        info = info or {}
        self.verdicts.append(dict(info.get("verdict") or {}))
        self.components.append(dict(info.get("reward_components") or {}))
        if info.get("sandbox_error"):
            self.sandbox_error = True
            self.done = True
            return str(observation)
        self.rewards.append(float(reward))
        self.done = bool(terminated or truncated)
        return str(observation)

    def _finish(self) -> None:
        """End an episode the model left open. Default: its return so far stands."""
        self.done = True
        self.finished_by_adapter = True

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._env_id!r}, task_id={self.task_id!r})"


class PythonToolEnvironment(ToolEnvironment):
    """Python-test envs (PythonTests, PythonRepair, HumanEval): submit code, read feedback."""

    system_prompt: ClassVar[str] = (
        "You are an expert Python programmer. Write the requested function and call the "
        "`submit_solution` tool with the complete code. Its result shows the test "
        "feedback; if tests fail, fix the code and submit again.")

    def submit_solution(self, code: str) -> str:
        """Run a complete Python solution against the task's tests.

        Args:
            code: The complete Python function, with any imports it needs.

        Returns:
            The test feedback: which tests failed and why, or that all tests passed.
        """
        return self._act(code)

    def _finish(self) -> None:
        """Grade as the env does at truncation: the last attempt's hidden-test reward.

        With no attempt at all, an empty answer is graded by the env itself.
        """
        if not self.components:
            self._act("")
        if not self.done and not self.sandbox_error:
            hidden = self.components[-1].get("hidden_reward")
            if hidden is not None and self.rewards:
                self.rewards[-1] += float(hidden)
        super()._finish()


class ShellToolEnvironment(ToolEnvironment):
    """`sandgym/Shell-v0`: run bash commands, then submit; checks run on the final state."""

    system_prompt: ClassVar[str] = (
        "You operate a Linux shell in a sandbox; your working directory is /work. Call "
        "`run_command` with one bash command at a time and read its output. When the task "
        "is done, call `submit`.")

    def run_command(self, command: str) -> str:
        """Run a bash command in the sandbox (files and the current directory persist).

        Args:
            command: The bash command or short script to run.

        Returns:
            What the command printed (stdout and stderr), and its exit code if non-zero.
        """
        if command.strip().splitlines()[-1:] == ["submit"]:
            command = command.rstrip()[: -len("submit")]  # submitting is the submit tool's job
        return self._act(command) if command.strip() else "(empty command: nothing was run)"

    def submit(self) -> str:
        """Declare the task done; the final state of /work is checked.

        Returns:
            How many of the task's checks passed.
        """
        return self._act("submit")

    def _finish(self) -> None:
        """The model stopped without submitting: grade the state as it is (as truncation)."""
        if not self.done:
            self._act("submit")
        super()._finish()


class TextToolEnvironment(ToolEnvironment):
    """Any other text env: one tool sends one action."""

    def act(self, action: str) -> str:
        """Send one action to the environment.

        Args:
            action: The action, as text.

        Returns:
            The environment's reply.
        """
        return self._act(action)


def _env_class(env_id: str) -> Any:
    """The class (or creator) registered for ``env_id``, without making an env."""
    import gymnasium as gym

    from sandgym.envs.registration import ensure_registered

    ensure_registered()
    entry = gym.spec(env_id).entry_point
    return gym.envs.registration.load_env_creator(entry) if isinstance(entry, str) else entry


def _is_sandbox_env(env_id: str) -> bool:
    from sandgym.envs.base import SandboxEnv

    cls = _env_class(env_id)
    return isinstance(cls, type) and issubclass(cls, SandboxEnv)


def adapter_class(env_id: str) -> type[ToolEnvironment]:
    """The adapter class for an env, by the env's family."""
    from sandgym.envs.code import PythonTestsEnv, ShellEnv

    cls = _env_class(env_id)
    if isinstance(cls, type) and issubclass(cls, ShellEnv):
        return ShellToolEnvironment
    if isinstance(cls, type) and issubclass(cls, PythonTestsEnv):
        return PythonToolEnvironment
    return TextToolEnvironment


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
        self.cls = adapter_class(env_id)
        self._sandboxed = _is_sandbox_env(env_id)
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


def environment_factory(env_id: str, *, pool_size: int | None = None, pool: Any = None,
                        **env_kwargs: Any) -> EnvironmentFactory:
    """``GRPOTrainer(environment_factory=environment_factory("sandgym/Shell-v0"))``.

    See `EnvironmentFactory`. Build the dataset with the adapter's instructions:
    ``prompts_dataset(env_id, system_prompt=factory.system_prompt)``, and give the
    trainer a tokenizer whose chat template renders tools (`tool_calling_tokenizer`).
    """
    return EnvironmentFactory(env_id, pool_size=pool_size, pool=pool, **env_kwargs)


def _prompt_contains(prompt: Any, observation: str) -> bool:
    """Whether the row's prompt already ends with a user message holding ``observation``."""
    if not observation or not isinstance(prompt, list) or not prompt:
        return False
    last = prompt[-1]
    content = last.get("content") if isinstance(last, dict) else None
    return isinstance(content, str) and observation in content


def tool_calling_tokenizer(tokenizer: Any) -> Any:
    """The tokenizer itself when its chat template renders tools, else a ChatML copy that does.

    TRL needs a template that renders ``tool_calls`` and ``tool`` messages and a parser
    for the model's tool calls. Small ChatML models (SmolLM2) ship a template without
    tools; their vocabulary has ``<|im_start|>`` / ``<|im_end|>``, so the Qwen2.5 ChatML
    tool template (which TRL knows how to parse) renders the same turns plus tools.

    Raises:
        ValueError: the template renders no tools and the tokenizer is not ChatML.
    """
    import copy

    from trl.chat_template_utils import qwen2_5_chat_template, supports_tool_calling

    if supports_tool_calling(tokenizer):
        return tokenizer
    vocab = tokenizer.get_vocab()
    template = tokenizer.chat_template if isinstance(tokenizer.chat_template, str) else ""
    if "<|im_start|>" in template and "<|im_start|>" in vocab and "<|im_end|>" in vocab:
        tool_tokenizer = copy.deepcopy(tokenizer)
        tool_tokenizer.chat_template = qwen2_5_chat_template
        logger.info("the chat template of %s renders no tools; using the ChatML tool template",
                    getattr(tokenizer, "name_or_path", "the tokenizer"))
        return tool_tokenizer
    raise ValueError("the tokenizer's chat template cannot render tool calls, and it is not a "
                     "ChatML template this adapter can extend; give GRPOTrainer a tokenizer "
                     "whose chat template supports tools (e.g. a Qwen or Llama 3.1 model)")
