"""`RolloutConfig`: the tuning knobs of a collection, and the episode plan.

What to collect (env, policy, tasks, samples, output) are arguments of `collect`; how
to collect it (batch size, retries, resources, timeouts) lives here so the train layer
and the CLI share one validated set of defaults.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sandgym.agents.trajectory import episode_id, episode_seed

__all__ = ["SANDBOX_RESOURCE", "EpisodeSpec", "RolloutConfig", "episode_id", "episode_seed",
           "plan_episodes"]

SANDBOX_RESOURCE = "sandgym_sandbox"
"""Custom Ray resource a node declares when it can run sandboxes (a Docker engine with
the sandbox image). Each rollout worker requests one unit of it, so workers land only
on such nodes: ``ray start ... --resources='{"sandgym_sandbox": 4}'``."""


@dataclass
class RolloutConfig:
    """How a collection runs; every field has a default that suits a laptop.

    Example:
        >>> RolloutConfig(batch_size=8, max_attempts=2).pool_size
        8
    """

    batch_size: int = field(default=4, metadata={
        "help": "Episodes handed to a worker at once and played concurrently, with one "
                "batched generate call per turn. A worker death loses at most "
                "`batch_size * inflight_per_worker` episodes, which are retried."})
    inflight_per_worker: int = field(default=2, metadata={
        "help": "Batches queued at each worker, so it never idles while the driver "
                "hands out the next batch."})
    max_turns: int = field(default=10, metadata={
        "help": "Most policy replies per episode (the env may end it sooner)."})
    max_attempts: int = field(default=3, metadata={
        "help": "Most times an episode is started. Attempts are spent by a sandbox_error "
                "or by the death of the worker playing it; after the last one the episode "
                "is recorded with sandbox_error=True (never as a model failure)."})
    pool_size: int | None = field(default=None, metadata={
        "help": "Warm sandboxes per worker; default batch_size (one per running episode)."})
    num_cpus_per_worker: float = field(default=1.0, metadata={
        "help": "Ray CPUs each worker requests (its torch threads follow it).",
        "cli": "--num-cpus"})
    num_gpus_per_worker: float = field(default=0.0, metadata={
        "help": "Ray GPUs each worker requests for a local model; 0 runs it on CPU "
                "(or use an openai: policy served elsewhere).", "cli": "--num-gpus"})
    env_kwargs: dict[str, Any] = field(default_factory=dict, metadata={
        "help": "Keyword arguments for gymnasium.make besides pool (e.g. reward_mode)."})
    policy_options: dict[str, Any] = field(default_factory=dict, metadata={
        "help": "Keyword arguments for the policy (e.g. device, batch_size, dtype)."})
    batch_timeout_s: float = field(default=900.0, metadata={
        "help": "A worker that returns nothing for this long while it has work is "
                "considered hung: it is killed, replaced, and its episodes retried."})
    worker_start_failures: int = field(default=3, metadata={
        "help": "Fresh workers dying in a row before any batch finished, before giving "
                "up (a missing Docker engine or image on a node, a broken policy)."})
    row_group_size: int = field(default=64, metadata={
        "help": "Episodes buffered before they are written as one Parquet part."})
    flush_interval_s: float = field(default=10.0, metadata={
        "help": "Most seconds a finished episode waits in memory before being written."})
    poll_interval_s: float = field(default=0.5, metadata={
        "help": "How often the driver wakes to update progress and check deadlines."})

    def __post_init__(self) -> None:
        for name in ("batch_size", "inflight_per_worker", "max_turns", "max_attempts",
                     "worker_start_failures", "row_group_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"RolloutConfig.{name} must be an int >= 1, got {value!r}")
        if self.pool_size is None:
            self.pool_size = self.batch_size
        elif self.pool_size < 1:
            raise ValueError(f"RolloutConfig.pool_size must be >= 1, got {self.pool_size}; "
                             "leave it None for one sandbox per concurrent episode")
        if self.num_cpus_per_worker < 0 or self.num_gpus_per_worker < 0:
            raise ValueError("num_cpus_per_worker and num_gpus_per_worker must be >= 0")
        for name in ("batch_timeout_s", "flush_interval_s", "poll_interval_s"):
            if not getattr(self, name) > 0:
                raise ValueError(f"RolloutConfig.{name} must be > 0 seconds")
        if "pool" in self.env_kwargs:
            raise ValueError("env_kwargs may not hold 'pool': each worker owns its pool; "
                             "size it with pool_size")


@dataclass(frozen=True)
class EpisodeSpec:
    """One episode to play: which task, which sample of it, which attempt."""

    episode_id: str
    task_id: str | None
    sample_index: int
    seed: int
    attempt: int = 1

    def retry(self) -> EpisodeSpec:
        """The same episode, one attempt later."""
        return EpisodeSpec(self.episode_id, self.task_id, self.sample_index, self.seed,
                           self.attempt + 1)


def plan_episodes(env_id: str, task_ids: Sequence[str], samples_per_task: int
                  ) -> list[EpisodeSpec]:
    """Every episode of a collection, samples of one task next to each other.

    Keeping a task's samples adjacent puts them in the same batch, which is what a
    group-relative trainer wants and lets an inference server reuse the prompt.
    """
    if samples_per_task < 1:
        raise ValueError(f"samples_per_task must be >= 1, got {samples_per_task}")
    plan = []
    for task_id in task_ids:
        for k in range(samples_per_task):
            eid = episode_id(env_id, task_id, k)
            plan.append(EpisodeSpec(eid, task_id, k, episode_seed(eid)))
    return plan
