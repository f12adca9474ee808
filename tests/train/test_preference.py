"""Preference pairs from execution feedback (`dpo_pairs(passed_over_failed=True)`) and the
RPO step (`sandgym.train.preference`): the pairing, then real steps on the default model."""

from __future__ import annotations

import pytest

from sandgym.agents.trajectory import Trajectory
from sandgym.train.export import dpo_pairs
from sandgym.train.preference import PreferenceSettings, _batches, train_preference

PROMPT = [{"role": "system", "content": "Answer with one python code block."},
          {"role": "user", "content": "Write add(a, b) returning a + b."}]


def _episode(task: str, reply: str, reward: float, status: str,
             sandbox_error: bool = False) -> Trajectory:
    return Trajectory(episode_id=f"{task}-{reply}", env_id="e", task_id=task,
                      messages=[*PROMPT, {"role": "assistant", "content": reply}],
                      rewards=[reward], verdicts=[{"status": status}], final_reward=reward,
                      sandbox_error=sandbox_error, num_turns=1)


def test_rpo_pairs_put_a_passed_reply_over_a_failed_one_never_partial_credit():
    episodes = [_episode("a", "right", 1.0, "pass"),
                _episode("a", "half right", 0.5, "fail"),   # partial credit, still failed
                _episode("a", "wrong", 0.0, "fail"),
                _episode("a", "crashed sandbox", 0.0, "error", sandbox_error=True),
                _episode("b", "half", 0.5, "fail"), _episode("b", "none", 0.0, "fail")]
    pairs = dpo_pairs(episodes, max_pairs_per_task=4, passed_over_failed=True)
    assert [(p["task_id"], p["chosen"][0]["content"], p["rejected"][0]["content"])
            for p in pairs] == [("a", "right", "wrong"), ("a", "right", "half right")]
    assert all(p["prompt"] == PROMPT for p in pairs)
    # Ranked by reward alone, a half-right failure would be a reply to imitate.
    plain = dpo_pairs(episodes, max_pairs_per_task=4)
    assert ("b", "half") in {(p["task_id"], p["chosen"][0]["content"]) for p in plain}


@pytest.mark.parametrize(("n", "batch_size", "epochs", "steps"), [
    (5, 8, 2, 2), (20, 8, 1, 3), (9, 8, 1, 2), (5, 2, 1.5, 5), (1, 8, 0.1, 1)])
def test_batches_cover_every_pair_once_an_epoch_and_never_twice_in_a_batch(
        n, batch_size, epochs, steps):
    batches = _batches(n, batch_size, epochs, seed=1)
    assert len(batches) == steps
    assert all(len(set(b)) == len(b) <= batch_size for b in batches)
    per_epoch = -(-n // batch_size)
    for start in range(0, len(batches) - per_epoch + 1, per_epoch):
        assert sorted(i for b in batches[start:start + per_epoch] for i in b) == list(range(n))


def _add_pairs(wrong_body: str = "return a - b") -> list[dict]:
    return [{"task_id": "add", "prompt": PROMPT,
             "chosen": [{"role": "assistant",
                         "content": "```python\ndef add(a, b):\n    return a + b\n```"}],
             "rejected": [{"role": "assistant",
                           "content": f"```python\ndef add(a, b):\n    {wrong_body}\n```"}]}]


def test_reply_log_probs_match_a_plain_forward_pass(model_path):
    """The packed, prompt-shared forward (`_pair_logps`: several pairs in a row, both
    replies after one copy of the prompt, a 4-D mask) against the model's own forward
    pass on each prompt+reply alone."""
    import torch
    from peft import LoraConfig, get_peft_model

    from sandgym.agents import load_model
    from sandgym.train.preference import _encode, _pack, _pair_logps

    model, tokenizer = load_model(model_path)
    model = get_peft_model(model, LoraConfig(r=4, target_modules="all-linear",
                                             task_type="CAUSAL_LM", init_lora_weights=False))
    model.eval()
    pairs = (_add_pairs() + _add_pairs("total = a\n    for _ in range(b):\n        "
                                       "total += 1\n    return total")
             + _add_pairs("return b"))
    encoded = [_encode(tokenizer, pair) for pair in pairs]
    assert len({e.tokens for e in encoded}) > 1  # rows really are padded
    assert len(_pack(encoded, row_tokens=1)) == 3  # a pair a row
    assert len(_pack(encoded, row_tokens=2 * max(e.tokens for e in encoded))) == 2
    for row_tokens in (1, 2 * max(e.tokens for e in encoded)):  # a pair a row; shared rows
        with torch.no_grad():
            chosen, rejected, lengths = _pair_logps(model, encoded, torch.device("cpu"),
                                                    row_tokens)
        for i, e in enumerate(encoded):
            for got, reply in ((chosen[i], e.chosen), (rejected[i], e.rejected)):
                ids = e.prompt + reply
                with torch.no_grad():
                    logits = model(input_ids=torch.tensor([ids])).logits[0].float()
                logps = torch.log_softmax(logits[:-1], dim=-1).gather(
                    1, torch.tensor(ids[1:])[:, None]).squeeze(1)
                assert got.item() == pytest.approx(logps[len(e.prompt) - 1:].sum().item(),
                                                   rel=1e-4)
            assert lengths[i].item() == len(e.chosen)


def test_the_first_step_starts_at_the_reference_for_every_pair_of_a_shuffled_batch(
        model_path, tmp_path):
    """Reference and policy log-probs are matched pair by pair: with a fresh adapter
    (LoRA B = 0) every pair's margin is 0 in the first step, whatever order the
    shuffled batches and the packed rows put the pairs in."""
    pairs = (_add_pairs() + _add_pairs("return b") + _add_pairs("return a * b")
             + _add_pairs("total = a\n    for _ in range(b):\n        total += 1\n"
                          "    return total"))
    rows: list[dict] = []
    train_preference(model_path, pairs, tmp_path / "adapter",
                     PreferenceSettings(epochs=1, batch_size=3), log=rows.append)
    assert len(rows) == 2  # batches of 3 and 1
    assert rows[0]["margin"] == pytest.approx(0.0, abs=1e-3)
    assert rows[0]["margin_max_abs"] == pytest.approx(0.0, abs=1e-3)


@pytest.mark.parametrize(("config", "problem"), [
    ({"model_type": "llama"}, None),
    ({"model_type": "mistral", "sliding_window": 4096}, "sliding-window"),
    ({"model_type": "qwen2", "sliding_window": 4096, "use_sliding_window": False}, None),
    ({"model_type": "gemma2"}, "changes its logits"),  # final_logit_softcapping 30
])
def test_models_the_packed_forward_would_score_wrongly_are_named(tmp_path, config, problem):
    import json

    from sandgym.train.preference import unsupported_model

    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text(json.dumps(config))
    adapter = tmp_path / "adapter"  # judged by its base model
    adapter.mkdir()
    (adapter / "adapter_config.json").write_text(
        json.dumps({"base_model_name_or_path": str(model)}))
    for path in (model, adapter):
        found = unsupported_model(path)
        assert (found is None) if problem is None else (problem in found)


def test_no_pairs_is_refused_before_loading_a_model(tmp_path):
    with pytest.raises(ValueError, match="no preference pairs"):
        train_preference(tmp_path / "nowhere", [], tmp_path / "adapter", PreferenceSettings())


def test_rpo_steps_raise_the_passed_reply_over_the_failed_one(model_path, tmp_path):
    """A few real steps on one pair: the adapter starts at the reference (margin 0), the
    DPO margin then grows, and the saved adapter loads as a policy."""
    from sandgym.agents import TransformersPolicy

    pairs = _add_pairs()
    rows: list[dict] = []
    losses = train_preference(model_path, pairs, tmp_path / "adapter",
                              PreferenceSettings(learning_rate=1e-3, epochs=4, batch_size=1),
                              log=rows.append)
    assert len(losses) == len(rows) == 4
    assert rows[0]["margin"] == pytest.approx(0.0, abs=1e-3)  # LoRA B starts at zero
    assert rows[-1]["margin"] > rows[0]["margin"] + 1.0
    assert rows[-1]["dpo"] < rows[0]["dpo"]
    assert (tmp_path / "adapter" / "adapter_config.json").exists()
    policy = TransformersPolicy(tmp_path / "adapter", name="rpo")
    policy.close()

    # Resumed, the adapter starts where it stopped, measured against the base model: the
    # first margin is already positive (with the adapter as its own reference it is 0).
    resumed: list[dict] = []
    train_preference(model_path, pairs, tmp_path / "again",
                     PreferenceSettings(learning_rate=1e-3, epochs=1, batch_size=1),
                     resume=tmp_path / "adapter", log=resumed.append)
    assert resumed[0]["margin"] > 1.0
