"""The accelerator self-check (`sandgym.train.device_check`), run on the CPU on a shrunken
random model with the default model's tokenizer: its checks pass where the code is
right, and fail where decoding, the packed forward or the RPO step is broken (each
broken by a monkeypatch here, so that the check is shown able to fail)."""

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


def _decode_with_shift(monkeypatch: pytest.MonkeyPatch, model_dir, shift: int
                       ) -> tuple[dict, int]:
    """The decoding check with every single-token step fed ``shift`` positions too far
    (0: unchanged), and how many steps went through the wrapper."""
    import torch

    import sandgym.agents.decoding as decoding

    real = decoding.decode_batch
    steps = 0

    def decode_shifted(model, prompts, **kwargs):
        forward = model.forward

        @functools.wraps(forward)  # decode_batch reads the cache argument's name from it
        def forward_shifted(*args, position_ids=None, **kw):
            nonlocal steps
            if position_ids is not None and position_ids.shape[1] == 1:
                steps += 1
                position_ids = position_ids + shift
            return forward(*args, position_ids=position_ids, **kw)

        with monkeypatch.context() as patch:
            patch.setattr(model, "forward", forward_shifted)
            return real(model, prompts, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(decoding, "decode_batch", decode_shifted)
        record = device_check.check_decoding(model_dir, "cpu", torch.float32)
    return record, steps


def test_decoding_check_passes_and_catches_shifted_positions(tiny_model, monkeypatch):
    # The wrapper itself changes nothing: the cache is still passed and used.
    record, steps = _decode_with_shift(monkeypatch, tiny_model, 0)
    assert steps > 0 and device_check.decoding_passed(record), record
    assert record["finish_reasons"] == ["length", "stop"]
    broken, steps = _decode_with_shift(monkeypatch, tiny_model, 1)
    assert steps > 0
    assert broken["max_abs_logprob_error"] > device_check.FP32_MAX_LOGPROB_ERROR
    assert not device_check.decoding_passed(broken)


def test_packed_forward_check_passes_and_catches_misplaced_replies(tiny_model,
                                                                  monkeypatch):
    import torch

    import sandgym.train.preference as preference

    packed = device_check.check_packed_forward(tiny_model, "cpu", torch.float32)
    assert device_check.packed_forward_passed(packed), packed
    place = preference._place

    def replies_three_positions_on(input_ids, positions, allowed, row, at, ids,
                                   first_position, sees):
        shift = 3 if sees else 0  # replies see their prompt; prompts see nothing else
        place(input_ids, positions, allowed, row, at, ids, first_position + shift, sees)

    monkeypatch.setattr(preference, "_place", replies_three_positions_on)
    broken = device_check.check_packed_forward(tiny_model, "cpu", torch.float32)
    assert not device_check.packed_forward_passed(broken), broken


def test_rpo_check_passes_and_fails_when_no_step_is_taken(tiny_model, tmp_path,
                                                         monkeypatch):
    import torch

    rpo = device_check.check_rpo_steps(tiny_model, tmp_path / "a", steps=2)
    assert device_check.rpo_passed(rpo), rpo
    if rpo["dtype"] == "torch.float32":  # bf16 (on CUDA) rounds reference and policy apart
        assert rpo["first_margin"] == pytest.approx(0.0, abs=1e-3)
    monkeypatch.setattr(torch.optim.AdamW, "step", lambda self, closure=None: None)
    frozen = device_check.check_rpo_steps(tiny_model, tmp_path / "b", steps=2)
    assert not device_check.rpo_passed(frozen), frozen


def test_a_check_that_raises_is_reported_as_failed():
    record: dict = {}
    failed: list[str] = []

    def broken() -> dict:
        raise RuntimeError("no device")

    device_check._run(record, failed, "decoding_fp32", broken, device_check.decoding_passed)
    assert failed == ["decoding_fp32"] and "no device" in record["decoding_fp32"]["error"]
