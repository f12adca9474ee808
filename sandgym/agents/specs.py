"""`policy_from_spec`: one string names a policy, for the CLI and for configs.

Accepted forms:

* ``default`` — `TransformersPolicy` on the default model (fetched on first use);
* ``openai:URL#MODEL`` — `OpenAIPolicy`, e.g. ``openai:http://127.0.0.1:8000/v1#Qwen3-0.6B``;
* a path to a local model directory (``config.json`` + weights + tokenizer), a LoRA
  adapter directory, or a training run directory holding ``adapter/`` or ``model/``
  (``runs/X`` as `sandgym train grpo` writes it);
* ``canonical`` — each task's reference answer: a `ScriptedPolicy` around an ``oracle``
  (messages → reply) that the caller supplies, because only the environment knows the
  answers and agents import no env (`sandgym.rollouts.build_policy` supplies it).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sandgym.agents.base import Policy
from sandgym.agents.errors import PolicySpecError

__all__ = ["CANONICAL", "POLICY_SPEC_HELP", "Oracle", "check_policy_spec", "is_path_spec",
           "model_dir_of", "policy_from_spec"]

CANONICAL = "canonical"
POLICY_SPEC_HELP = ("'default' (the shipped SmolLM2-135M-Instruct), 'openai:URL#MODEL' (an "
                    "OpenAI-compatible server, e.g. openai:http://127.0.0.1:8000/v1#my-model), "
                    "a local model or LoRA adapter directory (or a run directory holding one), or "
                    "'canonical' (each task's reference answer: "
                    "an oracle for checking envs and throughput)")

Oracle = Callable[[list[dict[str, Any]]], str]
"""Messages of a conversation → the reference reply (what ``canonical`` says)."""


def policy_from_spec(spec: str, *, oracle: Oracle | None = None, **options: Any) -> Policy:
    """Build the policy a spec string names (the one parser of policy specs).

    Args:
        spec: ``"default"``, ``"openai:URL#MODEL"``, a model directory path, or
            ``"canonical"``.
        oracle: for ``canonical``: the function giving each conversation's reference
            reply (`sandgym.rollouts.build_policy` makes it from an env).
        **options: keyword arguments for the policy's constructor (e.g. ``device``,
            ``dtype``, ``batch_size`` for local models; ``max_concurrency``,
            ``timeout_s``, ``api_key`` for servers).

    Returns:
        The policy, ready to ``generate``.

    Raises:
        PolicySpecError: the spec is none of the accepted forms (the message lists
            them), or ``canonical`` without an oracle.
    """
    spec = spec.strip()
    if spec == CANONICAL:
        if oracle is None:
            raise PolicySpecError("policy 'canonical' replies with each task's reference "
                                  "answer, which only the env knows; build it with "
                                  "sandgym.rollouts.build_policy('canonical', env=...)")
        from sandgym.agents.scripted import ScriptedPolicy

        return ScriptedPolicy(oracle, name=CANONICAL)
    if spec == "default":
        from sandgym.agents.default_model import default_model_path
        from sandgym.agents.transformers_policy import TransformersPolicy

        return TransformersPolicy(default_model_path(), name=options.pop("name", "default"),
                                  **options)
    if spec.startswith("openai:"):
        from sandgym.agents.openai_policy import OpenAIPolicy

        target = _openai_target(spec)
        if target is None:
            raise PolicySpecError(f"policy spec {spec!r} needs a URL and a model name: "
                                  "openai:URL#MODEL, e.g. openai:http://127.0.0.1:8000/v1#my-model")
        try:
            return OpenAIPolicy(*target, **options)
        except ValueError as e:
            raise PolicySpecError(f"policy spec {spec!r}: {e}") from e
    if spec == "scripted":
        raise PolicySpecError("policy 'scripted' needs its replies; build a ScriptedPolicy")
    path = Path(spec).expanduser()
    candidate = model_dir_of(path)
    if candidate is not None:
        from sandgym.agents.transformers_policy import TransformersPolicy

        options.setdefault("name", path.name)
        return TransformersPolicy(candidate, **options)
    if path.is_dir():
        reason = "is a directory with no model, adapter/ or model/ in it"
    elif is_path_spec(spec):
        reason = "names no directory (no such path)"
    else:
        reason = "is not a known form"
    raise PolicySpecError(f"policy spec {spec!r} {reason}; use {POLICY_SPEC_HELP}")


def _openai_target(spec: str) -> tuple[str, str] | None:
    """(URL, model) of an ``openai:URL#MODEL`` spec, or None when either is missing."""
    url, sep, model = spec[len("openai:"):].rpartition("#")
    return (url, model) if sep and url and model else None


def is_path_spec(spec: str) -> bool:
    """Whether a policy spec is written as a path (``runs/x``, ``./m``, ``~/m``, ``/m``).

    ``openai:URL#MODEL`` is not, though its URL holds slashes; a bare word (``defualt``)
    is not either: a typo, not a directory.
    """
    spec = spec.strip()
    if spec.startswith("openai:"):
        return False
    return "/" in spec or os.sep in spec or spec.startswith((".", "~"))


def model_dir_of(path: str | Path) -> Path | None:
    """The model or LoRA adapter directory a path spec names, or None.

    A training run holds its model in ``adapter/`` or ``model/`` (the run's own
    config.json is its settings, not a model's); otherwise the path itself must be a model
    or adapter directory.
    """
    path = Path(path).expanduser()
    for candidate in (path / "adapter", path / "model", path):
        if candidate.is_dir() and _is_model_dir(candidate):
            return candidate
    return None


def check_policy_spec(spec: str) -> None:
    """Raise the `PolicySpecError` `policy_from_spec` would raise for ``spec``, loading
    nothing.

    Why: a rollout's workers build the policy; a bad spec otherwise surfaces only once Ray
    has started and every worker has died on it, under pages of worker tracebacks.
    Accepted here: ``canonical``, ``default``, a well-formed ``openai:URL#MODEL``, an
    existing model, adapter or run directory. Whether a server answers, or ``canonical``
    suits the env, is left to whoever builds the policy.

    Raises:
        PolicySpecError: ``spec`` is none of the accepted forms.

    Example:
        >>> check_policy_spec("openai:http://127.0.0.1:8000/v1#m")
        >>> check_policy_spec("nonsense")                      # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        sandgym.agents.errors.PolicySpecError: policy spec 'nonsense' is not a known form; ...
    """
    spec = spec.strip()
    if spec in (CANONICAL, "default"):
        return
    if spec.startswith("openai:"):
        if _openai_target(spec) is not None:
            return
    elif model_dir_of(spec) is not None:
        return
    policy_from_spec(spec)  # raises: every valid form returned above
    raise PolicySpecError(f"policy spec {spec!r} is not a known form")  # pragma: no cover


def _is_model_dir(path: Path) -> bool:
    """A LoRA adapter, or a model whose config.json names its architecture."""
    import json

    if (path / "adapter_config.json").is_file():
        return True
    config = path / "config.json"
    if not config.is_file():
        return False
    try:
        return "model_type" in json.loads(config.read_text())
    except (OSError, ValueError):
        return False
