"""The accelerator self-check (`sandgym.train.device_check`), run on the CPU on a shrunken
random model with the default model's tokenizer: its checks pass where the code is
right, and fail where decoding records the wrong log-probs."""

from __future__ import annotations

import functools
import json
import shutil

import pytest

from sandgym.train import device_check


@pytest.fixture(scope="module")
def tiny_model(model_path, tmp_path_factory):
    """The default model's tokenizer and config, shrunk to 2 layers of width 64, with
    random weights (seconds to build and run on a CPU)."""
    source = tmp_path_factory.mktemp("source")
    for name in device_check.MODEL_FILES:
        if (model_path / name).is_file():
            shutil.copy(model_path / name, source / name)
    config = json.loads((model_path / "config.json").read_text())
    config.update(num_hidden_layers=2, hidden_size=64, intermediate_size=128,
                  num_attention_heads=4, num_key_value_heads=2, head_dim=16)
    (source / "config.json").write_text(json.dumps(config))
    return device_check.random_model(source, tmp_path_factory.mktemp("model"),
                                     init_range=0.5)


def test_decoding_check_passes_and_catches_shifted_positions(tiny_model, monkeypatch):
    import torch

    record = device_check.check_decoding(tiny_model, "cpu", torch.float32)
    assert device_check.decoding_passed(record), record
    assert record["finish_reasons"] == ["length", "stop"]

    # Decoding that feeds each new token one position too far records log-probs a
    # plain forward pass does not give.
    import sandgym.agents.decoding as decoding

    real = decoding.decode_batch

    def shifted(model, prompts, **kwargs):
        forward = model.forward

        @functools.wraps(forward)  # decode_batch reads the cache argument's name from it
        def forward_shifted(*args, position_ids=None, **kw):
            if position_ids is not None and position_ids.shape[1] == 1:
                position_ids = position_ids + 1
            return forward(*args, position_ids=position_ids, **kw)

        monkeypatch.setattr(model, "forward", forward_shifted)
        try:
            return real(model, prompts, **kwargs)
        finally:
            monkeypatch.setattr(model, "forward", forward)

    monkeypatch.setattr(decoding, "decode_batch", shifted)
    broken = device_check.check_decoding(tiny_model, "cpu", torch.float32)
    assert broken["max_abs_logprob_error"] > device_check.FP32_MAX_LOGPROB_ERROR
    assert not device_check.decoding_passed(broken)


def test_packed_forward_and_rpo_checks_pass(tiny_model, tmp_path):
    import torch

    packed = device_check.check_packed_forward(tiny_model, "cpu", torch.float32)
    assert device_check.packed_forward_passed(packed), packed
    rpo = device_check.check_rpo_steps(tiny_model, tmp_path, steps=2)
    assert device_check.rpo_passed(rpo), rpo
    assert rpo["first_margin"] == pytest.approx(0.0, abs=1e-3)  # fp32: same scores


def test_a_check_that_raises_is_reported_as_failed():
    record: dict = {}
    failed: list[str] = []

    def broken() -> dict:
        raise RuntimeError("no device")

    device_check._run(record, failed, "decoding_fp32", broken, device_check.decoding_passed)
    assert failed == ["decoding_fp32"] and "no device" in record["decoding_fp32"]["error"]
