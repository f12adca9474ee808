"""`python -m sandgym.train.device_check`: the accelerator paths of generation and
preference training, checked and timed on a model's architecture.

`benchmarks/learning.py` needs a Docker engine (every reply is graded in a sandbox) and
the model's weights. What a GPU changes is in our own code: `load_model` picks bf16 on
CUDA, `decode_batch` keeps its KV cache and masks on the device, and the packed RPO
forward (`_pair_logps`) builds a 4-D mask there and runs the LM head in fp32. So this
runs those paths on the *architecture* of a model (its ``config.json`` and tokenizer;
seeded random weights), with no sandbox and no weights to copy, so it runs on a bare GPU
machine (one without a Docker engine or network, say). `benchmarks/gpu_paths.py` runs it.

Checked (pass or fail); decoding and the packed forward in fp32, where rounding is far
below what a wrong position or mask does (with `INIT_RANGE` weights attention is nearly
one-hot, so a misplaced token moves a log-prob by nats):

1. **decoding**: the log-prob `decode_batch` records for each generated token against
   the model's own forward pass over that prompt+reply alone. Three copies of each prompt
   (one shared prefill), rows that run past the cache's first growth, and rows that stop
   at different steps; seeded sampling repeats, and another seed differs;
2. **packed RPO forward**: each reply's summed log-prob from `_pair_logps` (several pairs
   a row and a pair a row) against the plain forward pass, with a non-zero LoRA;
3. **RPO steps** (`train_preference`, where and in the dtype `load_model` picks: bf16 on
   CUDA): the margin grows by more than twice the largest first-step margin (that is
   the rounding noise of reference against policy), and the saved adapter merges.

Reported, not checked: how far bf16 decoding and the bf16 packed forward are from a bf16
plain forward (whose own LM head rounds to bf16; their noise floor depends on the
kernels), how much a reply sum moves when only the packing changes, and timings
(decoded tokens per second for a wide batch; seconds per RPO step on these short
synthetic pairs, model load and reference pass included). All of it on random weights:
the bf16 figures are the code's, not a trained model's.

Rotary position embeddings are relative, so a constant offset of a whole row's or pair's
positions would not show on a rotary model (Llama, the default); it would on models with
absolute positions. Prints one JSON line; exits 1 if a check fails or raises.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

MODEL_FILES = ("config.json", "generation_config.json", "tokenizer.json",
               "tokenizer_config.json", "chat_template.jinja", "special_tokens_map.json")
"""What `random_model` copies of a model: everything but its weights."""

INIT_RANGE = 0.1
"""Standard deviation of the random weights: wider than the usual 0.02, whose near-uniform
next-token distributions would hide a wrong position or mask in tiny differences."""

FP32_MAX_LOGPROB_ERROR = 1e-2
"""Nats a recorded fp32 token log-prob may differ from the plain forward's (float32
rounding over 30 layers measured 1e-4 to 2e-4; a wrong position or mask costs nats)."""

FP32_MAX_SUM_ERROR = 1e-2
"""Nats a packed fp32 reply sum (a few hundred nats) may differ by (rounding measured
1e-4 to 4e-4; replies placed at the wrong positions were 43 off on the test's small
model)."""

CACHE_GROWN_AT = 66
"""A reply this long has run past the first growth of `decode_batch`'s KV buffers (the
prompt plus 64 tokens of room)."""

PROMPTS = ["Write add(a, b) returning a + b.", "Reverse a string s.",
           "Return the largest of three numbers.", "Count the vowels in a word.",
           "Is n a prime number?", "Sum the squares of a list."]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options (every one has a default)."""
    parser = argparse.ArgumentParser(prog="python -m sandgym.train.device_check",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=None,
                        help="A directory with the model's config.json and tokenizer "
                        "(weights are not read); default: the default model's.")
    parser.add_argument("--device", default=None,
                        help="cuda, cuda:1, cpu...; default cuda when there is one. RPO "
                        "steps run where load_model puts the model (CUDA when there is one).")
    parser.add_argument("--decode-batch", type=int, default=192,
                        help="Rows of the timed decoding batch.")
    parser.add_argument("--new-tokens", type=int, default=128,
                        help="New tokens per row when timing decoding.")
    parser.add_argument("--rpo-steps", type=int, default=4,
                        help="RPO steps of 8 pairs (at least 2: the margin must grow).")
    args = parser.parse_args(argv)
    if args.rpo_steps < 2:
        parser.error("--rpo-steps must be at least 2 (the check compares the first and "
                     "last steps' margins)")
    return args


def random_model(source: Path, out: Path, init_range: float = INIT_RANGE) -> Path:
    """A model directory with ``source``'s config and tokenizer and seeded random weights."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    out.mkdir(parents=True, exist_ok=True)
    for name in MODEL_FILES:
        if (source / name).is_file():
            shutil.copy(source / name, out / name)
    config = AutoConfig.from_pretrained(str(source), local_files_only=True)
    config.initializer_range = init_range
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    model.save_pretrained(str(out))
    return out


def _conversation(text: str) -> list[dict[str, str]]:
    """A one-turn coding prompt, as the code envs send it."""
    return [{"role": "system", "content": "Answer with one python code block."},
            {"role": "user", "content": text}]


def _plain_reply_logps(model: Any, prompt: list[int], reply: list[int]) -> Any:
    """Per-token log-probs of ``reply`` after ``prompt`` from one plain forward pass of
    prompt+reply alone (no padding, no cache, no packing), in the model's dtype with the
    log-softmax in fp32, returned on the CPU."""
    import torch

    ids = prompt + reply
    device = model.get_input_embeddings().weight.device
    with torch.no_grad():
        logits = model(input_ids=torch.tensor([ids], device=device)).logits[0].float()
    logps = torch.log_softmax(logits[:-1], dim=-1).gather(
        1, torch.tensor(ids[1:], device=device)[:, None]).squeeze(1)
    return logps[len(prompt) - 1:].cpu()


def check_decoding(model_dir: Path, device: str, dtype: Any) -> dict[str, Any]:
    """Recorded log-probs of batched greedy and sampled decodes vs a plain forward."""
    import torch

    from sandgym.agents import SamplingParams, TransformersPolicy

    policy = TransformersPolicy(model_dir, device=device, dtype=dtype)
    conversations = [_conversation(p) for p in PROMPTS for _ in range(3)]  # shared prefill
    worst = 0.0
    lengths: set[int] = set()
    finishes: set[str] = set()
    for sampling in (SamplingParams(max_new_tokens=80),  # past the cache's first growth
                     SamplingParams(temperature=0.9, max_new_tokens=80, seed=3),
                     # A stop string random text meets at random places: rows leave the
                     # batch at different steps (random weights never end their turn).
                     SamplingParams(temperature=0.9, max_new_tokens=80, seed=4,
                                    stop=("e",))):
        for gen in policy.generate(conversations, sampling):
            if not gen.token_ids or len(gen.logprobs) != len(gen.token_ids):
                raise AssertionError(f"{len(gen.token_ids)} tokens, {len(gen.logprobs)} "
                                     "log-probs")
            plain = _plain_reply_logps(policy.model, list(gen.prompt_token_ids),
                                       list(gen.token_ids))
            worst = max(worst, (plain - torch.tensor(gen.logprobs)).abs().max().item())
            lengths.add(len(gen.token_ids))
            finishes.add(gen.finish_reason)

    def texts(seed: int) -> list[str]:
        sampled = SamplingParams(temperature=0.9, max_new_tokens=24, seed=seed)
        return [g.text for g in policy.generate(conversations[:6], sampled)]

    seeded = texts(5)
    record = {"device": str(policy.device), "dtype": str(policy.model.dtype),
              "max_abs_logprob_error": worst, "seed_repeats": texts(5) == seeded,
              "other_seed_differs": texts(6) != seeded,
              "reply_lengths": [min(lengths), max(lengths)], "distinct_lengths": len(lengths),
              "finish_reasons": sorted(finishes)}
    policy.close()
    return record


def check_packed_forward(model_dir: Path, device: str, dtype: Any) -> dict[str, Any]:
    """`_pair_logps` (packed rows, 4-D mask) vs the plain forward, with a non-zero LoRA;
    and how far a reply sum moves when only the packing changes."""
    import torch
    from peft import LoraConfig, get_peft_model

    from sandgym.agents import load_model
    from sandgym.train.preference import _encode, _pack, _pair_logps, _use_maskable_attention

    model, tokenizer = load_model(model_dir, device=device, dtype=dtype)
    _use_maskable_attention(model)  # as train_preference does
    torch.manual_seed(1)
    model = get_peft_model(model, LoraConfig(r=4, target_modules="all-linear",
                                             task_type="CAUSAL_LM", init_lora_weights=False))
    model.eval()
    encoded = [_encode(tokenizer, pair) for pair in _pairs(6)]
    longest = max(e.tokens for e in encoded)
    if not (len(_pack(encoded, 1)) == 6 and len(_pack(encoded, 4 * longest)) < 6):
        raise AssertionError("the packings do not give a pair a row and shared rows")
    on = torch.device(device)
    worst = 0.0
    sums = {}
    for row_tokens in (1, 4 * longest):
        with torch.no_grad():
            chosen, rejected, _ = _pair_logps(model, encoded, on, row_tokens)
        sums[row_tokens] = torch.cat([chosen, rejected]).float().cpu()
        for i, e in enumerate(encoded):
            for got, reply in ((chosen[i], e.chosen), (rejected[i], e.rejected)):
                want = _plain_reply_logps(model, e.prompt, reply).sum().item()
                worst = max(worst, abs(got.item() - want))
    return {"dtype": str(next(model.parameters()).dtype), "max_abs_sum_error": worst,
            "max_abs_sum_change_with_packing": (sums[1] - sums[4 * longest]).abs().max().item(),
            "mean_reply_sum": sums[1].mean().item()}


def _pairs(n: int) -> list[dict[str, Any]]:
    """``n`` (chosen, rejected) pairs of short code replies to the prompts above."""
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
    """Real RPO steps where `load_model` puts the model; the adapter then merges."""
    from sandgym.agents import load_model
    from sandgym.train.preference import PreferenceSettings, train_preference

    rows: list[dict[str, Any]] = []
    started = time.perf_counter()
    train_preference(model_dir, _pairs(8 * steps), work / "adapter",
                     PreferenceSettings(epochs=1, batch_size=8), log=rows.append)
    seconds = time.perf_counter() - started
    model, _ = load_model(work / "adapter")  # raises unless the adapter merges
    return {"device": str(model.device), "dtype": str(model.dtype), "steps": len(rows),
            "first_margin": rows[0]["margin"], "first_margin_max_abs": rows[0]["margin_max_abs"],
            "last_margin": rows[-1]["margin"], "losses": [r["loss"] for r in rows],
            "s_per_step_with_load_and_reference": seconds / max(1, len(rows))}


def time_decoding(model_dir: Path, device: str, rows: int, new_tokens: int) -> dict[str, Any]:
    """Decoded tokens per second for one wide sampled batch (the rollout shape; no row
    ends early, so every row decodes ``new_tokens``: the slowest case per token)."""
    from sandgym.agents import SamplingParams, TransformersPolicy

    policy = TransformersPolicy(model_dir, device=device)
    conversations = [_conversation(PROMPTS[i % len(PROMPTS)]) for i in range(rows)]
    sampling = SamplingParams(temperature=0.8, max_new_tokens=new_tokens, seed=7)
    policy.generate(conversations, sampling)  # warm-up at the same shape
    started = time.perf_counter()
    gens = policy.generate(conversations, sampling)
    seconds = time.perf_counter() - started
    tokens = sum(len(g.token_ids) for g in gens)
    record = {"dtype": str(policy.model.dtype), "rows": rows, "tokens": tokens, "s": seconds,
              "tokens_per_s": tokens / seconds, "ms_per_step": 1000 * seconds / new_tokens}
    policy.close()
    return record


def decoding_passed(record: dict[str, Any]) -> bool:
    """fp32 decoding: log-probs as a plain forward's, seeds honoured, rows of several
    lengths, some past the cache's first growth."""
    return (record["max_abs_logprob_error"] < FP32_MAX_LOGPROB_ERROR
            and record["seed_repeats"] and record["other_seed_differs"]
            and record["distinct_lengths"] > 2
            and record["reply_lengths"][1] >= CACHE_GROWN_AT)


def packed_forward_passed(record: dict[str, Any]) -> bool:
    """fp32 packed forward: every reply sum as a plain forward's."""
    return record["max_abs_sum_error"] < FP32_MAX_SUM_ERROR


def rpo_passed(record: dict[str, Any]) -> bool:
    """RPO steps: at least two, and the margin grew by more than the first step's
    rounding noise could (twice its largest pair margin, and at least 0.1 nats)."""
    noise = max(0.1, 2 * record["first_margin_max_abs"])
    return record["steps"] >= 2 and record["last_margin"] - record["first_margin"] > noise


def _run(record: dict[str, Any], failed: list[str], name: str,
         check: Callable[[], dict[str, Any]], ok: Callable[[dict[str, Any]], bool] | None
         ) -> None:
    """Run one check into ``record[name]``; a raise or a failed ``ok`` lands in ``failed``."""
    try:
        record[name] = check()
    except Exception:  # reported in the JSON line, with the other checks' results
        record[name] = {"error": traceback.format_exc(limit=-3)}
        failed.append(name)
        return
    if ok is not None and not ok(record[name]):
        failed.append(name)


def main(argv: list[str] | None = None) -> int:
    """Run the checks and timings; print one JSON line; 1 if a check failed."""
    args = parse_args(argv)  # first: --help needs no torch
    import peft
    import torch
    import transformers

    logging.basicConfig(level=logging.WARNING)
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    if args.model is None:
        from sandgym.agents import default_model_path

        source = Path(default_model_path())
    else:
        source = Path(args.model)
    started = time.perf_counter()
    record: dict[str, Any] = {
        "benchmark": "device_check", "device": device,
        "device_name": (torch.cuda.get_device_name(torch.device(device))
                        if device.startswith("cuda") else device),
        "versions": {"torch": torch.__version__, "transformers": transformers.__version__,
                     "peft": peft.__version__},
        "model_architecture": json.loads((source / "config.json").read_text()
                                         ).get("architectures")}
    failed: list[str] = []
    fp32, bf16 = torch.float32, torch.bfloat16
    with tempfile.TemporaryDirectory(prefix="sandgym-gpu-") as tmp:
        work = Path(tmp)
        model_dir = random_model(source, work / "model")
        _run(record, failed, "decoding_fp32", lambda: check_decoding(model_dir, device, fp32),
             decoding_passed)
        _run(record, failed, "decoding_bf16", lambda: check_decoding(model_dir, device, bf16),
             None)
        _run(record, failed, "packed_forward_fp32",
             lambda: check_packed_forward(model_dir, device, fp32), packed_forward_passed)
        _run(record, failed, "packed_forward_bf16",
             lambda: check_packed_forward(model_dir, device, bf16), None)
        _run(record, failed, "rpo", lambda: check_rpo_steps(model_dir, work, args.rpo_steps),
             rpo_passed)
        _run(record, failed, "decode_timing",
             lambda: time_decoding(model_dir, device, args.decode_batch, args.new_tokens),
             None)
    record["failed"] = failed
    record["wall_s"] = time.perf_counter() - started
    print(json.dumps(record), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
