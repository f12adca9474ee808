"""Batched vs sequential generation: 8 single-turn episodes with the default model.

Both modes play the same fixed prompts with greedy decoding, through the real episode
loop (`run_episodes` vs one `run_episode` after another), in the same process and run,
so machine drift hits both alike. Prints one JSON object:
``sequential_s``, ``batched_s`` (best of ``--repeats``), ``speedup`` (sequential /
batched), tokens generated and tokens/s per mode, and how many answers are identical.

Usage: ``sandgym bench generation --json [--episodes 8] [--max-new-tokens 64]
[--repeats 1] [--policy default] [--device cpu]``
"""

from __future__ import annotations

import argparse
import json
import string
import time
from typing import Any

import gymnasium as gym
from gymnasium import spaces

PROMPTS = [
    "Write a Python function `add(a, b)` that returns the sum of two numbers.",
    "Write a Python function `is_even(n)` that returns True when n is even.",
    "Write a Python function `reverse(s)` that returns the string s reversed.",
    "Write a Python function `maximum(xs)` that returns the largest number in a list.",
    "Write a Python function `count_vowels(s)` that counts the vowels in a string.",
    "Write a Python function `factorial(n)` that returns n! for n >= 0.",
    "Write a Python function `fizzbuzz(n)` returning 'Fizz', 'Buzz', 'FizzBuzz' or str(n).",
    "Write a Python function `is_palindrome(s)` that checks whether s reads the same "
    "backwards.",
]


class _PromptEnv(gym.Env):
    """One turn: show a fixed prompt, end the episode on the reply (reward 0)."""

    def __init__(self, prompt: str) -> None:
        self.observation_space = spaces.Text(max_length=1000, charset=string.printable)
        self.action_space = spaces.Text(max_length=100_000, charset=string.printable)
        self.prompt = prompt

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        return self.prompt, {"task_id": self.prompt[:24]}

    def step(self, action: str):
        return "", 0.0, True, False, {}


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="sandgym bench generation", description=__doc__)
    parser.add_argument("--json", action="store_true", help="Print JSON (always on).")
    parser.add_argument("--episodes", type=int, default=8)
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=1, help="Best of N per mode.")
    parser.add_argument("--policy", default="default", help="A policy spec (local model).")
    parser.add_argument("--device", default=None, help="cpu, cuda... (default: auto).")
    return parser.parse_args(argv)


def _tokens(trajs: list[Any]) -> int:
    return sum(len(ids) for t in trajs for ids in t.completion_token_ids)


def main(argv: list[str]) -> int:
    """Run the benchmark and print one JSON object; return the exit status."""
    from sandgym.agents import SamplingParams, policy_from_spec, run_episode, run_episodes

    args = _parse(argv)
    options = {} if args.device is None else {"device": args.device}
    policy = policy_from_spec(args.policy, **options)
    sampling = SamplingParams(max_new_tokens=args.max_new_tokens)
    prompts = [PROMPTS[i % len(PROMPTS)] for i in range(args.episodes)]
    policy.generate([[{"role": "user", "content": "warm up"}]], SamplingParams(max_new_tokens=4))

    best = {"sequential": float("inf"), "batched": float("inf")}
    results: dict[str, list[Any]] = {}
    for _ in range(args.repeats):
        started = time.perf_counter()
        results["sequential"] = [run_episode(_PromptEnv(p), policy, sampling=sampling,
                                             max_turns=1) for p in prompts]
        best["sequential"] = min(best["sequential"], time.perf_counter() - started)
        started = time.perf_counter()
        results["batched"] = run_episodes([_PromptEnv(p) for p in prompts], policy,
                                          sampling=sampling, max_turns=1)
        best["batched"] = min(best["batched"], time.perf_counter() - started)

    seq_tokens, bat_tokens = _tokens(results["sequential"]), _tokens(results["batched"])
    pairs = zip(results["sequential"], results["batched"], strict=True)
    same = sum(a.actions == b.actions for a, b in pairs)
    device = getattr(policy, "device", None)
    print(json.dumps({
        "benchmark": "generation",
        "policy": policy.name,
        "device": str(device) if device is not None else None,
        "episodes": args.episodes,
        "max_new_tokens": args.max_new_tokens,
        "repeats": args.repeats,
        "sequential_s": round(best["sequential"], 3),
        "batched_s": round(best["batched"], 3),
        "speedup": round(best["sequential"] / best["batched"], 2),
        "sequential_tokens": seq_tokens,
        "batched_tokens": bat_tokens,
        "sequential_tokens_per_s": round(seq_tokens / best["sequential"], 1),
        "batched_tokens_per_s": round(bat_tokens / best["batched"], 1),
        "identical_answers": same,
    }))
    policy.close()
    return 0


if __name__ == "__main__":
    import sys

    raise SystemExit(main(sys.argv[1:]))
