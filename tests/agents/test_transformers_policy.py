"""TransformersPolicy on the real default model: logprobs, batching, stopping, seeds."""

from __future__ import annotations

import re

import pytest
import torch

from sandgym.agents import SamplingParams, TransformersPolicy

pytestmark = pytest.mark.slow

CONVERSATIONS = [
    [{"role": "user", "content": "Write a Python function add(a, b) that returns a + b."}],
    [{"role": "user", "content": "Say hi"}],
    [{"role": "system", "content": "You answer in one short sentence."},
     {"role": "user", "content": "What is the capital of France? Please answer briefly and "
                                 "explain nothing else at all."}],
]


def forward_logprobs(policy: TransformersPolicy, prompt: list[int],
                     completion: list[int]) -> torch.Tensor:
    """log_softmax of one unpadded forward pass, at each completion token."""
    ids = torch.tensor([prompt + completion])
    with torch.inference_mode():
        logits = policy.model(input_ids=ids).logits[0].float()
    logprobs = torch.log_softmax(logits, dim=-1)[len(prompt) - 1:-1]
    return logprobs.gather(1, torch.tensor(completion)[:, None]).squeeze(1)


def test_greedy_logprobs_match_a_forward_pass(default_policy: TransformersPolicy) -> None:
    # Prompts of different lengths in one batch: rows are left-padded.
    gens = default_policy.generate(CONVERSATIONS, SamplingParams(max_new_tokens=24))
    assert len({len(g.prompt_token_ids) for g in gens}) == 3
    for gen in gens:
        assert gen.token_ids and len(gen.logprobs) == len(gen.token_ids)
        expected = forward_logprobs(default_policy, gen.prompt_token_ids, gen.token_ids)
        torch.testing.assert_close(torch.tensor(gen.logprobs), expected, atol=1e-4, rtol=0)
        # Greedy: every chosen token is the argmax, so its logprob is the row maximum.
        assert all(lp <= 0 for lp in gen.logprobs)


def test_sampled_logprobs_are_the_raw_distribution(default_policy: TransformersPolicy) -> None:
    sampling = SamplingParams(temperature=1.5, top_p=0.8, max_new_tokens=16, seed=11)
    for gen in default_policy.generate(CONVERSATIONS[:2], sampling):
        expected = forward_logprobs(default_policy, gen.prompt_token_ids, gen.token_ids)
        # Before temperature and top-p: what a trainer's forward pass recomputes.
        torch.testing.assert_close(torch.tensor(gen.logprobs), expected, atol=1e-4, rtol=0)


def test_batched_greedy_equals_one_by_one(default_policy: TransformersPolicy) -> None:
    sampling = SamplingParams(max_new_tokens=20)
    batched = default_policy.generate(CONVERSATIONS, sampling)
    single = [default_policy.generate([c], sampling)[0] for c in CONVERSATIONS]
    assert [g.token_ids for g in batched] == [g.token_ids for g in single]
    assert [g.text for g in batched] == [g.text for g in single]


def test_prompt_uses_the_chat_template(default_policy: TransformersPolicy) -> None:
    gen = default_policy.generate(CONVERSATIONS[1:2], SamplingParams(max_new_tokens=2))[0]
    prompt = default_policy.tokenizer.decode(gen.prompt_token_ids)
    assert prompt.endswith("<|im_start|>user\nSay hi<|im_end|>\n<|im_start|>assistant\n")


def test_end_of_turn_token_is_kept_in_ids_not_text(default_policy: TransformersPolicy) -> None:
    gen = default_policy.generate(CONVERSATIONS[1:2], SamplingParams(max_new_tokens=200))[0]
    assert gen.finish_reason == "stop"
    eos = default_policy.tokenizer.convert_tokens_to_ids("<|im_end|>")
    assert gen.token_ids[-1] == eos and eos not in gen.token_ids[:-1]
    assert "<|im_end|>" not in gen.text and gen.text.strip()
    assert default_policy.tokenizer.decode(gen.token_ids[:-1]) == gen.text


def test_token_budget_gives_finish_reason_length(default_policy: TransformersPolicy) -> None:
    gen = default_policy.generate(CONVERSATIONS[:1], SamplingParams(max_new_tokens=5))[0]
    assert gen.finish_reason == "length"
    assert len(gen.token_ids) == 5 == len(gen.logprobs)


def test_stop_string_cuts_text_and_tokens(default_policy: TransformersPolicy) -> None:
    # The greedy answer to CONVERSATIONS[0] is a code block containing "def add".
    gen = default_policy.generate(CONVERSATIONS[:1],
                                  SamplingParams(max_new_tokens=64, stop=["def"]))[0]
    assert gen.finish_reason == "stop" and "def" not in gen.text
    decoded = default_policy.tokenizer.decode(gen.token_ids)
    assert "def" in decoded and decoded.startswith(gen.text)
    assert "def" not in default_policy.tokenizer.decode(gen.token_ids[:-1])
    assert len(gen.logprobs) == len(gen.token_ids)


def test_seed_makes_sampling_reproducible(default_policy: TransformersPolicy) -> None:
    sampling = SamplingParams(temperature=1.0, max_new_tokens=12, seed=1234)
    first = default_policy.generate(CONVERSATIONS, sampling)
    torch.manual_seed(0)
    state = torch.get_rng_state()
    second = default_policy.generate(CONVERSATIONS, sampling)
    assert [g.token_ids for g in first] == [g.token_ids for g in second]
    assert torch.equal(state, torch.get_rng_state())  # the global RNG is left alone


def test_micro_batches_give_the_same_answers(default_policy: TransformersPolicy) -> None:
    small = TransformersPolicy(default_policy.model, default_policy.tokenizer, batch_size=2)
    sampling = SamplingParams(max_new_tokens=8)
    assert [g.token_ids for g in small.generate(CONVERSATIONS, sampling)] == \
        [g.token_ids for g in default_policy.generate(CONVERSATIONS, sampling)]
    assert small.generate([], sampling) == []


def test_not_a_model_directory_says_what_to_give(tmp_path) -> None:
    with pytest.raises(FileNotFoundError,
                       match=re.escape(f"{tmp_path} is not a model directory (no config.json)")):
        TransformersPolicy(tmp_path)
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        TransformersPolicy(tmp_path, batch_size=0)


@pytest.mark.parametrize("grow_by", [64, 3])
def test_greedy_equals_transformers_generate(default_policy: TransformersPolicy,
                                             monkeypatch: pytest.MonkeyPatch,
                                             grow_by: int) -> None:
    """The row-dropping decoder picks exactly the tokens ``model.generate`` picks; with
    room for 3 tokens its KV-cache buffers grow several times on the way."""
    from sandgym.agents import decoding

    monkeypatch.setattr(decoding, "_GROW_BY", grow_by)
    gens = default_policy.generate(CONVERSATIONS, SamplingParams(max_new_tokens=20))
    for conversation, gen in zip(CONVERSATIONS, gens, strict=True):
        ids = torch.tensor([default_policy.encode_prompt(conversation)])
        with torch.inference_mode():
            out = default_policy.model.generate(
                input_ids=ids, attention_mask=torch.ones_like(ids), max_new_tokens=20,
                do_sample=False, eos_token_id=default_policy._eos_ids,
                pad_token_id=default_policy.tokenizer.pad_token_id)
        assert out[0, ids.shape[1]:].tolist() == gen.token_ids


def test_stop_after_code_block_ends_each_row_there(default_policy: TransformersPolicy) -> None:
    ask = [{"role": "user", "content": "Write a Python function add(a, b) that returns a + b. "
                                       "Answer with one ```python code block."}]
    sampling = SamplingParams(max_new_tokens=120, stop_after_code_block=True)
    # The same prompt twice (one prefill, shared) beside a prompt that ends sooner.
    batch = default_policy.generate([ask, CONVERSATIONS[1], ask], sampling)
    alone = default_policy.generate([ask], sampling)[0]
    assert batch[0].token_ids == batch[2].token_ids == alone.token_ids
    assert alone.finish_reason == "stop" and alone.text.endswith("```")
    assert alone.text.count("```") == 2 and "def add" in alone.text
    # The tokens are the fewest that complete the block: one fewer does not.
    tokenizer = default_policy.tokenizer
    assert tokenizer.decode(alone.token_ids, skip_special_tokens=True).endswith("```")
    shorter = tokenizer.decode(alone.token_ids[:-1], skip_special_tokens=True)
    assert shorter.count("```") < 2
    free = default_policy.generate([ask], SamplingParams(max_new_tokens=120))[0]
    assert len(free.token_ids) > len(alone.token_ids)  # prose after the block was cut


def test_identical_prompts_sample_independently(default_policy: TransformersPolicy) -> None:
    """k samples of one prompt share its prefill but not their draws."""
    sampling = SamplingParams(temperature=1.0, max_new_tokens=16, seed=5)
    gens = default_policy.generate([CONVERSATIONS[1]] * 4, sampling)
    assert len({tuple(g.token_ids) for g in gens}) > 1
    for gen in gens:
        expected = forward_logprobs(default_policy, gen.prompt_token_ids, gen.token_ids)
        torch.testing.assert_close(torch.tensor(gen.logprobs), expected, atol=1e-4, rtol=0)
