"""policy_from_spec: the string forms the CLI accepts."""

from __future__ import annotations

import re

import pytest

from sandgym.agents import OpenAIPolicy, PolicySpecError, policy_from_spec


def test_openai_spec_splits_url_and_model() -> None:
    policy = policy_from_spec("openai:http://127.0.0.1:8000/v1#org/model-1", max_concurrency=3)
    assert isinstance(policy, OpenAIPolicy)
    assert (policy.base_url, policy.model, policy.max_concurrency) == (
        "http://127.0.0.1:8000/v1", "org/model-1", 3)
    assert policy.name == "openai:org/model-1"


@pytest.mark.parametrize("spec", ["openai:http://127.0.0.1:8000/v1", "openai:#m",
                                  "openai:http://x/v1#"])
def test_openai_spec_needs_url_and_model(spec: str) -> None:
    with pytest.raises(PolicySpecError, match=re.escape("needs a URL and a model name: "
                                                        "openai:URL#MODEL")):
        policy_from_spec(spec)


def test_openai_spec_with_a_bad_url() -> None:
    with pytest.raises(PolicySpecError, match="base_url must start with http://"):
        policy_from_spec("openai:localhost:8000#m")


def test_canonical_needs_the_env_oracle() -> None:
    with pytest.raises(PolicySpecError, match=re.escape("build_policy('canonical', env=...)")):
        policy_from_spec("canonical")
    policy = policy_from_spec("canonical", oracle=lambda messages: "42")
    assert policy.name == "canonical"
    assert policy.generate([[{"role": "user", "content": "?"}]])[0].text == "42"


def test_unknown_spec_lists_the_accepted_forms(tmp_path) -> None:
    with pytest.raises(PolicySpecError, match=re.escape(
            "policy spec 'gpt-5' is not a known form; use 'default'")):
        policy_from_spec("gpt-5")
    with pytest.raises(PolicySpecError, match="is a directory with no model, adapter/ or model/"):
        policy_from_spec(str(tmp_path))


@pytest.mark.slow
def test_a_model_directory_is_a_local_policy(default_model_dir) -> None:
    policy = policy_from_spec(str(default_model_dir), name="mine", device="cpu")
    assert type(policy).__name__ == "TransformersPolicy" and policy.name == "mine"


@pytest.mark.slow
def test_a_lora_adapter_or_its_run_directory_is_a_policy_with_the_adapter_merged(
        default_model_dir, tmp_path) -> None:
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    def base():
        return AutoModelForCausalLM.from_pretrained(default_model_dir, local_files_only=True)

    tuned = get_peft_model(base(), LoraConfig(r=4, target_modules=["q_proj", "v_proj"],
                                              init_lora_weights=False))  # non-zero update
    run = tmp_path / "run"
    tuned.save_pretrained(run / "adapter")  # as `sandgym train grpo` writes runs/X/adapter
    AutoTokenizer.from_pretrained(default_model_dir).save_pretrained(run / "adapter")
    ids = torch.tensor([[1, 2, 3, 4, 5]])
    with torch.no_grad():
        want, plain = tuned(ids).logits, base()(ids).logits
    for spec in (run, run / "adapter"):
        policy = policy_from_spec(str(spec), device="cpu")
        with torch.no_grad():
            got = policy.model(ids).logits
        merged_error = (got - want).abs().max().item()  # merging reorders float sums
        assert merged_error < 1e-2
        assert (got - plain).abs().max().item() > 10 * max(merged_error, 1e-3)
    assert policy_from_spec(str(run), device="cpu").name == "run"
