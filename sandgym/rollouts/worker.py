"""`RolloutWorker`: a Ray actor with its own sandbox pool and policy.

A worker plays batches of episodes: every episode of a batch runs concurrently in its
own env (all envs share the worker's `SandboxPool`), and each turn makes one batched
``policy.generate`` call (`sandgym.agents.run_episodes`). The worker returns each
batch's trajectory records when the batch ends; the driver owns retries and storage.

The public class is a plain handle in front of a private actor created with
``ray.remote(_WorkerActor).options(...)`` (as ``ray.util.queue`` does): callers never
touch Ray's decorators, and every blocking method takes a timeout. Batches run one at
a time (the default concurrency group); ``info``, ``pid`` and ``close`` answer from a
separate ``control`` group even while a batch runs.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Union

import ray

from sandgym.rollouts.config import SANDBOX_RESOURCE, EpisodeSpec, RolloutConfig

if TYPE_CHECKING:
    from sandgym.agents import Policy, SamplingParams

PolicySource = Union[str, Callable[[], "Policy"]]  # noqa: UP007 - evaluated at runtime on 3.10
"""A policy spec (see `sandgym.rollouts.policies.POLICY_HELP`), or a picklable
zero-argument factory called once in each worker (e.g.
``functools.partial(ScriptedPolicy, ["..."])``)."""

__all__ = ["PolicySource", "RolloutWorker"]

logger = logging.getLogger(__name__)


class _WorkerActor:
    """The actor body: built once per worker process (pool warm-up, model load)."""

    def __init__(self, env_id: str, policy: PolicySource, config: RolloutConfig,
                 sampling: SamplingParams | None) -> None:
        import gymnasium

        from sandgym.envs import env_traits
        from sandgym.rollouts.policies import build_policy, ensure_envs

        ensure_envs()
        if isinstance(policy, str) and policy != "canonical":
            _quiet_model_loading()
        self.env_id = env_id
        self.config = config
        self.sampling = sampling
        self.ident = f"{socket.gethostname()}:{os.getpid()}"
        self.node_id = ray.get_runtime_context().get_node_id()
        self._pool: Any = None
        self._envs: list[Any] = []
        kwargs = dict(config.env_kwargs)
        if env_traits(env_id).sandboxed:  # the env takes pool=: this worker's own
            from sandgym.sandbox import SandboxPool

            self._pool = kwargs["pool"] = SandboxPool(size=config.pool_size)
        from sandgym.rollouts.injected import InjectedPolicies

        self._injected = InjectedPolicies()
        try:
            kwargs = self._injected.resolve(kwargs)  # "policy:SPEC" values: other agents
            self._envs = [gymnasium.make(env_id, **kwargs) for _ in range(config.batch_size)]
            if isinstance(policy, str):
                self._policy = build_policy(policy, env=self._envs[0],
                                            **config.policy_options)
            else:
                self._policy = policy()
            self.policy_label = policy if isinstance(policy, str) else self._policy.name
            # Containers start while the policy loads; waiting here keeps start-up out of
            # the first batch's step latency and turns a broken engine into a start error.
            if self._pool is not None:
                self._pool.wait_ready(timeout=300.0)
        except BaseException:
            self.close()
            raise

    @ray.method(concurrency_group="control")
    def info(self) -> dict[str, Any]:
        """Where this worker runs: host, pid, Ray node, GPUs."""
        return {"worker": self.ident, "host": socket.gethostname(), "pid": os.getpid(),
                "node_id": self.node_id, "gpu_ids": ray.get_gpu_ids()}

    @ray.method(concurrency_group="control")
    def pid(self) -> int:
        """The worker process id (tests kill it to check fault tolerance)."""
        return os.getpid()

    def run(self, specs: list[EpisodeSpec]) -> dict[str, Any]:
        """Play a batch; return its records and how the worker spent the time."""
        from sandgym.agents import run_episodes

        if len(specs) > len(self._envs):
            raise ValueError(f"batch of {len(specs)} episodes exceeds batch_size "
                             f"{len(self._envs)}")
        started = time.perf_counter()
        trajectories = run_episodes(
            self._envs[:len(specs)], self._policy, sampling=self.sampling,
            max_turns=self.config.max_turns, task_ids=[s.task_id for s in specs],
            seeds=[s.seed for s in specs], episode_ids=[s.episode_id for s in specs],
            env_workers=len(specs))
        wall = time.perf_counter() - started
        records = []
        for spec, traj in zip(specs, trajectories, strict=True):
            record = traj.to_record()
            record.update(env_id=self.env_id, policy=self.policy_label,
                          sample_index=spec.sample_index, attempts=spec.attempt,
                          worker=self.ident, node_id=self.node_id,
                          error=_sandbox_error_of(traj))
            records.append(record)
        # The episode active in every turn took part in every generate call, so the
        # largest per-episode generation time is the batch's generation wall time.
        generation = max((t.timings.get("generation_s", 0.0) for t in trajectories),
                         default=0.0)
        tokens = sum(len(ids) for t in trajectories for ids in t.completion_token_ids)
        return {"records": records, "wall_s": wall, "generation_s": generation,
                "completion_tokens": tokens, "worker": self.ident}

    @ray.method(concurrency_group="control")
    def close(self) -> None:
        """Close envs, policy and pool (removes this worker's containers)."""
        for env in self._envs:
            try:
                env.close()
            except Exception:  # noqa: BLE001 - closing must reach the pool
                logger.debug("closing env failed", exc_info=True)
        policy = getattr(self, "_policy", None)
        if policy is not None:
            policy.close()
        injected = getattr(self, "_injected", None)
        if injected is not None:
            injected.close()
        pool = getattr(self, "_pool", None)
        if pool is not None:
            pool.close()


def _quiet_model_loading() -> None:
    """No weight-loading progress bars: they would interleave with the driver's bar."""
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    try:
        from transformers.utils import logging as hf_logging
    except ImportError:
        return
    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()


def _sandbox_error_of(traj: Any) -> str | None:
    """A short reason for a sandbox_error trajectory, from its last verdict."""
    if not traj.sandbox_error:
        return None
    verdict = traj.verdict
    detail = verdict.detail or verdict.extra.get("stderr") or verdict.extra.get("error") or ""
    return f"sandbox_error: {str(detail)[:500]}".rstrip(": ")


class RolloutWorker:
    """Handle to one rollout actor, placed on a node that can run sandboxes.

    The actor requests one unit of the ``sandgym_sandbox`` resource (see
    `SANDBOX_RESOURCE`), ``config.num_cpus_per_worker`` CPUs and
    ``config.num_gpus_per_worker`` GPUs. Creating the handle returns at once; the actor
    warms its pool and loads its policy in the background, and calls queue behind that.

    Args:
        env_id: the environment to play, e.g. ``sandgym/HumanEval-v0``.
        policy: a policy spec (`sandgym.rollouts.policies.POLICY_HELP`), or a picklable
            zero-argument factory returning a `Policy`, called in the worker.
        config: batch size, pool size, resources.
        sampling: decoding settings for every turn.
        name: optional Ray actor name.

    Example:
        >>> import ray                                                 # doctest: +SKIP
        >>> ray.init(num_cpus=2, resources={"sandgym_sandbox": 1})
        >>> worker = RolloutWorker("sandgym/HumanEval-v0", "canonical")
        >>> plan = plan_episodes("sandgym/HumanEval-v0", ["HumanEval/0"], 2)
        >>> [r["final_reward"] for r in worker.run(plan, timeout=120)["records"]]
        [1.0, 1.0]
        >>> worker.close()
    """

    def __init__(self, env_id: str, policy: PolicySource, config: RolloutConfig | None = None, *,
                 sampling: SamplingParams | None = None, name: str | None = None) -> None:
        self.config = config or RolloutConfig()
        options: dict[str, Any] = {
            "num_cpus": self.config.num_cpus_per_worker,
            "num_gpus": self.config.num_gpus_per_worker,
            "resources": {SANDBOX_RESOURCE: 1},
            "max_restarts": 0,  # the driver replaces dead workers and retries their work
        }
        if name is not None:
            options["name"] = name
        self._actor = _remote_class().options(**options).remote(
            env_id, policy, self.config, sampling)

    def submit(self, specs: list[EpisodeSpec]) -> ray.ObjectRef:
        """Start a batch; the ref resolves to ``{"records", "wall_s", ...}``."""
        return self._actor.run.remote(list(specs))

    def run(self, specs: list[EpisodeSpec], timeout: float | None = 600.0) -> dict[str, Any]:
        """Play a batch and wait for it (raises ``GetTimeoutError`` after ``timeout``)."""
        return ray.get(self.submit(specs), timeout=timeout)

    def request_info(self) -> ray.ObjectRef:
        """The ref of `info`: it resolves once the worker has started (pool warm)."""
        return self._actor.info.remote()

    def info(self, timeout: float | None = 120.0) -> dict[str, Any]:
        """Host, pid and Ray node of the worker (waits for its start-up)."""
        return ray.get(self._actor.info.remote(), timeout=timeout)

    def pid(self, timeout: float | None = 120.0) -> int:
        """The worker's process id."""
        return ray.get(self._actor.pid.remote(), timeout=timeout)

    def close(self, timeout: float = 10.0) -> None:
        """Remove the worker's sandboxes and end the actor; harmless on a dead worker.

        A graceful ``close`` removes the containers at once; if the actor does not
        answer in time it is killed, and its containers go away when the engine sees
        its attach streams close.
        """
        try:
            ray.get(self.request_close(), timeout=timeout)
        except Exception as e:  # noqa: BLE001 - dead, hung or already closed: kill below
            logger.debug("graceful close of a rollout worker failed: %s", e)
        self.kill()

    def request_close(self) -> ray.ObjectRef:
        """Ask the worker to close; the ref resolves when its sandboxes are gone."""
        return self._actor.close.remote()

    def kill(self) -> None:
        """End the actor's process now."""
        try:
            ray.kill(self._actor, no_restart=True)
        except Exception as e:  # noqa: BLE001 - already gone
            logger.debug("killing a rollout worker failed: %s", e)



_REMOTE: Any = None


def _remote_class() -> Any:
    """The Ray actor class, made once (a control group answers while a batch runs)."""
    global _REMOTE
    if _REMOTE is None:
        _REMOTE = ray.remote(concurrency_groups={"control": 2})(_WorkerActor)
    return _REMOTE
