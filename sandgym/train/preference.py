"""Preference fine-tuning on execution feedback: DPO with an NLL term on the chosen reply
(RPO, Pang et al. 2024), on pairs of a verified reply and a failed one for the same prompt
(`sandgym.train.export.dpo_pairs`, the pairs `sandgym export dpo` writes).

Why not only SFT on the verified replies (expert iteration)? SFT raises the probability of
what passed but never lowers that of what failed, so the model's greedy answer to a task
it gets wrong stays where it was unless the passing answers happen to outweigh it. A pair
(passed, failed) on the same prompt pushes the two apart, and the NLL term keeps the
passing reply's own probability from falling while they separate (plain DPO can lower
both).

Why our own loop instead of TRL's ``DPOTrainer``? In TRL 1.16 its chunked, fused LM head
took about 140 s per step of 2 pairs on this 2-core CPU; this loop takes about 36 s per
step of 8 pairs (16 replies forward and backward, compute-bound). The loss is the
textbook one, written out below, and the reference log-probs are computed once, with the
adapter switched off (the base model, also when an adapter is resumed), before training.
"""

from __future__ import annotations

import json
import logging
import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

__all__ = ["PreferenceSettings", "train_preference", "write_pairs"]


@dataclass(frozen=True)
class PreferenceSettings:
    """Hyperparameters of one preference fine-tune."""

    beta: float = 0.1
    """DPO temperature: how far the policy may move from the reference per nat of margin."""
    nll_weight: float = 1.0
    """Weight of the chosen reply's per-token NLL (0 gives plain DPO)."""
    learning_rate: float = 5e-5
    """2e-4 lost 3 development tasks net where 5e-5 gained 2 (see `sandgym.train.rft`)."""
    epochs: float = 2.0
    batch_size: int = 8
    lora_r: int = 16
    lora_alpha: int = 32
    seed: int = 0


def train_preference(base: Path, pairs: list[dict[str, Any]], adapter_dir: Path,
                     settings: PreferenceSettings, *, resume: Path | None = None,
                     log: Callable[[dict[str, Any]], None] | None = None) -> list[float]:
    """LoRA RPO on ``pairs``; saves the adapter (and tokenizer) to ``adapter_dir``.

    ``pairs``: ``{"prompt": messages, "chosen": [assistant message], "rejected":
    [assistant message]}``, as `dpo_pairs` makes them from one-turn episodes.

    ``resume``: an adapter to keep training (its own weights are then the policy's start,
    and the reference is still the base model). Returns the loss of every step; ``log``
    gets each step's figures (loss, margin, accuracy).
    """
    import torch
    from peft import PeftModel, get_peft_model

    from sandgym.agents import load_model
    from sandgym.train.lora import lora_config

    if not pairs:
        raise ValueError("no preference pairs to train on")
    _check_plain_head(base)
    torch.manual_seed(settings.seed)
    model, tokenizer = load_model(base)
    if resume is not None:
        model = PeftModel.from_pretrained(model, str(resume), is_trainable=True)
    else:
        model = get_peft_model(model, lora_config(settings.lora_r, settings.lora_alpha))
    device = next(model.parameters()).device
    encoded = [_encode(tokenizer, p) for p in pairs]
    model.eval()
    with torch.no_grad(), model.disable_adapter():
        reference = _sequence_logps(model, encoded, tokenizer.pad_token_id, device,
                                    settings.batch_size * 2)
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=settings.learning_rate, weight_decay=0.0)
    losses: list[float] = []
    for step, batch in enumerate(_batches(len(pairs), settings.batch_size, settings.epochs,
                                          settings.seed), start=1):
        seqs = [encoded[i][0] for i in batch] + [encoded[i][1] for i in batch]
        logps, tokens = _batch_logps(model, seqs, tokenizer.pad_token_id, device)
        chosen, rejected = logps[:len(batch)], logps[len(batch):]
        ref = torch.tensor([reference[2 * i] for i in batch]), torch.tensor(
            [reference[2 * i + 1] for i in batch])
        margin = (chosen - ref[0].to(device)) - (rejected - ref[1].to(device))
        dpo = -torch.nn.functional.logsigmoid(settings.beta * margin).mean()
        nll = -(chosen / tokens[:len(batch)]).mean()
        loss = dpo + settings.nll_weight * nll
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        losses.append(loss.item())
        if log is not None:
            log({"step": step, "loss": loss.item(), "dpo": dpo.item(), "nll": nll.item(),
                 "margin": margin.mean().item(),
                 "accuracy": (margin > 0).float().mean().item()})
    model.save_pretrained(str(adapter_dir))
    tokenizer.padding_side = "left"
    tokenizer.save_pretrained(str(adapter_dir))
    return losses


def _batches(n: int, batch_size: int, epochs: float, seed: int) -> list[list[int]]:
    """Index batches as a Trainer makes them: each epoch a fresh seeded shuffle cut into
    ``ceil(n / batch_size)`` contiguous batches (the last may be short), so no batch holds
    a pair twice; a fractional epoch count takes the first batches of the last epoch.

        >>> _batches(5, 2, 1.5, seed=0)  # 3 batches an epoch, 1.5 epochs: 5 batches
        [[2, 1], [0, 4], [3], [0, 2], [1, 3]]
    """
    per_epoch = math.ceil(n / batch_size)
    total = max(1, math.ceil(epochs * per_epoch))
    rng = random.Random(seed)
    out: list[list[int]] = []
    while len(out) < total:
        order = list(range(n))
        rng.shuffle(order)
        out.extend(order[i:i + batch_size] for i in range(0, n, batch_size))
    return out[:total]


def _encode(tokenizer: Any, pair: dict[str, Any]) -> tuple[tuple[list[int], int],
                                                            tuple[list[int], int]]:
    """(token ids, prompt length) of prompt+chosen and of prompt+rejected, as the chat
    template renders them: everything the template puts after the prompt is a target, the
    assistant turn's end (for SmolLM2 ``<|im_end|>`` and a newline) included, so the
    model is also taught where to stop. The prompt is tokenized on its own, as the policy
    does when it generates."""
    prompt = tokenizer.apply_chat_template(pair["prompt"], tokenize=False,
                                           add_generation_prompt=True)
    prompt_ids = tokenizer(prompt, add_special_tokens=False).input_ids
    out = []
    for key in ("chosen", "rejected"):
        reply = pair[key]
        if len(reply) != 1 or reply[0].get("role") != "assistant":
            raise ValueError(f"a pair's {key} must be one assistant message (one-turn "
                             f"episodes); got roles {[m.get('role') for m in reply]}")
        full = tokenizer.apply_chat_template([*pair["prompt"], reply[0]], tokenize=False)
        if not full.startswith(prompt):
            raise ValueError("the chat template does not render the prompt as a prefix of "
                             "the conversation; cannot tell the reply's tokens apart")
        ids = prompt_ids + tokenizer(full[len(prompt):], add_special_tokens=False).input_ids
        out.append((ids, len(prompt_ids)))
    return out[0], out[1]


def _check_plain_head(base: Path) -> None:
    """Refuse models whose forward rescales or caps the logits: the log-probs here come
    from the decoder's hidden states through the output embeddings alone (the prompt's
    positions never go through the head), which would silently differ for them."""
    from transformers import AutoConfig

    config = AutoConfig.from_pretrained(str(base))
    config = getattr(config, "text_config", None) or config
    for name in ("final_logit_softcapping", "logit_scale", "logits_scaling"):
        value = getattr(config, name, None)
        if value not in (None, 1, 1.0):
            raise ValueError(f"{base}: the model's forward changes its logits ({name}="
                             f"{value}); objective 'rpo' does not support it, use 'sft'")


def _batch_logps(model: Any, seqs: list[tuple[list[int], int]], pad_id: int | None,
                 device: Any) -> tuple[Any, Any]:
    """Summed log-probs of each sequence's reply tokens, and the reply lengths. Only the
    reply positions go through the LM head (the prompt's logits are never needed)."""
    import torch

    width = max(len(ids) for ids, _ in seqs)
    pad = pad_id if pad_id is not None else 0
    input_ids = torch.full((len(seqs), width), pad, dtype=torch.long)
    attention = torch.zeros((len(seqs), width), dtype=torch.long)
    for row, (ids, _) in enumerate(seqs):
        input_ids[row, :len(ids)] = torch.tensor(ids)
        attention[row, :len(ids)] = 1
    causal_lm = model.get_base_model()
    hidden = causal_lm.get_decoder()(input_ids=input_ids.to(device),
                                     attention_mask=attention.to(device), use_cache=False
                                     ).last_hidden_state
    rows, positions, targets = [], [], []
    for row, (ids, prompt_len) in enumerate(seqs):
        for pos in range(prompt_len - 1, len(ids) - 1):
            rows.append(row)
            positions.append(pos)
            targets.append(ids[pos + 1])
    rows_t = torch.tensor(rows, device=device)
    # The head in fp32 whatever the model's dtype: bf16 logits would round away the
    # small log-prob changes a LoRA step makes.
    head = causal_lm.get_output_embeddings()
    logits = torch.nn.functional.linear(
        hidden[rows_t, torch.tensor(positions, device=device)].float(), head.weight.float(),
        None if head.bias is None else head.bias.float())
    token_logps = torch.log_softmax(logits, dim=-1).gather(
        1, torch.tensor(targets, device=device)[:, None]).squeeze(1)
    sums = torch.zeros(len(seqs), device=device).index_add(0, rows_t, token_logps)
    lengths = torch.bincount(rows_t, minlength=len(seqs)).clamp(min=1).to(sums.dtype)
    return sums, lengths


def _sequence_logps(model: Any, encoded: list[tuple[Any, Any]], pad_id: int | None,
                    device: Any, batch_size: int) -> list[float]:
    """Reply log-probs of every (chosen, rejected) sequence, flattened as
    [chosen0, rejected0, chosen1, ...]."""
    seqs = [s for pair in encoded for s in pair]
    out: list[float] = []
    for start in range(0, len(seqs), batch_size):
        logps, _ = _batch_logps(model, seqs[start:start + batch_size], pad_id, device)
        out.extend(float(x) for x in logps)
    return out


def write_pairs(path: Path, pairs: list[dict[str, Any]]) -> None:
    """One JSON line per pair (task, chosen, rejected), to read what was trained on."""
    with path.open("w") as f:
        for p in pairs:
            f.write(json.dumps({"task_id": p.get("task_id"),
                                "chosen": p["chosen"][0]["content"],
                                "rejected": p["rejected"][0]["content"]}) + "\n")
