"""The decoder's growing KV-cache layer holds exactly what ``DynamicLayer`` would.

Model-free: random key/value states go through both layer kinds, in the sequence the
decoder drives them (prefill, one token at a time past several buffer growths, rows
dropped), and every returned view must equal the concatenating layer's tensors, now and
after later steps wrote into the same buffer.
"""

from __future__ import annotations

import pytest
import torch
from transformers.cache_utils import DynamicLayer

from sandgym.agents import decoding


def _states(rows: int, tokens: int) -> tuple[torch.Tensor, torch.Tensor]:
    return torch.randn(rows, 3, tokens, 8), torch.randn(rows, 3, tokens, 8)


def _pair(rows: int = 5, tokens: int = 11) -> tuple[DynamicLayer, DynamicLayer]:
    plain, grown = DynamicLayer(), decoding._growing(DynamicLayer())
    assert type(grown).__name__ == "GrowingLayer"
    keys, values = _states(rows, tokens)
    for layer in (plain, grown):
        layer.update(keys, values)
    return plain, grown


def _step_both(plain: DynamicLayer, grown: DynamicLayer, rows: int) -> None:
    keys, values = _states(rows, 1)
    want, got = plain.update(keys, values), grown.update(keys, values)
    assert got[0].shape == want[0].shape
    assert torch.equal(got[0], want[0]) and torch.equal(got[1], want[1])


@torch.inference_mode()
def test_growing_layer_matches_dynamic_layer_through_growth_and_row_drops() -> None:
    torch.manual_seed(0)
    plain, grown = _pair()
    rows = 5
    handed_out: list[tuple[torch.Tensor, torch.Tensor]] = []
    for step in range(3 * decoding._GROW_BY):
        if step in (7, 70, 150):  # rows finish: the decoder keeps the others
            keep = torch.arange(rows)[1:]
            for layer in (plain, grown):
                layer.batch_select_indices(keep)
            rows -= 1
        _step_both(plain, grown, rows)
        assert grown.get_seq_length() == plain.get_seq_length() == 12 + step
        if step % 20 == 0:
            handed_out.append((grown.keys, grown.keys.clone()))
    # What attention was handed at a step is never overwritten by a later step.
    assert all(torch.equal(view, copy) for view, copy in handed_out)


@torch.inference_mode()
def test_replaced_keys_are_copied_not_written_over() -> None:
    """crop, reorder_cache and offload replace ``keys``: the next update starts from
    them, not from the stale buffer."""
    torch.manual_seed(1)
    for change in ("crop", "reorder", "offload"):
        plain, grown = _pair(rows=3, tokens=20)
        for layer in (plain, grown):
            if change == "crop":
                layer.crop(-5)
            elif change == "reorder":
                layer.reorder_cache(torch.tensor([2, 0, 1]))
            else:
                layer.offload()
                layer.prefetch()
        _step_both(plain, grown, 3)
        _step_both(plain, grown, 3)


def test_with_gradients_on_it_concatenates_so_backward_works() -> None:
    grown = decoding._growing(DynamicLayer())
    keys, values = (t.requires_grad_() for t in _states(2, 4))
    first = grown.update(keys, values)[0]
    loss = (first * first).sum()
    grown.update(*_states(2, 1))  # would overwrite a tensor autograd saved, in place
    loss.backward()
    assert keys.grad is not None


def test_other_layer_kinds_are_left_as_they_are() -> None:
    from transformers.cache_utils import DynamicSlidingWindowLayer

    layer = DynamicSlidingWindowLayer(sliding_window=4)
    assert decoding._growing(layer) is layer


@pytest.mark.parametrize("grow_by", [2])
def test_grow_by_is_read_when_a_buffer_grows(monkeypatch, grow_by) -> None:
    monkeypatch.setattr(decoding, "_GROW_BY", grow_by)
    with torch.inference_mode():
        plain, grown = _pair(rows=2, tokens=3)
        for _ in range(7):
            _step_both(plain, grown, 2)
        assert grown._key_buffer.shape[-2] <= plain.keys.shape[-2] + grow_by
