"""The decoder's growing KV-cache layer holds exactly what ``DynamicLayer`` would.

Model-free: random key/value states go through both layer kinds, in the sequence the
decoder drives them (prefill, one token at a time past several buffer growths, rows
dropped), and every returned view must equal the concatenating layer's tensors.
"""

from __future__ import annotations

import torch
from transformers.cache_utils import DynamicLayer

from sandgym.agents import decoding


def _states(rows: int, tokens: int) -> tuple[torch.Tensor, torch.Tensor]:
    return torch.randn(rows, 3, tokens, 8), torch.randn(rows, 3, tokens, 8)


def test_growing_layer_matches_dynamic_layer_through_growth_and_row_drops() -> None:
    torch.manual_seed(0)
    plain = DynamicLayer()
    grown = decoding._growing(DynamicLayer())
    assert type(grown).__name__ == "GrowingLayer"
    keys, values = _states(5, 11)
    for layer in (plain, grown):
        layer.update(keys, values)
    rows = 5
    for step in range(3 * decoding._GROW_BY):
        if step in (7, 70, 150):  # rows finish: the decoder keeps the others
            keep = torch.arange(rows)[1:]
            for layer in (plain, grown):
                layer.batch_select_indices(keep)
            rows -= 1
        keys, values = _states(rows, 1)
        want = plain.update(keys, values)
        got = grown.update(keys, values)
        assert got[0].shape == want[0].shape
        assert torch.equal(got[0], want[0]) and torch.equal(got[1], want[1])
        assert grown.get_seq_length() == plain.get_seq_length() == 12 + step


def test_growing_layer_keeps_a_cropped_cache_right() -> None:
    plain, grown = DynamicLayer(), decoding._growing(DynamicLayer())
    keys, values = _states(2, 20)
    for layer in (plain, grown):
        layer.update(keys, values)
        layer.crop(-5)
    keys, values = _states(2, 1)
    want, got = plain.update(keys, values), grown.update(keys, values)
    assert torch.equal(got[0], want[0]) and torch.equal(got[1], want[1])


def test_other_layer_kinds_are_left_as_they_are() -> None:
    from transformers.cache_utils import DynamicSlidingWindowLayer

    layer = DynamicSlidingWindowLayer(sliding_window=4)
    assert decoding._growing(layer) is layer
