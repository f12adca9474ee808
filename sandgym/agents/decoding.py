"""`decode_batch`: batched sampling that stops paying for a row once the row is done.

``model.generate`` keeps every row of a batch in every forward pass until the longest
row ends. On a CPU, where a forward pass costs in proportion to its rows, a batch of
replies whose lengths vary (a 40-token answer beside a 190-token ramble) then costs
as if every row were the longest. This loop drops finished rows from the KV cache
(``DynamicCache.batch_select_indices``) so each step costs what the *running* rows
cost, and it prefills each distinct prompt once: k samples of one prompt share its
prefill (the cache rows are copied, not recomputed).

The cache grows in place (``GrowingLayer``): ``DynamicCache`` concatenates every layer's
keys and values with each new token, which copies the whole cache every step (``cat``
was a fifth of a CPU decoding step at a batch of 32 in a profile; whole generate calls
got 5-10% faster without it). Here each layer writes the new token into spare room of a
buffer and hands attention a view of the filled part.

Decoding is the plain kind ``generate`` does with ``do_sample``: temperature, then
nucleus (top-p) filtering, then one multinomial draw; greedy is the argmax. The
log-probability recorded for each chosen token is the model's raw one (log-softmax
of the unscaled logits), as `TransformersPolicy` documents.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

__all__ = ["DecodedRow", "decode_batch"]

_GROW_BY = 64
"""Tokens of room a layer's buffer gains when it is full (and keeps after a copy)."""


@dataclass
class DecodedRow:
    """One row's generated tokens, their raw log-probabilities and why it ended."""

    token_ids: list[int]
    logprobs: list[float]
    finish_reason: str
    """``"stop"`` (an end-of-turn token, or ``stop_row`` said so) or ``"length"``."""


def decode_batch(model: Any, prompts: Sequence[Sequence[int]], *, max_new_tokens: int,
                 eos_ids: Sequence[int], pad_id: int, temperature: float = 0.0,
                 top_p: float = 1.0,
                 stop_row: Callable[[list[int]], bool] | None = None) -> list[DecodedRow]:
    """Generate a reply for each prompt; a row leaves the batch as soon as it ends.

    Args:
        model: a Hugging Face causal LM (decoder-only, with a KV cache).
        prompts: token ids of each prompt (identical prompts are prefilled once).
        max_new_tokens: most tokens per row.
        eos_ids: tokens that end a row (kept as its last token).
        pad_id: the id left padding uses (never attended to).
        temperature: 0 is greedy; otherwise the softmax temperature.
        top_p: nucleus mass in (0, 1] (ignored when greedy).
        stop_row: called with a row's tokens after each new token; True ends the row
            (e.g. its reply holds a complete code block).

    Returns:
        One `DecodedRow` per prompt, in order. Uses torch's global RNG (the caller seeds
        or forks it).
    """
    import torch
    from transformers import DynamicCache

    device = model.get_input_embeddings().weight.device
    distinct: dict[tuple[int, ...], int] = {}
    for prompt in prompts:
        distinct.setdefault(tuple(prompt), len(distinct))
    unique = list(distinct)
    rows_of = torch.tensor([distinct[tuple(p)] for p in prompts], device=device)
    width = max(len(p) for p in unique)
    input_ids = torch.tensor([[pad_id] * (width - len(p)) + list(p) for p in unique],
                             device=device)
    attention = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in unique],
                             device=device)
    positions = (attention.cumsum(-1) - 1).clamp(min=0)
    cache = DynamicCache(config=model.config)
    cache.layers = [_growing(layer) for layer in cache.layers]
    # transformers renamed ``past_key_values`` to ``cache`` (5.x); pass what forward takes.
    cache_arg = ("cache" if "cache" in inspect.signature(model.forward).parameters
                 else "past_key_values")
    with torch.inference_mode():
        out = model(input_ids=input_ids, attention_mask=attention, position_ids=positions,
                    use_cache=True, logits_to_keep=1, **{cache_arg: cache})
        if len(unique) != len(prompts) or rows_of.tolist() != list(range(len(prompts))):
            cache.batch_select_indices(rows_of)
        logits = out.logits[:, -1, :][rows_of]
        attention = attention[rows_of]
        next_position = positions[rows_of, -1] + 1
        active = torch.arange(len(prompts), device=device)
        tokens: list[list[int]] = [[] for _ in prompts]
        logprobs: list[list[float]] = [[] for _ in prompts]
        finish: list[str] = ["length"] * len(prompts)
        eos = set(int(e) for e in eos_ids)
        for _ in range(max_new_tokens):
            chosen, chosen_logprob = _choose(logits, temperature, top_p)
            keep: list[int] = []
            for i, (row, token, logprob) in enumerate(zip(active.tolist(), chosen.tolist(),
                                                          chosen_logprob.tolist(),
                                                          strict=True)):
                tokens[row].append(token)
                logprobs[row].append(logprob)
                if token in eos or (stop_row is not None and stop_row(tokens[row])):
                    finish[row] = "stop"
                elif len(tokens[row]) < max_new_tokens:
                    keep.append(i)
            if not keep:
                break
            if len(keep) < len(active):
                kept = torch.tensor(keep, device=device)
                cache.batch_select_indices(kept)
                active, chosen = active[kept], chosen[kept]
                attention, next_position = attention[kept], next_position[kept]
            attention = torch.cat([attention, attention.new_ones((len(active), 1))], dim=1)
            out = model(input_ids=chosen[:, None], attention_mask=attention,
                        position_ids=next_position[:, None], use_cache=True,
                        **{cache_arg: cache})
            logits = out.logits[:, -1, :]
            next_position = next_position + 1
    return [DecodedRow(t, lp, f) for t, lp, f in zip(tokens, logprobs, finish, strict=True)]


def _choose(logits: torch.Tensor, temperature: float,
            top_p: float) -> tuple[torch.Tensor, torch.Tensor]:
    """The next token of each row and its raw log-probability."""
    import torch

    logits = logits.float()
    raw = torch.log_softmax(logits, dim=-1)
    if temperature <= 0:
        chosen = logits.argmax(dim=-1)
    else:
        scaled = logits / temperature
        if top_p < 1.0:
            ordered, order = torch.sort(scaled, descending=True, dim=-1)
            mass = torch.softmax(ordered, dim=-1).cumsum(dim=-1)
            drop = mass - torch.softmax(ordered, dim=-1) >= top_p  # keep the first over p
            ordered = ordered.masked_fill(drop, float("-inf"))
            scaled = torch.full_like(scaled, float("-inf")).scatter(1, order, ordered)
        chosen = torch.multinomial(torch.softmax(scaled, dim=-1), 1).squeeze(1)
    return chosen, raw.gather(1, chosen[:, None]).squeeze(1)


def _growing(layer: Any) -> Any:
    """``layer`` as a ``GrowingLayer`` when it is a plain full-attention ``DynamicLayer``
    (a sliding-window or quantized layer keeps its own kind)."""
    from transformers.cache_utils import DynamicLayer

    if type(layer) is not DynamicLayer:
        return layer
    grown = _growing_layer_class()()
    grown.__dict__.update(layer.__dict__)
    return grown


@functools.cache
def _growing_layer_class() -> type:
    """The `GrowingLayer` class (built on first use: importing this module needs no torch)."""
    from transformers.cache_utils import DynamicLayer

    class GrowingLayer(DynamicLayer):
        """A ``DynamicLayer`` whose keys and values are views of buffers with spare room.

        ``update`` writes the new states into the room (no copy of what is cached) and
        grows a buffer by `_GROW_BY` tokens only when it is full. Everything else reads
        ``keys``/``values`` as a ``DynamicLayer``'s: their shape is the filled part.
        Whatever replaces ``keys``/``values`` (``crop``, ``reorder_cache``, ``offload``)
        makes the next update copy them into a new buffer. Writing in place would
        corrupt tensors autograd saved, so with gradients on it concatenates as its
        parent does.
        """

        _key_buffer: Any = None
        _value_buffer: Any = None
        _keys_view: Any = None  # the keys this layer last handed out (a buffer view)

        def update(self, key_states: torch.Tensor, value_states: torch.Tensor, *args: Any,
                   **kwargs: Any) -> tuple[torch.Tensor, torch.Tensor]:
            import torch

            if torch.is_grad_enabled():
                self._drop_buffers()
                return super().update(key_states, value_states, *args, **kwargs)
            if not self.is_initialized:
                self.lazy_initialization(key_states, value_states)
            filled = self.get_seq_length()
            needed = filled + key_states.shape[-2]
            if (self._key_buffer is None or self.keys is not self._keys_view
                    or needed > self._key_buffer.shape[-2]):
                self._key_buffer = _with_room(self.keys, key_states, needed)
                self._value_buffer = _with_room(self.values, value_states, needed)
            self._key_buffer[..., filled:needed, :] = key_states
            self._value_buffer[..., filled:needed, :] = value_states
            self._set_views(needed)
            return self.keys, self.values

        def batch_select_indices(self, indices: torch.Tensor) -> None:
            if self._key_buffer is None or self.keys is not self._keys_view:
                self._drop_buffers()
                super().batch_select_indices(indices)
            elif self.get_seq_length() > 0:
                filled = self.get_seq_length()
                self._key_buffer = self._key_buffer[indices, ...]
                self._value_buffer = self._value_buffer[indices, ...]
                self._set_views(filled)

        def offload(self) -> None:
            self._drop_buffers()  # else the device buffers outlive the offloaded copy
            super().offload()

        def reset(self) -> None:
            super().reset()
            self._drop_buffers()

        def _set_views(self, filled: int) -> None:
            self.keys = self._keys_view = self._key_buffer[..., :filled, :]
            self.values = self._value_buffer[..., :filled, :]

        def _drop_buffers(self) -> None:
            self._key_buffer = self._value_buffer = self._keys_view = None

    return GrowingLayer


def _with_room(cached: torch.Tensor, new: torch.Tensor, needed: int) -> torch.Tensor:
    """A buffer of ``needed + _GROW_BY`` tokens holding ``cached`` at its start."""
    import torch

    shape = list(new.shape)
    shape[-2] = needed + _GROW_BY
    buffer = torch.empty(shape, dtype=new.dtype, device=new.device)
    if cached.numel():
        buffer[..., :cached.shape[-2], :] = cached
    return buffer

