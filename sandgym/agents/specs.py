"""`policy_from_spec`: one string names a policy, for the CLI and for configs.

Accepted forms:

* ``default`` — `TransformersPolicy` on the default model (fetched on first use);
* ``openai:URL#MODEL`` — `OpenAIPolicy`, e.g. ``openai:http://127.0.0.1:8000/v1#Qwen3-0.6B``;
* a path to a local model directory (``config.json`` + weights + tokenizer).

``canonical`` is not built here: it replies with each task's reference answer, which
only the environment knows, so the eval command builds it as a `ScriptedPolicy`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sandgym.agents.base import Policy
from sandgym.agents.errors import PolicySpecError

__all__ = ["POLICY_SPEC_HELP", "policy_from_spec"]

POLICY_SPEC_HELP = ("'default' (the shipped SmolLM2-135M-Instruct), 'openai:URL#MODEL' (an "
                    "OpenAI-compatible server, e.g. openai:http://127.0.0.1:8000/v1#my-model), "
                    "or a local model directory")


def policy_from_spec(spec: str, **options: Any) -> Policy:
    """Build the policy a spec string names.

    Args:
        spec: ``"default"``, ``"openai:URL#MODEL"`` or a model directory path.
        **options: keyword arguments for the policy's constructor (e.g. ``device``,
            ``dtype``, ``batch_size`` for local models; ``max_concurrency``,
            ``timeout_s``, ``api_key`` for servers).

    Returns:
        The policy, ready to ``generate``.

    Raises:
        PolicySpecError: the spec is none of the accepted forms; the message lists them.
    """
    spec = spec.strip()
    if spec == "default":
        from sandgym.agents.default_model import default_model_path
        from sandgym.agents.transformers_policy import TransformersPolicy

        return TransformersPolicy(default_model_path(), name=options.pop("name", "default"),
                                  **options)
    if spec.startswith("openai:"):
        from sandgym.agents.openai_policy import OpenAIPolicy

        url, sep, model = spec[len("openai:"):].rpartition("#")
        if not sep or not url or not model:
            raise PolicySpecError(f"policy spec {spec!r} needs a URL and a model name: "
                                  "openai:URL#MODEL, e.g. openai:http://127.0.0.1:8000/v1#my-model")
        try:
            return OpenAIPolicy(url, model, **options)
        except ValueError as e:
            raise PolicySpecError(f"policy spec {spec!r}: {e}") from e
    if spec in ("canonical", "scripted"):
        raise PolicySpecError(f"policy {spec!r} depends on the environment's reference answers; "
                              "use `sandgym eval --policy canonical`, or build a ScriptedPolicy")
    path = Path(spec).expanduser()
    if path.is_dir() and (path / "config.json").is_file():
        from sandgym.agents.transformers_policy import TransformersPolicy

        return TransformersPolicy(path, **options)
    reason = "is a directory without config.json" if path.is_dir() else "is not a known form"
    raise PolicySpecError(f"policy spec {spec!r} {reason}; use {POLICY_SPEC_HELP}")
