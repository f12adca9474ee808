"""`CodeBlockRollout`: GRPO generation in-process that ends each reply after its code block.

TRL's own generation can only stop at an end-of-turn token, so a small model that writes
its function and then a paragraph about it spends most of its budget on the paragraph,
hits the cap, and is scored (and trained) on a cut-off reply: the flat-to-falling curve
of the first GRPO runs. This ``rollout_func`` generates with the trainer's *live* model
(no copy, no weight sync) through `TransformersPolicy`, which stops each row once its
reply holds a complete fenced block (`SamplingParams.stop_after_code_block`).

A reply stopped there ends with the end-of-turn token appended: to the env the reply
ended there, and in TRL's terms it is a finished completion, not a truncated one (so
``mask_truncated_completions`` and the ``clipped_ratio`` metric mean what they say).
Its log-probability entry is 0.0: TRL recomputes log-probabilities with the model and
reads a rollout's own only for vLLM importance sampling or an off-policy mask
(``off_policy_mask_threshold``), neither of which this path uses; do not combine them.
"""

from __future__ import annotations

import logging
from typing import Any

logger = logging.getLogger(__name__)

__all__ = ["CodeBlockRollout"]


class CodeBlockRollout:
    """A TRL ``rollout_func``: sample with the trainer's model, stop after the code block.

    Args:
        seed: base seed; step ``s`` samples with ``seed + s`` (reproducible runs).
    """

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed
        self.generations = 0

    def __call__(self, prompts: list[Any], trainer: Any) -> dict[str, list[Any]]:
        """Generate one reply per prompt (TRL repeats each prompt per generation)."""
        from sandgym.agents import SamplingParams, TransformersPolicy

        model = trainer.accelerator.unwrap_model(trainer.model)
        tokenizer = trainer.processing_class
        was_training = model.training
        model.eval()
        side = tokenizer.padding_side
        try:
            policy = TransformersPolicy(model, tokenizer, name="grpo")
            sampling = SamplingParams(
                temperature=float(trainer.temperature), top_p=float(trainer.top_p or 1.0),
                max_new_tokens=int(trainer.max_completion_length),
                seed=self.seed + int(trainer.state.global_step), stop_after_code_block=True)
            generations = policy.generate([list(p) for p in prompts], sampling)
        finally:
            tokenizer.padding_side = side
            if was_training:
                model.train()
        eos = tokenizer.eos_token_id
        ends = set(getattr(trainer, "eos_token_ids", None) or [eos])
        completion_ids, logprobs = [], []
        for gen in generations:
            ids, lps = list(gen.token_ids), list(gen.logprobs)
            if gen.finish_reason == "stop" and (not ids or ids[-1] not in ends):
                ids.append(eos)  # stopped after the code block: the reply ended here
                lps.append(0.0)
            completion_ids.append(ids)
            logprobs.append(lps)
        self.generations += len(generations)
        return {"prompt_ids": [list(g.prompt_token_ids or []) for g in generations],
                "completion_ids": completion_ids, "logprobs": logprobs}
