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
took about 140 s per step of 2 pairs on this 2-core CPU. This loop packs each pair into
one stretch of a row, its prompt once and both replies after it (`_pair_logps`), and
took 16 to 20 s per step of 8 pairs, the model load and the reference pass included,
as first measured (31 s by the same measure when it ran 16 right-padded prompt+reply
sequences); on an idle machine, about 9 s (a held-out benchmark round: 14 steps in
124 s). The loss
is the textbook one, written out below, and the reference log-probs are computed once,
with the adapter switched off (the base model, also when an adapter is resumed), before
training.
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

__all__ = ["PreferenceSettings", "train_preference", "unsupported_model", "write_pairs"]


@dataclass(frozen=True)
class PreferenceSettings:
    """Hyperparameters of one preference fine-tune."""

    beta: float = 0.1
    """DPO temperature: how far the policy may move from the reference per nat of margin."""
    nll_weight: float = 1.0
    """Weight of the chosen reply's per-token NLL (0 gives plain DPO)."""
    learning_rate: float = 1e-4
    """The development split's choice (see `sandgym.train.rft`): 1e-4 gained 5 tasks and
    lost 1; 2e-4 over-separated the pairs (a mean margin of 18 nats), gained 2, lost 5."""
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
    problem = unsupported_model(base)
    if problem:
        raise ValueError(f"{problem}; preference training does not support it, use SFT")
    torch.manual_seed(settings.seed)
    model, tokenizer = load_model(base)
    _use_maskable_attention(model)
    if resume is not None:
        model = PeftModel.from_pretrained(model, str(resume), is_trainable=True)
    else:
        model = get_peft_model(model, lora_config(settings.lora_r, settings.lora_alpha))
    device = next(model.parameters()).device
    encoded = [_encode(tokenizer, p) for p in pairs]
    model.eval()
    with torch.no_grad(), model.disable_adapter():
        ref_chosen, ref_rejected = _reference_logps(model, encoded, device,
                                                    settings.batch_size)
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=settings.learning_rate, weight_decay=0.0)
    losses: list[float] = []
    for step, batch in enumerate(_batches(len(pairs), settings.batch_size, settings.epochs,
                                          settings.seed), start=1):
        chosen, rejected, chosen_tokens = _pair_logps(model, [encoded[i] for i in batch],
                                                      device)
        ref = (torch.tensor([ref_chosen[i] for i in batch], device=device),
               torch.tensor([ref_rejected[i] for i in batch], device=device))
        margin = (chosen - ref[0]) - (rejected - ref[1])
        dpo = -torch.nn.functional.logsigmoid(settings.beta * margin).mean()
        nll = -(chosen / chosen_tokens).mean()
        loss = dpo + settings.nll_weight * nll
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        losses.append(loss.item())
        if log is not None:
            log({"step": step, "loss": loss.item(), "dpo": dpo.item(), "nll": nll.item(),
                 "margin": margin.mean().item(),
                 "margin_max_abs": margin.abs().max().item(),
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


@dataclass(frozen=True)
class _EncodedPair:
    """Token ids of a pair: the prompt (as the policy renders it to generate) and each
    reply's tokens after it."""

    prompt: list[int]
    chosen: list[int]
    rejected: list[int]

    @property
    def tokens(self) -> int:
        """Its length in a packed row: the prompt once, then both replies."""
        return len(self.prompt) + len(self.chosen) + len(self.rejected)


def _encode(tokenizer: Any, pair: dict[str, Any]) -> _EncodedPair:
    """The pair's prompt and replies as the chat template renders them: everything the
    template puts after the prompt is a target, the assistant turn's end (for SmolLM2
    ``<|im_end|>`` and a newline) included, so the model is also taught where to stop. The
    prompt is tokenized on its own, as the policy does when it generates."""
    prompt = tokenizer.apply_chat_template(pair["prompt"], tokenize=False,
                                           add_generation_prompt=True)
    prompt_ids = tokenizer(prompt, add_special_tokens=False).input_ids
    if not prompt_ids:
        raise ValueError("a pair's prompt renders to no tokens; the first reply token "
                         "would have nothing to be predicted from")
    replies = []
    for key in ("chosen", "rejected"):
        reply = pair[key]
        if len(reply) != 1 or reply[0].get("role") != "assistant":
            raise ValueError(f"a pair's {key} must be one assistant message (one-turn "
                             f"episodes); got roles {[m.get('role') for m in reply]}")
        full = tokenizer.apply_chat_template([*pair["prompt"], reply[0]], tokenize=False)
        if not full.startswith(prompt):
            raise ValueError("the chat template does not render the prompt as a prefix of "
                             "the conversation; cannot tell the reply's tokens apart")
        replies.append(tokenizer(full[len(prompt):], add_special_tokens=False).input_ids)
    return _EncodedPair(list(prompt_ids), replies[0], replies[1])


def unsupported_model(base: Path) -> str | None:
    """Why this loop would score ``base`` differently from its own forward pass, or None.

    Two kinds of model are refused: a forward that rescales or caps the logits (the
    log-probs here come from the decoder's hidden states through the output embeddings
    alone), and sliding-window attention (the packed rows' 4-D mask gives every layer
    the whole prefix). A LoRA adapter directory is judged by its base model.
    """
    from transformers import AutoConfig

    adapter = Path(base) / "adapter_config.json"
    if adapter.is_file():
        base = Path(json.loads(adapter.read_text()).get("base_model_name_or_path") or base)
    try:
        config = AutoConfig.from_pretrained(str(base), local_files_only=True)
    except OSError:
        return None  # loading the model reports what is missing
    config = getattr(config, "text_config", None) or config
    for name in ("final_logit_softcapping", "logit_scale", "logits_scaling"):
        value = getattr(config, name, None)
        if value not in (None, 1, 1.0):
            return f"{base}: the model's forward changes its logits ({name}={value})"
    if ("sliding_attention" in (getattr(config, "layer_types", None) or [])
            or (getattr(config, "sliding_window", None) is not None
                and getattr(config, "use_sliding_window", True))):
        return f"{base}: the model uses sliding-window attention"
    return None


def _use_maskable_attention(model: Any) -> None:
    """Switch the model to SDPA unless it already runs eager or SDPA attention: flash
    and flex kernels read a 4-D mask as a padding mask (or reject it)."""
    if model.config._attn_implementation not in ("eager", "sdpa"):
        logger.info("rpo: switching attention from %s to sdpa (packed rows need a 4-D "
                    "mask)", model.config._attn_implementation)
        model.set_attn_implementation("sdpa")


_ROW_TOKENS = 512
"""Target length of a packed row. Longer rows waste more attention on masked-out
positions (its cost grows with the square of the row); shorter ones leave more padding."""


def _pack(pairs: list[_EncodedPair], row_tokens: int) -> list[list[int]]:
    """Indices of the pairs in each row, first-fit by decreasing length: rows of at most
    ``row_tokens`` tokens, or of the longest pair's length when it is longer (then for
    every row)."""
    cap = max(row_tokens, max(p.tokens for p in pairs))
    rows: list[list[int]] = []
    room: list[int] = []
    for i in sorted(range(len(pairs)), key=lambda i: -pairs[i].tokens):
        row = next((r for r, free in enumerate(room) if pairs[i].tokens <= free), None)
        if row is None:
            rows.append([])
            room.append(cap)
            row = len(rows) - 1
        rows[row].append(i)
        room[row] -= pairs[i].tokens
    return rows


def _pair_logps(model: Any, pairs: list[_EncodedPair], device: Any,
                row_tokens: int = _ROW_TOKENS) -> tuple[Any, Any, Any]:
    """Summed log-probs of each pair's chosen and rejected reply, and the chosen
    replies' lengths, from one forward pass over packed rows.

    Why packed: on the pairs of a held-out benchmark run, right-padding each batch's 16
    prompt+reply sequences to the longest one gave 86k token positions for 57k real
    tokens, and every prompt went through the model twice (39k tokens once each). Here
    each pair is laid out once as ``prompt, chosen, rejected`` with its own position ids
    (both replies start where the prompt ends), several pairs share a row, and a 4-D
    attention mask lets a token see only its own pair's prompt and its own reply,
    causally. Each reply is thus scored as in a forward pass of prompt+reply alone (up
    to floating-point summation order). Only the reply positions go through the LM head.
    """
    import torch

    packing = _pack(pairs, row_tokens)
    width = max(sum(pairs[i].tokens for i in row) for row in packing)
    input_ids = torch.zeros((len(packing), width), dtype=torch.long)
    positions = torch.zeros((len(packing), width), dtype=torch.long)
    allowed = torch.eye(width, dtype=torch.bool).repeat(len(packing), 1, 1)  # pads: self
    token_rows, sources, targets, owners = [], [], [], []
    for r, row in enumerate(packing):
        at = 0
        for i in row:
            pair = pairs[i]
            n_prompt = len(pair.prompt)
            _place(input_ids, positions, allowed, r, at, pair.prompt, 0, [])
            start = at + n_prompt
            for owner, reply in ((i, pair.chosen), (len(pairs) + i, pair.rejected)):
                _place(input_ids, positions, allowed, r, start, reply, n_prompt,
                       [(at, at + n_prompt)])
                # Token k of the reply is predicted at the position before it: the
                # prompt's last token for k = 0, the reply's token k - 1 after.
                sources += [at + n_prompt - 1, *range(start, start + len(reply) - 1)
                            ][:len(reply)]
                targets += reply
                owners += [owner] * len(reply)
                token_rows += [r] * len(reply)
                start += len(reply)
            at = start
    causal_lm = model.get_base_model()
    dtype = causal_lm.get_input_embeddings().weight.dtype
    allowed = allowed.to(device)
    mask = torch.zeros(allowed.shape, dtype=dtype, device=device).masked_fill_(
        ~allowed, torch.finfo(dtype).min)
    hidden = causal_lm.get_decoder()(input_ids=input_ids.to(device),
                                     position_ids=positions.to(device),
                                     attention_mask=mask[:, None], use_cache=False
                                     ).last_hidden_state
    # The head in fp32 whatever the model's dtype: bf16 logits would round away the
    # small log-prob changes a LoRA step makes.
    head = causal_lm.get_output_embeddings()
    logits = torch.nn.functional.linear(
        hidden[torch.tensor(token_rows, device=device),
               torch.tensor(sources, device=device)].float(),
        head.weight.float(), None if head.bias is None else head.bias.float())
    token_logps = torch.log_softmax(logits, dim=-1).gather(
        1, torch.tensor(targets, device=device)[:, None]).squeeze(1)
    owners_t = torch.tensor(owners, device=device)
    sums = torch.zeros(2 * len(pairs), device=device).index_add(0, owners_t, token_logps)
    lengths = torch.tensor([max(1, len(p.chosen)) for p in pairs], dtype=sums.dtype,
                           device=device)
    return sums[:len(pairs)], sums[len(pairs):], lengths


def _place(input_ids: Any, positions: Any, allowed: Any, row: int, at: int, ids: list[int],
           first_position: int, sees: list[tuple[int, int]]) -> None:
    """Write ``ids`` into ``row`` at column ``at``: position ids from ``first_position``,
    causal attention among them, and full view of the column spans ``sees``."""
    import torch

    end = at + len(ids)
    input_ids[row, at:end] = torch.tensor(ids, dtype=torch.long)
    positions[row, at:end] = torch.arange(first_position, first_position + len(ids))
    allowed[row, at:end, at:end] = torch.ones((len(ids), len(ids)), dtype=torch.bool).tril()
    for lo, hi in sees:
        allowed[row, at:end, lo:hi] = True


def _reference_logps(model: Any, encoded: list[_EncodedPair], device: Any,
                     batch_size: int) -> tuple[list[float], list[float]]:
    """Reply log-probs of every pair's chosen and rejected reply (no gradient)."""
    chosen: list[float] = []
    rejected: list[float] = []
    for start in range(0, len(encoded), batch_size):
        c, r, _ = _pair_logps(model, encoded[start:start + batch_size], device)
        chosen.extend(float(x) for x in c)
        rejected.extend(float(x) for x in r)
    return chosen, rejected


def write_pairs(path: Path, pairs: list[dict[str, Any]]) -> None:
    """One JSON line per pair (task, chosen, rejected), to read what was trained on."""
    with path.open("w") as f:
        for p in pairs:
            f.write(json.dumps({"task_id": p.get("task_id"),
                                "chosen": p["chosen"][0]["content"],
                                "rejected": p["rejected"][0]["content"]}) + "\n")
