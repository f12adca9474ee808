"""Training from execution feedback with TRL (DESIGN.md, "Training").

* `execution_reward` — a TRL reward function graded in sandboxes (None on sandbox_error);
* `prompts_dataset` — the ``prompt`` + ``task_id`` dataset GRPO needs, from any env;
* `environment_factory` — any env as a TRL environment (its declared tools become methods);
* `RayRolloutFunc` — a ``rollout_func`` that fills GRPO batches from Ray workers;
* `train_grpo` / `GRPORunConfig` — the ``sandgym train grpo`` entry point;
* `export_sft` / `export_dpo` — rollouts to SFT / DPO datasets.

Names load lazily: ``import sandgym.train`` imports neither torch nor TRL.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sandgym.train.chat_template import tool_calling_tokenizer
    from sandgym.train.datasets import prompts_dataset
    from sandgym.train.environment import (
        EnvironmentFactory,
        ToolEnvironment,
        environment_factory,
    )
    from sandgym.train.export import export_dpo, export_sft
    from sandgym.train.grpo import GRPORunConfig, GRPORunResult, train_grpo
    from sandgym.train.local_rollout import CodeBlockRollout
    from sandgym.train.metrics import MetricsCallback
    from sandgym.train.rewards import ExecutionReward, execution_reward
    from sandgym.train.rft import RFTRunConfig, RFTRunResult, train_rft
    from sandgym.train.rollout_func import RayRolloutFunc, rollout_reward

__all__ = [
    "EnvironmentFactory",
    "ExecutionReward",
    "CodeBlockRollout",
    "GRPORunConfig",
    "GRPORunResult",
    "MetricsCallback",
    "RFTRunConfig",
    "RFTRunResult",
    "RayRolloutFunc",
    "ToolEnvironment",
    "environment_factory",
    "execution_reward",
    "export_dpo",
    "export_sft",
    "prompts_dataset",
    "rollout_reward",
    "tool_calling_tokenizer",
    "train_grpo",
    "train_rft",
]

_LAZY = {
    "EnvironmentFactory": "sandgym.train.environment",
    "ToolEnvironment": "sandgym.train.environment",
    "environment_factory": "sandgym.train.environment",
    "tool_calling_tokenizer": "sandgym.train.chat_template",
    "ExecutionReward": "sandgym.train.rewards",
    "execution_reward": "sandgym.train.rewards",
    "GRPORunConfig": "sandgym.train.grpo",
    "GRPORunResult": "sandgym.train.grpo",
    "train_grpo": "sandgym.train.grpo",
    "MetricsCallback": "sandgym.train.metrics",
    "RFTRunConfig": "sandgym.train.rft",
    "RFTRunResult": "sandgym.train.rft",
    "train_rft": "sandgym.train.rft",
    "CodeBlockRollout": "sandgym.train.local_rollout",
    "RayRolloutFunc": "sandgym.train.rollout_func",
    "rollout_reward": "sandgym.train.rollout_func",
    "export_dpo": "sandgym.train.export",
    "export_sft": "sandgym.train.export",
    "prompts_dataset": "sandgym.train.datasets",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'sandgym.train' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
