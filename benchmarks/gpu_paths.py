"""The accelerator code paths of generation and preference training, checked and timed.

`benchmarks/learning.py` needs a Docker engine (every reply is graded in a sandbox) and
the default model's weights. A lent GPU machine may have neither (here: no engine, no
network, and 64 MiB of files travel to it, the weights being 538 MB). What a GPU changes
is in our own code: `load_model` picks bf16 on CUDA, `decode_batch` keeps its KV cache
and masks on the device, and the packed RPO forward (`_pair_logps`) builds a 4-D mask
there and runs the LM head in fp32. So this runs those paths on the *architecture* of a
model (its ``config.json`` and tokenizer; random weights, seeded), no sandbox needed:

1. **decoding**: the log-probability `decode_batch` records for each generated token
   (batched, left-padded, KV-cached, rows leaving as they finish) against the model's own
   forward pass over each prompt+reply alone; and seeded sampling repeats;
2. **packed RPO forward**: each reply's summed log-prob from `_pair_logps` against the
   plain forward pass, with a non-zero LoRA, in fp32 and in bf16;
3. **RPO steps** (`train_preference`): finite losses, the saved adapter loads;
4. **timings**: decoded tokens per second at a batch of 192, seconds per RPO step of 8
   pairs.

Prints one JSON line (checks with their largest error, timings); exits 1 if a check
fails. Run it on CPU too (``--device cpu``): the same checks hold.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

MODEL_FILES = ("config.json", "generation_config.json", "tokenizer.json",
               "tokenizer_config.json", "chat_template.jinja", "special_tokens_map.json")
"""What travels of a model: everything but its weights."""

INIT_RANGE = 0.1
"""Standard deviation of the random weights (see `random_model`)."""

PROMPTS = ["Write add(a, b) returning a + b.", "Reverse a string s.",
           "Return the largest of three numbers.", "Count the vowels in a word.",
           "Is n a prime number?", "Sum the squares of a list."]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options (every one has a default)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=None,
                        help="A directory with the model's config.json and tokenizer "
                        "(weights are not read); default: the default model's.")
    parser.add_argument("--device", default=None,
                        help="cuda, cuda:1, cpu...; default cuda when there is one.")
    parser.add_argument("--decode-batch", type=int, default=192,
                        help="Rows of the timed decoding batch.")
    parser.add_argument("--new-tokens", type=int, default=128,
                        help="Most new tokens per row when timing decoding.")
    parser.add_argument("--rpo-steps", type=int, default=4,
                        help="Timed RPO steps (8 pairs each).")
    return parser.parse_args(argv)


def random_model(source: Path, out: Path, dtype: Any) -> Path:
    """A model directory with ``source``'s config and tokenizer and seeded random weights."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    out.mkdir(parents=True, exist_ok=True)
    for name in MODEL_FILES:
        if (source / name).is_file():
            shutil.copy(source / name, out / name)
    config = AutoConfig.from_pretrained(str(source), local_files_only=True)
    # Wider than the usual 0.02: near-uniform next-token distributions would hide a wrong
    # position or mask inside tiny log-prob differences.
    config.initializer_range = INIT_RANGE
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(config, dtype=dtype)
    model.save_pretrained(str(out))
    return out


def _conversation(text: str) -> list[dict[str, str]]:
    return [{"role": "system", "content": "Answer with one python code block."},
            {"role": "user", "content": text}]


def check_decoding(model_dir: Path, device: str, dtype: Any) -> dict[str, Any]:
    """Recorded log-probs of a batched greedy and a sampled decode vs a plain forward."""
    import torch

    from sandgym.agents import SamplingParams, TransformersPolicy

    policy = TransformersPolicy(model_dir, device=device, dtype=dtype)
    conversations = [_conversation(p) for p in PROMPTS]
    worst = 0.0
    lengths = []
    # A stop string that random text meets at random places: rows leave the batch at
    # different steps (random weights never pick the end-of-turn token).
    for sampling in (SamplingParams(max_new_tokens=24, stop=("e",)),
                     SamplingParams(temperature=0.9, max_new_tokens=24, seed=3, stop=("e",))):
        for gen in policy.generate(conversations, sampling):
            ids = list(gen.prompt_token_ids) + list(gen.token_ids)
            with torch.no_grad():
                logits = policy.model(input_ids=torch.tensor([ids], device=policy.device)
                                      ).logits[0].float()
            logps = torch.log_softmax(logits[:-1], dim=-1).gather(
                1, torch.tensor(ids[1:], device=policy.device)[:, None]).squeeze(1)
            plain = logps[len(gen.prompt_token_ids) - 1:].cpu()
            worst = max(worst, (plain - torch.tensor(gen.logprobs)).abs().max().item())
            lengths.append(len(gen.token_ids))
    sampled = SamplingParams(temperature=0.9, max_new_tokens=24, seed=5)
    again = [g.text for g in policy.generate(conversations, sampled)] == \
        [g.text for g in policy.generate(conversations, sampled)]
    loaded = {"device": str(policy.device), "dtype": str(policy.model.dtype)}
    policy.close()
    return {**loaded, "max_abs_logprob_error": worst, "seeded_sampling_repeats": again,
            "reply_lengths": sorted(set(lengths))}


def check_packed_forward(model_dir: Path, device: str, dtype: Any) -> dict[str, Any]:
    """`_pair_logps` (packed rows, 4-D mask) vs the plain forward, with a non-zero LoRA."""
    import torch
    from peft import LoraConfig, get_peft_model

    from sandgym.agents import load_model
    from sandgym.train.preference import _encode, _pair_logps

    model, tokenizer = load_model(model_dir, device=device, dtype=dtype)
    torch.manual_seed(1)
    model = get_peft_model(model, LoraConfig(r=4, target_modules="all-linear",
                                             task_type="CAUSAL_LM", init_lora_weights=False))
    model.eval()
    encoded = [_encode(tokenizer, pair) for pair in _pairs(6)]
    on = torch.device(device)
    worst = 0.0
    for row_tokens in (1, 4 * max(e.tokens for e in encoded)):  # a pair a row; shared
        with torch.no_grad():
            chosen, rejected, _ = _pair_logps(model, encoded, on, row_tokens)
        for i, e in enumerate(encoded):
            for got, reply in ((chosen[i], e.chosen), (rejected[i], e.rejected)):
                ids = e.prompt + reply
                with torch.no_grad():
                    logits = model(input_ids=torch.tensor([ids], device=on)).logits[0].float()
                logps = torch.log_softmax(logits[:-1], dim=-1).gather(
                    1, torch.tensor(ids[1:], device=on)[:, None]).squeeze(1)
                want = logps[len(e.prompt) - 1:].sum().item()
                worst = max(worst, abs(got.item() - want) / max(1.0, abs(want)))
    return {"dtype": str(next(model.parameters()).dtype), "max_rel_error": worst}


def _pairs(n: int) -> list[dict[str, Any]]:
    bodies = ["return a + b", "return a - b", "total = a\n    for _ in range(b):\n"
              "        total += 1\n    return total", "return b", "return a * b",
              "return sum([a, b])", "return (a + b) * 1", "return a"]
    return [{"task_id": f"add{i}", "prompt": _conversation(PROMPTS[i % len(PROMPTS)]),
             "chosen": [{"role": "assistant",
                         "content": f"```python\ndef add(a, b):\n    {bodies[0]}\n```"}],
             "rejected": [{"role": "assistant", "content":
                           f"```python\ndef add(a, b):\n    {bodies[1 + i % 7]}\n```"}]}
            for i in range(n)]


def check_rpo_steps(model_dir: Path, work: Path, steps: int) -> dict[str, Any]:
    """Real RPO steps where `load_model` puts the model (CUDA when there is one)."""
    import math

    from sandgym.agents import load_model
    from sandgym.train.preference import PreferenceSettings, train_preference

    rows: list[dict[str, Any]] = []
    started = time.perf_counter()
    losses = train_preference(model_dir, _pairs(8 * steps), work / "adapter",
                              PreferenceSettings(epochs=1, batch_size=8), log=rows.append)
    seconds = time.perf_counter() - started
    model, _ = load_model(work / "adapter")  # the adapter merges into its base
    return {"steps": len(losses), "losses_finite": all(math.isfinite(x) for x in losses),
            "first_margin": rows[0]["margin"], "last_margin": rows[-1]["margin"],
            "s_per_step_with_load_and_reference": seconds / max(1, len(losses)),
            "adapter_loads": model is not None}


def time_decoding(model_dir: Path, device: str, rows: int, new_tokens: int) -> dict[str, Any]:
    """Decoded tokens per second for one wide sampled batch (the rollout shape)."""
    from sandgym.agents import SamplingParams, TransformersPolicy

    policy = TransformersPolicy(model_dir, device=device)
    conversations = [_conversation(PROMPTS[i % len(PROMPTS)]) for i in range(rows)]
    sampling = SamplingParams(temperature=0.8, max_new_tokens=new_tokens, seed=7)
    policy.generate(conversations[:8], sampling)  # warm-up
    started = time.perf_counter()
    gens = policy.generate(conversations, sampling)
    seconds = time.perf_counter() - started
    tokens = sum(len(g.token_ids) for g in gens)
    policy.close()
    return {"rows": rows, "tokens": tokens, "s": seconds, "tokens_per_s": tokens / seconds}


def main(argv: list[str] | None = None) -> int:
    """Run the checks and timings; print one JSON line; 1 if a check failed."""
    import torch

    logging.basicConfig(level=logging.WARNING)
    args = parse_args(argv)
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    if args.model is None:
        from sandgym.agents import default_model_path

        source = Path(default_model_path())
    else:
        source = Path(args.model)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="sandgym-gpu-") as tmp:
        work = Path(tmp)
        model_dir = random_model(source, work / "model", torch.float32)
        record: dict[str, Any] = {
            "benchmark": "gpu_paths", "device": device, "torch": torch.__version__,
            "device_name": torch.cuda.get_device_name(0) if device.startswith("cuda")
            else "cpu", "model_architecture": json.loads(
                (source / "config.json").read_text()).get("architectures")}
        record["decoding_fp32"] = check_decoding(model_dir, device, torch.float32)
        record["decoding_default_dtype"] = check_decoding(model_dir, device, None)
        record["packed_forward_fp32"] = check_packed_forward(model_dir, device,
                                                             torch.float32)
        record["packed_forward_bf16"] = check_packed_forward(model_dir, device,
                                                             torch.bfloat16)
        record["rpo"] = check_rpo_steps(model_dir, work, args.rpo_steps)
        record["decode_timing"] = time_decoding(model_dir, device, args.decode_batch,
                                                args.new_tokens)
    failed = [name for name, ok in (
        ("decoding_fp32", record["decoding_fp32"]["max_abs_logprob_error"] < 1e-3
         and record["decoding_fp32"]["seeded_sampling_repeats"]),
        ("decoding_default_dtype", record["decoding_default_dtype"]["seeded_sampling_repeats"]
         and record["decoding_default_dtype"]["max_abs_logprob_error"] < 0.5),
        ("packed_forward_fp32", record["packed_forward_fp32"]["max_rel_error"] < 1e-4),
        ("packed_forward_bf16", record["packed_forward_bf16"]["max_rel_error"] < 5e-2),
        ("rpo", record["rpo"]["losses_finite"] and record["rpo"]["adapter_loads"]))
        if not ok]
    record["failed"] = failed
    record["wall_s"] = time.perf_counter() - started
    print(json.dumps(record), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
