"""Ray rollout clusters: parallel episode collection that survives failures.

* `collect` — the driver: plans episodes (ids ``ENV|TASK|SAMPLE``), runs them on
  `RolloutWorker` actors (local Ray or an existing cluster), streams them to Parquet,
  resumes, retries, and never writes an episode twice;
* `RolloutWorker` — a Ray actor with its own `SandboxPool` and policy;
* `RolloutConfig` — batch size, retries, resources, timeouts;
* `load_trajectories` — read a collection back as a ``datasets.Dataset``;
* `evaluate` — play every task on this machine; pass@k, mean reward, per-task results;
* `build_policy` — every policy spec, including ``canonical`` (reference answers).

Names load lazily: ``import sandgym.rollouts`` does not import Ray.

Example:
    >>> from sandgym.rollouts import collect                          # doctest: +SKIP
    >>> result = collect("sandgym/HumanEval-v0", "canonical", limit=8, samples_per_task=2,
    ...                  num_workers=2, out="runs/check.parquet")
    >>> result.episodes, result.pass_rate
    (16, 1.0)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from sandgym.rollouts.config import (
    SANDBOX_RESOURCE,
    EpisodeSpec,
    RolloutConfig,
    episode_id,
    plan_episodes,
)
from sandgym.rollouts.errors import (
    NoSandboxNodesError,
    RolloutError,
    StorageError,
    WorkerStartError,
)
from sandgym.rollouts.result import CollectResult

if TYPE_CHECKING:
    from sandgym.rollouts.driver import RolloutInterrupted, collect
    from sandgym.rollouts.evaluation import EvalReport, evaluate
    from sandgym.rollouts.policies import build_policy, canonical_policy
    from sandgym.rollouts.progress import summary_table
    from sandgym.rollouts.storage import (
        SCHEMA,
        TrajectoryStore,
        finished_episode_ids,
        load_trajectories,
    )
    from sandgym.rollouts.worker import RolloutWorker

__all__ = [
    "SANDBOX_RESOURCE",
    "SCHEMA",
    "CollectResult",
    "EpisodeSpec",
    "EvalReport",
    "NoSandboxNodesError",
    "RolloutConfig",
    "RolloutError",
    "RolloutInterrupted",
    "RolloutWorker",
    "StorageError",
    "TrajectoryStore",
    "WorkerStartError",
    "build_policy",
    "canonical_policy",
    "collect",
    "episode_id",
    "evaluate",
    "finished_episode_ids",
    "load_trajectories",
    "plan_episodes",
    "summary_table",
]

_LAZY = {
    "collect": "sandgym.rollouts.driver",
    "evaluate": "sandgym.rollouts.evaluation",
    "EvalReport": "sandgym.rollouts.evaluation",
    "RolloutInterrupted": "sandgym.rollouts.driver",
    "RolloutWorker": "sandgym.rollouts.worker",
    "build_policy": "sandgym.rollouts.policies",
    "canonical_policy": "sandgym.rollouts.policies",
    "summary_table": "sandgym.rollouts.progress",
    "SCHEMA": "sandgym.rollouts.storage",
    "TrajectoryStore": "sandgym.rollouts.storage",
    "finished_episode_ids": "sandgym.rollouts.storage",
    "load_trajectories": "sandgym.rollouts.storage",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'sandgym.rollouts' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
