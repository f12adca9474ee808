"""`Trajectory`: one played episode, with everything a trainer or an analysis needs.

A trajectory keeps two views of the same episode:

* the chat view (``messages``, ``actions``, per-step ``rewards`` and ``verdicts``), which
  is what SFT/DPO exports and people read;
* the token view, per turn (``prompt_token_ids``, ``completion_token_ids``,
  ``logprobs``) and over the whole conversation (``token_ids`` with a ``loss_mask`` that
  is 1 exactly on model-written tokens), which is what a policy-gradient trainer needs.

`to_record` flattens it into a dict of JSON/Arrow-friendly values (lists of numbers,
strings; nested dicts JSON-encoded) that the rollout layer writes to Parquet, and
`from_record` reads one back.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from typing import Any

from sandgym.verdict import Verdict

__all__ = ["Trajectory", "conversation_tokens", "episode_id", "episode_seed"]

logger = logging.getLogger(__name__)

_JSON_FIELDS = ("messages", "verdicts", "reward_components", "timings")


@dataclass
class Trajectory:
    """One episode of a policy in an environment.

    Attributes:
        episode_id: unique id (caller-provided, else a uuid4 hex); the rollout layer
            uses it to resume and to never write an episode twice.
        env_id: the environment's registered id (``env.spec.id``) or class name.
        task_id: the task played (``info["task_id"]`` after reset), if the env has tasks.
        policy: the policy's name.
        messages: the chat the policy saw, system/user/assistant dicts, oldest first; the
            environment's reply to the last action is in ``final_observation`` instead.
        actions: the text of each action sent to ``env.step`` (the assistant replies).
        rewards: the reward of each step (NaN where the sandbox failed).
        verdicts: ``info["verdict"]`` of each step ({} when the env gave none).
        reward_components: ``info["reward_components"]`` of each step.
        final_reward: the episode return (sum of step rewards), None when the sandbox
            failed: such an episode says nothing about the model and must not be scored.
        sandbox_error: whether the sandbox infrastructure failed during the episode.
        terminated: the env ended the episode (task solved or failed for good).
        truncated: the episode was cut (env time limit, ``max_turns``, sandbox error).
        num_turns: number of policy replies.
        prompt_token_ids: per turn, the tokens the policy conditioned on ([] if unknown).
        completion_token_ids: per turn, the generated tokens ([] if unknown).
        logprobs: per turn, one raw log-probability per completion token ([] if unknown).
        finish_reasons: per turn, ``"stop"`` or ``"length"``.
        token_ids: the whole conversation as one token sequence (first prompt, then each
            completion followed by the template tokens and environment reply that lead
            to the next completion); None when the policy has no tokenizer or its chat
            template does not render past turns verbatim.
        loss_mask: same length as ``token_ids``; 1 on model-written tokens, 0 elsewhere.
        timings: ``{"generation_s", "env_s"}``. ``generation_s`` is the wall time of the
            generate calls this episode was part of (shared with the batch), ``env_s``
            the time of its own reset and steps.
        seed: the seed passed to ``env.reset``.
        final_observation: the environment's reply to the last action.
    """

    episode_id: str
    env_id: str
    task_id: str | None = None
    policy: str = ""
    messages: list[dict[str, Any]] = field(default_factory=list)
    actions: list[str] = field(default_factory=list)
    rewards: list[float] = field(default_factory=list)
    verdicts: list[dict[str, Any]] = field(default_factory=list)
    reward_components: list[dict[str, Any]] = field(default_factory=list)
    final_reward: float | None = None
    sandbox_error: bool = False
    terminated: bool = False
    truncated: bool = False
    num_turns: int = 0
    prompt_token_ids: list[list[int]] = field(default_factory=list)
    completion_token_ids: list[list[int]] = field(default_factory=list)
    logprobs: list[list[float]] = field(default_factory=list)
    finish_reasons: list[str] = field(default_factory=list)
    token_ids: list[int] | None = None
    loss_mask: list[int] | None = None
    timings: dict[str, float] = field(
        default_factory=lambda: {"generation_s": 0.0, "env_s": 0.0})
    seed: int | None = None
    final_observation: str | None = None

    @property
    def verdict(self) -> Verdict:
        """The last step's verdict, typed (empty when no step was taken)."""
        return Verdict.of(self.verdicts[-1] if self.verdicts else None)

    @property
    def passed(self) -> bool:
        """Whether the episode solved its task: the last verdict is ``pass`` or, for an
        env that gives no status, the return is positive (never after a sandbox error)."""
        if self.sandbox_error or self.final_reward is None:
            return False
        verdict = self.verdict
        return verdict.ok if verdict.status else self.final_reward > 0

    @property
    def success(self) -> bool | None:
        """Whether the return is positive; None for a sandbox error."""
        return None if self.final_reward is None else self.final_reward > 0

    def to_record(self) -> dict[str, Any]:
        """A flat dict for JSON lines or an Arrow/Parquet row.

        Lists of numbers and strings stay lists; dict-valued fields (``messages``,
        ``verdicts``, ``reward_components``, ``timings``) become JSON strings, so rows
        of different environments share one schema.
        """
        record = {f.name: getattr(self, f.name) for f in fields(self)}
        for name in _JSON_FIELDS:
            record[name] = json.dumps(record[name], default=_json_default, allow_nan=True)
        return record

    @staticmethod
    def timings_of(record: dict[str, Any]) -> dict[str, float]:
        """Only the ``timings`` of a record: the driver reads it per episode, and decoding
        the whole record (messages, token lists) would cost it ~30x more."""
        value = record.get("timings")
        if isinstance(value, str):
            value = json.loads(value)
        return dict(value or {})

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Trajectory:
        """Inverse of `to_record` (unknown keys are ignored, missing ones defaulted)."""
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in record.items() if k in known}
        values.setdefault("episode_id", "")
        values.setdefault("env_id", "")
        for name in _JSON_FIELDS:
            if isinstance(values.get(name), str):
                values[name] = json.loads(values[name])
        for name in ("prompt_token_ids", "completion_token_ids", "logprobs"):
            if name in values and values[name] is not None:
                values[name] = [list(x) for x in values[name]]
        for name in ("actions", "rewards", "finish_reasons", "token_ids", "loss_mask"):
            if values.get(name) is not None:
                values[name] = list(values[name])
        return cls(**values)


def episode_id(env_id: str, task_id: str | None, sample: int | str | None) -> str:
    """The one episode-id format, ``ENV|TASK|SAMPLE``: resume and dedup key.

    ``sample`` is the sample index of a planned collection, a label (e.g. a training
    step's), or None for a fresh unique one.

    Example:
        >>> episode_id("sandgym/HumanEval-v0", "HumanEval/0", 1)
        'sandgym/HumanEval-v0|HumanEval/0|1'
    """
    if sample is None:
        sample = uuid.uuid4().hex[:16]
    return f"{env_id}|{task_id}|{sample}"


def episode_seed(eid: str) -> int:
    """A reset seed derived from the episode id (stable across runs and machines)."""
    return int.from_bytes(hashlib.sha256(eid.encode()).digest()[:4], "big")


def _json_default(value: Any) -> Any:
    """Encode numpy scalars/arrays and other odd values found in env verdicts."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, (set, tuple)):
        return list(value)
    return repr(value)


def conversation_tokens(tokenizer: Any, messages: Sequence[dict[str, Any]],
                        completion_token_ids: Sequence[Sequence[int]],
                        first_prompt_ids: Sequence[int] | None = None,
                        ) -> tuple[list[int], list[int]] | None:
    """Token sequence of a whole conversation and its mask over model-written tokens.

    The sequence is the first prompt, then for each turn the completion tokens exactly as
    generated (mask 1) followed by what the chat template and the environment put
    between that completion and the next one (mask 0): the end-of-turn token if the
    model did not write it, the user turn, the next assistant header. A trainer can
    feed it to the model in one forward pass and take the loss where the mask is 1.

    Args:
        tokenizer: a Hugging Face tokenizer with a chat template.
        messages: the conversation; its assistant messages are the completions, in order.
        completion_token_ids: the generated tokens of each assistant message.
        first_prompt_ids: tokens of the first prompt as the policy built them (default:
            rendered here).

    Returns:
        ``(token_ids, loss_mask)``, or None when the template does not reproduce earlier
        turns verbatim (some templates drop past reasoning), so no single sequence is
        faithful to what the model saw.
    """
    turns = [i for i, m in enumerate(messages) if m.get("role") == "assistant"]
    if len(turns) != len(completion_token_ids) or not turns:
        return None

    def render(upto: int) -> str:
        return tokenizer.apply_chat_template(list(messages[:upto]), tokenize=False,
                                             add_generation_prompt=True)

    def encode(text: str) -> list[int]:
        return list(tokenizer(text, add_special_tokens=False)["input_ids"]) if text else []

    ids = list(first_prompt_ids) if first_prompt_ids is not None else encode(render(turns[0]))
    mask = [0] * len(ids)
    for k, at in enumerate(turns):
        completion = list(completion_token_ids[k])
        if not completion and messages[at]["content"]:
            return None
        ids += completion
        mask += [1] * len(completion)
        if k + 1 == len(turns):
            break
        written = render(at) + messages[at]["content"]
        following = render(turns[k + 1])
        if not following.startswith(written):
            logger.debug("chat template does not reproduce turn %d verbatim; no token view", k)
            return None
        between = following[len(written):]
        last = tokenizer.convert_ids_to_tokens(completion[-1]) if completion else None
        if last and last in tokenizer.all_special_tokens and between.startswith(last):
            between = between[len(last):]  # the model already wrote the end-of-turn token
        gap = encode(between)
        ids += gap
        mask += [0] * len(gap)
    return ids, mask


def is_nan(value: Any) -> bool:
    """Whether ``value`` is a float NaN (the env's marker of a sandbox failure)."""
    return isinstance(value, float) and math.isnan(value)
