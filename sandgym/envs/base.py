"""SandboxEnv: the base of every sandgym environment (text in, text out, sandboxed).

It owns the parts every family shares: text spaces, the task set, seeded task choice
(``options={"task_id": ...}`` picks one), and the sandbox lease. Subclasses implement
`step`, and may override the public points of the env contract
(`sandgym.envs.contract`): `observe` (a task's first observation), `finish` (score an
episode left open), `score` (batch scoring, one-turn envs) and the class-level traits.
`_episode_sandbox` lends a sandbox for the episode (stateful envs), `_borrow_sandbox`
one for a single request (stateless envs).

Reward semantics shared by all families: ``info["verdict"]`` is the structured
verdict, ``info["reward_components"]`` explains the reward. When the sandbox
infrastructure fails (``sandbox_error``), the step returns reward ``nan`` with
``truncated=True``, ``info["sandbox_error"] = True`` and ``info["reward"] = None``:
no reward may be learned from it (Gymnasium's checker requires a float, hence nan).
"""

from __future__ import annotations

import difflib
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

import gymnasium as gym

from sandgym.envs.contract import ACT, StepResult, Tool
from sandgym.envs.errors import EnvError, EpisodeOverError, UnknownTaskError
from sandgym.envs.pool import default_pool
from sandgym.envs.spaces import AnyText
from sandgym.envs.tasks import Task, TaskSource, load_tasks
from sandgym.sandbox import DockerSandbox, SandboxPool
from sandgym.verdict import Verdict

logger = logging.getLogger(__name__)

__all__ = ["SandboxEnv"]


class SandboxEnv(gym.Env[str, str]):
    """A Gymnasium env whose actions run in a Docker sandbox from a pool.

    Args:
        pool: the SandboxPool to lease from; None uses `sandgym.envs.default_pool()`.
        tasks: task source (named set, JSONL path, or list); None: the env's default.
        split: keep the tasks of this fixed split (``"train"``, ``"test"``; the tasks'
            ``split`` field); ``"all"`` keeps every task.
        max_turns: steps before the episode is truncated.
        reward_mode: how test results become a reward (family-specific).
        timeout_s: time budget of one sandboxed request (seconds); None: the class's
            ``default_timeout_s``. Everything that runs the env's requests reads it here.
        render_mode: unused (text envs have nothing to render); kept for make().

    Subclasses set `default_tasks`, `system_prompt`, the traits, and implement `step`.
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": []}
    default_tasks: ClassVar[str | None] = None
    system_prompt: str | None = None
    # --- traits (sandgym.envs.contract.EnvTraits): what the env is, read by id
    multi_turn: ClassVar[bool] = True
    """Whether an episode may take several steps."""
    sandboxed: ClassVar[bool] = True
    """The constructor takes ``pool=``."""
    holds_sandbox: ClassVar[bool] = False
    """True when an episode keeps one sandbox from reset to its end (stateful envs):
    a pool then needs a sandbox per concurrent episode."""
    tools: ClassVar[tuple[Tool, ...]] = (ACT,)
    """The env's actions as typed, documented tools."""
    tool_prompt: ClassVar[str | None] = None
    """System prompt when the env is driven through its tools (None: a generic one)."""
    batch_scoring: ClassVar[bool] = False
    """Instances grade many one-turn completions at once with `score`."""
    default_timeout_s: ClassVar[float | None] = 10.0
    """Time budget of one sandboxed request unless ``timeout_s=`` says otherwise."""

    def __init__(self, *, pool: SandboxPool | None = None, tasks: TaskSource | None = None,
                 max_turns: int = 1, reward_mode: str = "binary",
                 timeout_s: float | None = None, render_mode: str | None = None,
                 split: str = "all") -> None:
        if max_turns < 1:
            raise EnvError(f"max_turns must be >= 1, got {max_turns}")
        if timeout_s is None:
            timeout_s = self.default_timeout_s or 10.0
        if not timeout_s > 0:
            raise EnvError(f"timeout_s must be > 0, got {timeout_s}")
        source = tasks if tasks is not None else self.default_tasks
        if source is None:
            raise EnvError(f"{type(self).__name__} has no default task set; pass tasks=")
        self.tasks: list[Task] = load_tasks(source, split=split)
        self._by_id = {task.id: task for task in self.tasks}
        self.max_turns = max_turns
        self.reward_mode = reward_mode
        self.timeout_s = float(timeout_s)
        self.render_mode = render_mode
        self.observation_space = AnyText()
        self.action_space = AnyText()
        self._pool = pool
        self._sandbox: DockerSandbox | None = None
        self._lease_pool: SandboxPool | None = None
        self._closed = False
        self.task: Task | None = None
        self.turn = 0
        self.done = True
        self.last_duration_s = 0.0
        """Seconds the last sandboxed run took (kept out of ``info``, which must be
        deterministic for Gymnasium's checker)."""

    # ------------------------------------------------------------------ tasks

    @property
    def task_ids(self) -> list[str]:
        """Ids of every task, in order."""
        return [task.id for task in self.tasks]

    def get_task(self, task_id: str) -> Task:
        """The task with this id, or an error suggesting close matches."""
        try:
            return self._by_id[task_id]
        except KeyError:
            close = difflib.get_close_matches(str(task_id), self._by_id, n=3)
            hint = f"; did you mean {close}?" if close else f" ({len(self.tasks)} tasks)"
            raise UnknownTaskError(f"no task {task_id!r} in this env's task set{hint}"
                                   ) from None

    def reference_answer(self, task_id: str) -> str:
        """The task's reference answer, written as a model would reply."""
        task = self.get_task(task_id)
        if not task.reference:
            raise EnvError(f"task {task_id!r} has no reference answer")
        return self._format_reference(task)

    def _format_reference(self, task: Task) -> str:
        return task.reference or ""

    # ------------------------------------------------------------------ gymnasium API

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None
              ) -> tuple[str, dict[str, Any]]:
        """Start an episode on ``options["task_id"]`` or a task drawn with the seeded RNG."""
        super().reset(seed=seed)
        self._check_open()
        task_id = (options or {}).get("task_id")
        if task_id is None:
            self.task = self.tasks[int(self.np_random.integers(len(self.tasks)))]
        else:
            self.task = self.get_task(task_id)
        self.turn = 0
        self.done = False
        self._begin_episode(self.task)
        return self.observe(self.task), {"task_id": self.task.id, "turn": 0}

    def _begin_episode(self, task: Task) -> None:
        """Hook for stateful envs (e.g. write the task's files into the sandbox)."""

    def observe(self, task: Task) -> str:
        """The first observation of an episode on ``task`` (default: its prompt).

        Public so that datasets and oracle policies see exactly what ``reset`` returns.
        """
        return task.prompt

    def finish(self) -> StepResult | None:
        """End an episode the agent left open, scored the way truncation would score it.

        Returns:
            The closing step (its reward is added to the return; ``info["action"]`` is
            the action taken on the agent's behalf, if any), or None when the return so
            far stands (the default).
        """
        self.done = True
        self._release_sandbox()
        return None

    def score(self, task_ids: list[str], completions: list[str], *,
              pool: SandboxPool | None = None, max_concurrency: int | None = None,
              ) -> list[Any]:
        """Grade one-turn completions in a batch (envs whose ``batch_scoring`` is True).

        Raises:
            EnvError: the env does not score batches.
        """
        raise EnvError(f"{type(self).__name__} does not score completions in batches "
                       "(batch_scoring is False); play episodes instead")

    def _start_step(self, action: str) -> Task:
        """Common step preamble: episode state and action type checks."""
        self._check_open()
        if self.task is None or self.done:
            raise EpisodeOverError("the episode is over (or never began); call reset() first")
        if not isinstance(action, str):
            raise EnvError(f"actions are text (str), got {type(action).__name__}")
        self.turn += 1
        return self.task

    def _info(self, verdict: dict[str, Any], reward: float | None,
              components: dict[str, Any], **extra: Any) -> dict[str, Any]:
        info = {"task_id": self.task.id if self.task else None, "turn": self.turn,
                "verdict": verdict, "reward_components": components, "reward": reward,
                "sandbox_error": Verdict.of(verdict).sandbox_error}
        info.update(extra)
        return info

    @staticmethod
    def _as_float(reward: float | None) -> float:
        return float("nan") if reward is None else float(reward)

    # ------------------------------------------------------------------ sandboxes

    @property
    def pool(self) -> SandboxPool:
        """The pool this env leases from (the default pool unless one was given)."""
        return self._pool if self._pool is not None else default_pool()

    @contextmanager
    def _borrow_sandbox(self) -> Iterator[DockerSandbox]:
        """A sandbox for one request, reset and returned right after (stateless envs)."""
        self._check_open()
        with self.pool.sandbox() as sandbox:
            yield sandbox

    def _episode_sandbox(self) -> DockerSandbox:
        """The sandbox held for the current episode (stateful envs); acquired on demand."""
        self._check_open()
        if self._sandbox is not None and not self._sandbox.healthy:
            self._release_sandbox()
        if self._sandbox is None:
            pool = self.pool
            self._sandbox = pool.acquire()
            self._lease_pool = pool
        return self._sandbox

    def _release_sandbox(self) -> None:
        sandbox, pool = self._sandbox, self._lease_pool
        self._sandbox = self._lease_pool = None
        if sandbox is not None and pool is not None:
            try:
                pool.release(sandbox)
            except Exception as e:  # noqa: BLE001 - releasing must never mask the caller
                logger.warning("releasing sandbox failed: %s", e)

    def _check_open(self) -> None:
        if self._closed:
            raise EnvError("the environment is closed; make a new one")

    def close(self) -> None:
        """Give the sandbox back to its pool. Calling it twice is harmless."""
        if self._closed:
            return
        self._closed = True
        self._release_sandbox()
        super().close()

    def __del__(self) -> None:
        try:
            if not getattr(self, "_closed", True):
                self._release_sandbox()
        except Exception:  # noqa: BLE001, S110 - interpreter shutdown
            pass
