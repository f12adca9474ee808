"""The whole-conversation token view and its loss mask, with the real tokenizer and model."""

from __future__ import annotations

import pytest

from sandgym.agents import SamplingParams, TransformersPolicy, run_episodes
from sandgym.agents.trajectory import conversation_tokens
from tests.agents.fake_env import CountEnv

pytestmark = pytest.mark.slow

MESSAGES = [
    {"role": "system", "content": "Count."},
    {"role": "user", "content": "Say 1."},
    {"role": "assistant", "content": "1"},
    {"role": "user", "content": "Say 2."},
    {"role": "assistant", "content": "two, I think"},
]


def render(tokenizer, messages) -> str:
    return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)


def encode(tokenizer, text: str) -> list[int]:
    return tokenizer(text, add_special_tokens=False)["input_ids"]


def test_mask_covers_exactly_the_model_tokens(default_policy: TransformersPolicy) -> None:
    tok = default_policy.tokenizer
    eos = tok.convert_tokens_to_ids("<|im_end|>")
    completions = [encode(tok, "1") + [eos], encode(tok, "two, I think") + [eos]]
    ids, mask = conversation_tokens(tok, MESSAGES, completions)
    assert len(ids) == len(mask)
    # The sequence is the chat template's rendering of the whole conversation.
    assert tok.decode(ids) == render(tok, MESSAGES[:4]) + "two, I think<|im_end|>"
    assert ids[:len(encode(tok, render(tok, MESSAGES[:2])))] == \
        encode(tok, render(tok, MESSAGES[:2]))
    assert [t for t, m in zip(ids, mask, strict=True) if m] == completions[0] + completions[1]


def test_end_of_turn_not_written_by_the_model_is_context(default_policy) -> None:
    tok = default_policy.tokenizer
    completions = [encode(tok, "1"), encode(tok, "two, I think")]  # cut by a budget
    ids, mask = conversation_tokens(tok, MESSAGES, completions)
    assert tok.decode(ids) == render(tok, MESSAGES[:4]) + "two, I think"
    masked_out = tok.decode([t for t, m in zip(ids, mask, strict=True) if not m])
    # system, user 1, the template's close of "1" (the model did not write it), user 2
    assert masked_out.count("<|im_end|>") == 4
    assert [t for t, m in zip(ids, mask, strict=True) if m] == completions[0] + completions[1]


def test_no_token_view_without_completion_tokens(default_policy) -> None:
    assert conversation_tokens(default_policy.tokenizer, MESSAGES, [[], []]) is None
    assert conversation_tokens(default_policy.tokenizer, MESSAGES, [[1]]) is None


def test_episodes_carry_token_ids_and_loss_mask(default_policy: TransformersPolicy) -> None:
    envs = [CountEnv(), CountEnv()]
    trajs = run_episodes(envs, default_policy, task_ids=["count-2", "count-2"],
                         sampling=SamplingParams(max_new_tokens=6), max_turns=2)
    for traj in trajs:
        assert traj.num_turns == 2 and len(traj.logprobs) == 2
        assert traj.token_ids is not None and len(traj.token_ids) == len(traj.loss_mask)
        written = [t for t, m in zip(traj.token_ids, traj.loss_mask, strict=True) if m]
        assert written == traj.completion_token_ids[0] + traj.completion_token_ids[1]
        # The first prompt is exactly what the policy conditioned on at turn 0.
        first = traj.prompt_token_ids[0]
        assert traj.token_ids[:len(first)] == first
        # As text, the sequence is turn 1's prompt (re-rendered by the template) + reply.
        tok = default_policy.tokenizer
        assert tok.decode(traj.token_ids) == \
            tok.decode(traj.prompt_token_ids[1]) + tok.decode(traj.completion_token_ids[1])
        assert traj.timings["generation_s"] > 0
