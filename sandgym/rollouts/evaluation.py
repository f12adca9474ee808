"""`evaluate`: play episodes of an env with a policy on this machine; pass@k and rewards.

The library behind ``sandgym eval``. Episodes run in batches (one batched generate
call per turn, `sandgym.agents.run_episodes`) whose width is the generation batch,
chosen independently of the sandbox pool: one-turn envs borrow a sandbox per step, so
many episodes share a small pool; only envs whose episodes hold a sandbox
(``holds_sandbox``) are capped at the pool's size.

Episodes get the turn limit the env declares (``max_episode_turns``, e.g. BFCL's longest
reference conversation), else `DEFAULT_MAX_TURNS`: a fixed 10 cut BFCL's longer tasks
short, which read as a broken env rather than a too-small limit.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["EpisodeBatches", "EvalReport", "TaskResult", "evaluate", "summarize"]

logger = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 16
"""Episodes played at once (one batched generate call per turn)."""
DEFAULT_MAX_TURNS = 10
"""Policy replies per episode for an env that declares no ``max_episode_turns``."""


@dataclass
class TaskResult:
    """What the episodes of one task gave."""

    task_id: str
    episodes: int = 0
    """Scored episodes (sandbox errors are left out)."""
    passed: int = 0
    rewards: list[float] = field(default_factory=list)
    sandbox_errors: int = 0

    @property
    def mean_reward(self) -> float | None:
        """Mean return of the scored episodes."""
        return sum(self.rewards) / len(self.rewards) if self.rewards else None


@dataclass
class EvalReport:
    """Totals (pass@k, mean reward) beside the per-task results."""

    env: str
    policy: str
    samples: int
    tasks: list[TaskResult]
    max_turns: int | None = None
    """The turn limit the episodes were played with (None: not recorded)."""

    @property
    def episodes(self) -> int:
        """Episodes played, sandbox errors included."""
        return sum(t.episodes + t.sandbox_errors for t in self.tasks)

    @property
    def sandbox_errors(self) -> int:
        """Episodes the infrastructure failed (not scored)."""
        return sum(t.sandbox_errors for t in self.tasks)

    @property
    def nothing_measured(self) -> bool:
        """Every episode ended in a sandbox error: the report's numbers say nothing about
        the policy (``sandgym eval`` then exits 1 instead of reporting success)."""
        return self.episodes > 0 and self.sandbox_errors == self.episodes

    @property
    def pass_at_k(self) -> dict[str, float | None]:
        """Unbiased pass@k (Chen et al., 2021) for k in 1, samples and 5/10/100 below it."""
        from sandgym.envs.metrics import mean_pass_at_k

        ks = sorted({1, self.samples} | {k for k in (5, 10, 100) if k <= self.samples})
        pairs = [(t.episodes, t.passed) for t in self.tasks]
        out = {}
        for k in ks:
            value = round(mean_pass_at_k(pairs, k), 6)
            out[f"pass@{k}"] = None if math.isnan(value) else value
        return out

    @property
    def pass_hat_k(self) -> dict[str, float | None]:
        """τ-bench's pass^k (all k samples pass) for the same k as `pass_at_k`: how
        reliably a policy solves a task, where pass@k is whether it ever does."""
        from sandgym.envs.metrics import mean_pass_hat_k

        pairs = [(t.episodes, t.passed) for t in self.tasks]
        out = {}
        for name in self.pass_at_k:
            k = int(name.split("@")[1])
            value = round(mean_pass_hat_k(pairs, k), 6)
            out[f"pass^{k}"] = None if math.isnan(value) else value
        return out

    @property
    def pass_at_k_interval(self) -> dict[str, dict[str, float | int | None]]:
        """A seeded bootstrap 95% interval (tasks resampled) for each pass@k reported."""
        from sandgym.envs.metrics import pass_at_k_interval

        pairs = [(t.episodes, t.passed) for t in self.tasks]
        return {name: pass_at_k_interval(pairs, int(name.split("@")[1])).as_dict()
                for name in self.pass_at_k}

    def to_dict(self) -> dict[str, Any]:
        """The ``sandgym eval --json`` report: totals, then ``per_task``."""
        rewards = [r for t in self.tasks for r in t.rewards]
        return {
            "env": self.env,
            "policy": self.policy,
            "tasks": len(self.tasks),
            "samples": self.samples,
            "max_turns": self.max_turns,
            "episodes": self.episodes,
            "solved": sum(1 for t in self.tasks if t.passed > 0),
            "passed_episodes": sum(t.passed for t in self.tasks),
            "pass@k": self.pass_at_k,
            "pass@k_interval": self.pass_at_k_interval,
            "pass^k": self.pass_hat_k,
            "mean_reward": round(sum(rewards) / len(rewards), 6) if rewards else None,
            "sandbox_errors": self.sandbox_errors,
            "per_task": [asdict(t) for t in self.tasks],
        }


def evaluate(env_id: str, policy: str = "canonical", *,
             env_kwargs: dict[str, Any] | None = None, limit: int | None = None,
             samples: int = 1, temperature: float | None = None, max_new_tokens: int = 512,
             max_turns: int | None = None, batch_size: int | None = None, pool: Any = None,
             timeout_s: float | None = None, policy_options: dict[str, Any] | None = None,
             seed: int | None = None) -> EvalReport:
    """Play ``samples`` episodes per task and summarise them.

    Args:
        env_id: a registered env (sandgym's or a plugin's).
        policy: a policy spec (`sandgym.rollouts.policies.POLICY_HELP`).
        env_kwargs: keyword arguments for ``gymnasium.make`` (e.g. ``tasks=`` a JSONL
            file of your own tasks, ``split="test"``).
        limit: evaluate the first N tasks only.
        samples: episodes per task (k of pass@k goes up to it).
        temperature: sampling temperature; None: 0 for one sample, 0.8 for several.
        max_new_tokens: tokens per model reply.
        max_turns: policy replies per episode at most; None: the env's declared
            ``max_episode_turns``, else `DEFAULT_MAX_TURNS`.
        batch_size: episodes played at once (default 16), whatever the pool's size.
        pool: the `SandboxPool` sandboxed envs lease from (None: the default pool).
        timeout_s: the env's time budget per sandboxed request (None: the env's own).
        policy_options: keyword arguments for the policy (e.g. ``device``).
        seed: sampling seed, so sampled runs repeat (two policies compared with one
            seed see the same random stream).

    Returns:
        The `EvalReport`.

    Raises:
        SandboxError: a sandboxed env's pool cannot start sandboxes (e.g.
            `ImageNotFoundError`), before any episode is played.

    Example:
        >>> report = evaluate("sandgym/HumanEval-v0", "canonical", limit=4)  # doctest: +SKIP
        >>> report.to_dict()["solved"], report.tasks[0].task_id
        (4, 'HumanEval/0')
    """
    from sandgym.agents import SamplingParams
    from sandgym.envs import env_traits
    from sandgym.rollouts.policies import build_policy

    if samples < 1:
        raise ValueError(f"samples must be >= 1, got {samples}")
    if temperature is None:
        temperature = 0.0 if samples == 1 else 0.8
    sampling = SamplingParams(temperature=temperature, max_new_tokens=max_new_tokens,
                              seed=seed,
                              stop_after_code_block=env_traits(env_id).stop_after_code_block)
    with EpisodeBatches(env_id, env_kwargs=env_kwargs, batch_size=batch_size, pool=pool,
                        timeout_s=timeout_s) as batches:
        task_ids = batches.task_ids[:limit]
        turns = max_turns if max_turns is not None else batches.default_max_turns
        player = build_policy(policy, env=batches.first_env, **(policy_options or {}))
        try:
            trajectories = batches.play(player, task_ids, samples=samples, sampling=sampling,
                                        max_turns=turns)
        finally:
            player.close()
    report = summarize(env_id, policy, task_ids, samples, trajectories)
    report.max_turns = turns
    return report


class EpisodeBatches:
    """Envs of one id, made once, that play many episodes in batches with a policy.

    What `evaluate` and expert iteration (`sandgym.train.rft`) share: one-turn envs
    borrow a sandbox per step, so the batch (one ``generate`` call per turn) is chosen
    independently of the pool; envs whose episodes hold a sandbox are capped at its size.
    A context manager: the envs are closed on exit.
    """

    def __init__(self, env_id: str, *, env_kwargs: dict[str, Any] | None = None,
                 batch_size: int | None = None, pool: Any = None,
                 timeout_s: float | None = None) -> None:
        import gymnasium

        from sandgym.envs import EnvError, env_traits
        from sandgym.rollouts.policies import ensure_envs

        ensure_envs()
        traits = env_traits(env_id)
        kwargs = dict(env_kwargs or {})
        if timeout_s is not None:
            if traits.default_timeout_s is None:
                raise EnvError(f"{env_id} declares no time budget per request "
                               "(default_timeout_s); leave out the timeout")
            kwargs["timeout_s"] = timeout_s
        self.width = batch_size or DEFAULT_BATCH_SIZE
        pool_to_check = None
        if traits.sandboxed:
            from sandgym.envs import default_pool

            pool = pool_to_check = pool or default_pool()
            kwargs["pool"] = pool
            if traits.holds_sandbox:
                self.width = min(self.width, pool.size)  # more would wait on held sandboxes
        from sandgym.rollouts.injected import InjectedPolicies

        self.env_id = env_id
        self._injected = InjectedPolicies()
        self._envs: list[Any] = []
        try:
            self._kwargs = self._injected.resolve(kwargs)  # "policy:SPEC" values
            self._envs = [gymnasium.make(env_id, **self._kwargs)]
            if pool_to_check is not None:
                # A pool that cannot start sandboxes (no image, no engine) fails here with
                # its own error, once, instead of every episode waiting out an acquire
                # timeout and ending as a sandbox error (what rollout workers do too).
                pool_to_check.wait_ready()
        except BaseException:
            self.close()
            raise
        self.task_ids: list[str] = list(getattr(self.first_env.unwrapped, "task_ids", None)
                                        or [])
        if not self.task_ids:
            self.close()
            raise EnvError(f"{env_id} exposes no task_ids; evaluation needs a task set")

    @property
    def first_env(self) -> Any:
        """An env of the set (e.g. for a canonical policy's oracle)."""
        return self._envs[0]

    @property
    def default_max_turns(self) -> int:
        """The env's declared ``max_episode_turns``, else `DEFAULT_MAX_TURNS`."""
        from sandgym.envs.contract import episode_turn_limit

        declared = episode_turn_limit(self.first_env)
        return DEFAULT_MAX_TURNS if declared is None else declared

    def play(self, policy: Any, task_ids: Sequence[str], *, samples: int = 1,
             sampling: Any = None, max_turns: int | None = None) -> list[Any]:
        """``samples`` episodes of each task, in batches; the trajectories in task order.

        ``max_turns`` None: `default_max_turns` (what the env declares, else 10).
        """
        import gymnasium

        from sandgym.agents import run_episodes

        if max_turns is None:
            max_turns = self.default_max_turns
        queue = [t for t in task_ids for _ in range(samples)]
        width = max(1, min(self.width, len(queue)))
        while len(self._envs) < width:
            self._envs.append(gymnasium.make(self.env_id, **self._kwargs))
        trajectories: list[Any] = []
        for number, start in enumerate(range(0, len(queue), width)):
            batch = queue[start:start + width]
            batch_sampling = sampling
            if sampling is not None and sampling.seed is not None:
                # One seed per batch: re-using it would repeat draws across batches.
                batch_sampling = dataclasses.replace(sampling, seed=sampling.seed + number)
            trajectories += run_episodes(self._envs[:len(batch)], policy,
                                         sampling=batch_sampling, task_ids=batch,
                                         max_turns=max_turns)
        return trajectories

    def close(self) -> None:
        """Close every env; calling it twice is harmless."""
        envs, self._envs = self._envs, []
        for env in envs:
            env.close()
        self._injected.close()

    def __enter__(self) -> EpisodeBatches:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def summarize(env_id: str, policy: str, task_ids: Sequence[str], samples: int,
              trajectories: Sequence[Any]) -> EvalReport:
    """Per-task results of played trajectories (sandbox errors are counted, not scored)."""
    results = {t: TaskResult(t) for t in task_ids}
    for traj in trajectories:
        result = results.setdefault(str(traj.task_id), TaskResult(str(traj.task_id)))
        if traj.sandbox_error or traj.final_reward is None:
            result.sandbox_errors += 1
            continue
        result.episodes += 1
        result.passed += int(traj.passed)
        result.rewards.append(traj.final_reward)
    return EvalReport(env_id, policy, samples, list(results.values()))
