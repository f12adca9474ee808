"""`sandgym train rft`: expert iteration from execution feedback (sample, judge, RPO or SFT).

The cheap, robust baseline that GRPO is compared with (STaR, Zelikman et al. 2022; ReST-EM,
Singh et al. 2023). Each round:

1. **sample** ``samples_per_task`` replies per task from the current model;
2. **verify** them in the env's sandboxes (the env's own verdict: the hidden tests, never
   a model's opinion);
3. **fine-tune** a LoRA adapter on what the sandbox said. ``objective="rpo"`` (what the
   default ``"auto"`` picks for one-turn envs): DPO plus an NLL term on pairs of a
   verified and a failed reply to the same task (`sandgym.train.preference`), a task's
   failed greedy reply first, so that failed answers, above all the one a greedy
   evaluation scores, are pushed down (at most ``pairs_per_task`` pairs per task).
   ``objective="sft"`` (what ``"auto"`` picks for multi-turn envs, whose samples' later
   prompts differ): TRL's ``SFTTrainer`` on the passed replies (at most
   ``keep_per_task`` distinct ones per task, shortest first; loss on the reply only),
   which only raises what passed.

Why rpo for one-turn envs (three fresh-task rounds, as a real run does, on the development
split below; never the test split): SFT with its defaults scored 15/44 on the
development tasks (the base model's score; it gained 5 tasks and lost 5); rpo with a
greedy-first pairing, 3 pairs per task and learning rate 1e-4 scored 19/44 (gained 5,
lost 1), and 15/44 at 5e-5 with 2 pairs per task. In an earlier one-round comparison
on 10 samples per task, 2e-4 over-separated the pairs (a mean margin of 18 nats) and
lost 5 tasks. Before that choice rpo (without greedy pairing) had been measured once
on the held-out split, +6.0 points against SFT's -3.0 (docs/training.md), which is
why it was explored further on the development split. The chosen defaults, measured
once on the held-out split afterwards: +6.0 points, 95% interval [-3.0, +16.4], in 11.5
minutes with both evaluations on an idle 2-core CPU (29.3 when other jobs shared its
cores).

Two ways to spend rounds (``fresh_tasks``):

* **fresh tasks** (the default): the training tasks are dealt, in order, into one share
  per round, like cards, so each share keeps the set's mix of difficulties. Round r
  samples only share r, with the model trained on the shares before it, and the adapter
  keeps training on share r's verdicts. The cost is that of one round over every
  task, and each round's sampled pass rate (the curve) is measured on tasks the model has
  not trained on yet, so memorised answers do not inflate it. It still rises when the
  fine-tune only makes sampling sharper (closer to the model's greedy answers): on the
  held-out benchmark, under SFT, it rose from 0.18 to 0.34 while greedy pass@1 on the
  test split went from 0.403 to 0.373. Judge a run by ``sandgym bench learning``.
* **every task each round** (``--no-fresh-tasks``, ReST-EM): every round samples every
  task and trains a new adapter from the *base* model on the latest round's replies, so
  rounds do not compound their own fitting errors. A round costs as much as a whole
  fresh-tasks run, and its pass rate is measured on tasks already trained on.

Why these sampling defaults, and SFT's (one-round runs on a development split carved
from ``train``, every third training task of each difficulty; never the test split): 2
samples per task at temperature 0.6 found solutions for no more tasks than greedy
decoding (28 of 94), so the fine-tune only restated what greedy already did (development
pass@1 15/44 before, 14/44 after). Six samples at 0.8 reach about 40% of the tasks
(pass@6 0.42 against greedy 0.30), and 3 epochs at 5e-4 moved the development score to
17/44 (two tasks: within noise). Ten samples solved 45 tasks, yet under rpo, over three
fresh-task rounds, they scored 12/44 against the six samples' 19/44 (docs/training.md).
These sampling settings were chosen under SFT and kept for rpo.

Writes ``metrics.jsonl`` (one row per round: the round's sampled pass rate is its
training reward), ``sft_log.jsonl`` (the losses of every step), ``samples_round{r}.jsonl``
(every sampled reply with its reward, kept or not), ``pairs_round{r}.jsonl`` (rpo: the pairs
trained on), ``greedy_round{r}.jsonl`` (rpo: each task's greedy reply and its verdict; its
pass rate, on the round's training tasks, is ``greedy/pass_rate`` in the metrics),
``reward_curve.png``, ``summary.json``,
``config.json`` and ``adapter/`` (the LoRA: with fresh tasks, trained over every round
that trained; otherwise the last such round's; loadable by ``sandgym eval --policy
runs/X``). A run first removes what an earlier run left in its directory (adapter,
samples, SFT checkpoints), so the directory never mixes two runs.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from sandgym.train.export import dpo_pairs
from sandgym.train.preference import (
    PreferenceSettings,
    train_preference,
    unsupported_model,
    write_pairs,
)

logger = logging.getLogger(__name__)

OBJECTIVES = ("auto", "rpo", "sft")

__all__ = ["RFTRunConfig", "RFTRunResult", "select_examples", "task_shares", "train_rft"]


@dataclass
class RFTRunConfig:
    """Settings of one expert-iteration run. With the defaults, a run on the default
    model's 138 training tasks takes about 10 minutes on an idle 2-core CPU (11.5 with
    both evaluations of `benchmarks/learning.py`)."""

    env_id: str = field(default="sandgym/PythonBasics-v0", metadata={
        "help": "Registered env to train on.", "cli": "--env"})
    split: str | None = field(default="train", metadata={
        "help": "Task split to train on (the env's split= argument); a choice that holds "
        "held-out test tasks (test, all) is refused."})
    model: str = field(default="default", metadata={
        "help": "'default' (SmolLM2-135M-Instruct from the local cache) or a model directory."})
    rounds: int = field(default=3, metadata={"help": "Sample-verify-fine-tune rounds."})
    fresh_tasks: bool = field(default=True, metadata={
        "help": "Each round samples its own share of the tasks and the adapter keeps "
        "training (the curve is measured on tasks not yet trained on); off: every round "
        "samples every task and retrains from the base (ReST-EM).",
        "cli": "--fresh-tasks/--no-fresh-tasks"})
    samples_per_task: int = field(default=6, metadata={
        "help": "Replies sampled per task per round (the default model solves about 40% "
        "of its training tasks in 6 samples, 30% greedily)."})
    temperature: float = field(default=0.8, metadata={
        "help": "Sampling temperature (0.6 and 0.8 passed the same 22% of samples; 0.8 "
        "spreads them over more tasks)."})
    max_new_tokens: int = field(default=192, metadata={
        "help": "Most new tokens per sampled reply (code envs stop after the code block)."})
    keep_per_task: int = field(default=3, metadata={
        "help": "Most distinct verified replies kept per task (shortest first)."})
    objective: str = field(default="auto", metadata={
        "help": "How a round learns from its verdicts. rpo: DPO on pairs (a verified "
        "reply, a failed one) of the same task plus an NLL term on the verified one, so "
        "failed answers are pushed down too (one-turn envs; 19/44 development tasks "
        "against sft's 15/44). sft: fine-tune on the verified replies only (any env). "
        "auto: rpo for one-turn envs, sft for multi-turn ones."})
    pairs_per_task: int = field(default=3, metadata={
        "help": "rpo: most (passed, failed) pairs per task per round."})
    pair_greedy: bool = field(default=True, metadata={
        "help": "rpo: also decode each task greedily, as evaluation does; a task whose "
        "greedy reply failed gets its first pair against that reply (the answer an "
        "evaluation would score), and a passing greedy reply can be a chosen one.",
        "cli": "--pair-greedy/--no-pair-greedy"})
    beta: float = field(default=0.1, metadata={
        "help": "rpo: DPO temperature (higher keeps the model nearer the base)."})
    epochs: float | None = field(default=None, metadata={
        "help": "Epochs over each round's kept replies (rpo: over its pairs); unset: 3 for "
        "sft, 2 for rpo (a pair costs two replies' forward and backward passes)."})
    learning_rate: float | None = field(default=None, metadata={
        "help": "LoRA learning rate; unset: 5e-4 for sft, 1e-4 for rpo (2e-4 lost 3 "
        "development tasks net)."})
    batch_size: int = field(default=8, metadata={
        "help": "Examples (rpo: pairs) per optimizer step."})
    lora_r: int = field(default=16, metadata={"help": "LoRA rank."})
    lora_alpha: int = field(default=32, metadata={"help": "LoRA alpha."})
    generation_batch: int = field(default=192, metadata={
        "help": "Episodes sampled at once (one batched generate call). On a CPU a decoding "
        "step streams every weight from memory whatever the batch, so wide batches are "
        "cheap per reply (default model, 2 cores: 1.4 s a reply in calls of 32 against "
        "0.56 s in calls of 192, as first measured; on an idle machine 276 sampled replies "
        "took 64 s in one call)."})
    limit: int | None = field(default=None, metadata={"help": "Train on the first N tasks."})
    out: str = field(default="runs/rft", metadata={"help": "Run directory."})
    seed: int = field(default=0, metadata={"help": "Seed of sampling, shuffling and init."})
    cpu_threads: int | None = field(default=None, metadata={
        "help": "torch threads on CPU; None: all cores for sampling and SFT (nothing else "
        "runs meanwhile: grading happens between generate calls)."})
    env_kwargs: dict[str, Any] = field(default_factory=dict, metadata={
        "help": "Keyword arguments for gymnasium.make (e.g. tasks=...)."})
    progress: bool = field(default=True, metadata={
        "help": "Show progress bars and per-round logs."})

    def __post_init__(self) -> None:
        if self.split == "test":
            raise ValueError("split='test' would train on the held-out tasks that measure the "
                             "gain; train on 'train' (or your own split) and evaluate on test")
        for name in ("rounds", "samples_per_task", "keep_per_task", "batch_size",
                     "generation_batch", "max_new_tokens", "limit"):
            if getattr(self, name) is not None and getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.objective not in OBJECTIVES:
            raise ValueError(f"objective must be one of {', '.join(OBJECTIVES)}, "
                             f"got {self.objective!r}")
        if self.pairs_per_task < 1:
            raise ValueError(f"pairs_per_task must be >= 1, got {self.pairs_per_task}")
        if self.beta <= 0:
            raise ValueError(f"beta must be > 0, got {self.beta}")
        if self.learning_rate is not None and self.learning_rate <= 0:
            raise ValueError(f"learning_rate must be > 0, got {self.learning_rate}")
        if self.epochs is not None and self.epochs <= 0:
            raise ValueError(f"epochs must be > 0, got {self.epochs}")
        if self.temperature <= 0 and self.samples_per_task > 1:
            raise ValueError("temperature 0 gives identical samples; use e.g. 0.8 to sample "
                             f"{self.samples_per_task} different replies per task")

    @property
    def lr(self) -> float:
        """The learning rate in force: the one given, else the objective's default (auto
        counts as rpo until `train_rft` resolves it)."""
        if self.learning_rate is not None:
            return self.learning_rate
        return 5e-4 if self.objective == "sft" else 1e-4

    @property
    def train_epochs(self) -> float:
        """The epochs in force: the ones given, else the objective's default."""
        if self.epochs is not None:
            return self.epochs
        return 3.0 if self.objective == "sft" else 2.0


@dataclass
class RFTRunResult:
    """Where a run left its outputs, and its headline figures."""

    out_dir: Path
    model_dir: Path
    metrics_path: Path
    curve_path: Path | None
    summary: dict[str, Any]
    wall_s: float


def task_shares(task_ids: list[str], rounds: int, fresh_tasks: bool) -> list[list[str]]:
    """The tasks each round samples.

    ``fresh_tasks``: the ids are dealt in order into ``rounds`` shares, like cards (task i
    goes to share i mod rounds), so a task set ordered by difficulty gives every share the
    same mix; a share left empty (fewer tasks than rounds) is dropped. Otherwise every
    round gets every task.

        >>> task_shares(["a", "b", "c", "d", "e"], 2, True)
        [['a', 'c', 'e'], ['b', 'd']]
        >>> task_shares(["a", "b"], 2, False)
        [['a', 'b'], ['a', 'b']]
    """
    if not fresh_tasks:
        return [list(task_ids) for _ in range(rounds)]
    shares = [list(task_ids[r::rounds]) for r in range(rounds)]
    return [share for share in shares if share]


def select_examples(trajectories: list[Any], keep_per_task: int) -> list[dict[str, Any]]:
    """The SFT examples of verified trajectories: prompt/completion pairs.

    Only trajectories the env passed count (a sandbox error or a missing reward is never
    a pass). Per task, distinct replies (same text after stripping) are kept, shortest
    first, at most ``keep_per_task``. A multi-turn trajectory gives one example per
    assistant turn (the conversation so far as the prompt).
    """
    by_task: dict[str, dict[str, Any]] = {}
    for traj in trajectories:
        if not traj.passed or traj.sandbox_error or traj.final_reward is None:
            continue
        key = "\x00".join(m["content"].strip() for m in traj.messages
                          if m["role"] == "assistant")
        by_task.setdefault(str(traj.task_id), {}).setdefault(key, traj)
    examples: list[dict[str, Any]] = []
    for task_id, distinct in by_task.items():
        for _, traj in sorted(distinct.items(), key=lambda kv: (len(kv[0]), kv[0]))[
                :keep_per_task]:
            messages = [{"role": m["role"], "content": m["content"]} for m in traj.messages]
            last = max(i for i, m in enumerate(messages) if m["role"] == "assistant")
            examples.append({"task_id": task_id, "prompt": messages[:last],
                             "completion": [messages[last]]})
    return examples


def train_rft(config: RFTRunConfig) -> RFTRunResult:
    """Run expert iteration and write everything under ``config.out`` (see the module)."""
    import torch

    from sandgym.agents import SamplingParams, TransformersPolicy, default_model_path
    from sandgym.envs import env_traits
    from sandgym.rollouts.evaluation import EpisodeBatches
    from sandgym.train.datasets import training_env_kwargs
    from sandgym.train.metrics import json_safe, plot_reward_curve

    started = time.perf_counter()
    traits = env_traits(config.env_id)
    base = default_model_path() if config.model == "default" else Path(config.model)
    config = _resolve_objective(config, traits.multi_turn, base)
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    _remove_earlier_outputs(out)
    (out / "config.json").write_text(json.dumps(asdict(config), indent=2) + "\n")
    if config.cpu_threads:
        torch.set_num_threads(config.cpu_threads)
    env_kwargs = training_env_kwargs(config.env_id, config.split, config.env_kwargs)
    stop = traits.stop_after_code_block
    metrics_path = out / "metrics.jsonl"
    metrics_path.write_text("")
    (out / "sft_log.jsonl").write_text("")
    rows: list[dict[str, Any]] = []
    adapter_dir = out / "adapter"
    trained = False  # whether adapter_dir holds this run's adapter (it then samples)
    with EpisodeBatches(config.env_id, env_kwargs=env_kwargs,
                        batch_size=config.generation_batch) as batches:
        shares = task_shares(batches.task_ids[:config.limit], config.rounds,
                             config.fresh_tasks)
        for round_, task_ids in enumerate(shares, start=1):
            t0 = time.perf_counter()
            policy = TransformersPolicy(adapter_dir if trained else base,
                                        name=f"rft-round{round_}")
            sampling = SamplingParams(temperature=config.temperature,
                                      max_new_tokens=config.max_new_tokens,
                                      seed=config.seed + round_, stop_after_code_block=stop)
            greedy: list[Any] = []
            try:
                trajectories = batches.play(policy, task_ids, samples=config.samples_per_task,
                                            sampling=sampling,
                                            max_turns=10 if traits.multi_turn else 1)
                if config.objective == "rpo" and config.pair_greedy and not sampling.greedy:
                    greedy = batches.play(policy, task_ids, samples=1, max_turns=1,
                                          sampling=replace(sampling, temperature=0.0))
            finally:
                policy.close()
            sample_s = time.perf_counter() - t0
            if config.objective == "rpo":
                examples = _pairs(trajectories, greedy, config.pairs_per_task)
                write_pairs(out / f"pairs_round{round_}.jsonl", examples)
            else:
                examples = select_examples(trajectories, config.keep_per_task)
            _write_samples(out / f"samples_round{round_}.jsonl", trajectories)
            row = _round_row(round_, trajectories, examples, sample_s)
            row["tasks"] = len(task_ids)
            if greedy:
                _write_samples(out / f"greedy_round{round_}.jsonl", greedy)
                row["greedy/pass_rate"] = _pass_rate(greedy)
                row["sandbox/grading_s"] += _grading_s(greedy)
                logger.info("round %d: greedy pass rate %.3f", round_,
                            row["greedy/pass_rate"] or 0.0)
            logger.info("round %d: sampled %d replies of %d tasks in %.0f s, pass rate %.3f, "
                        "%d tasks solved, %d %s kept", round_, len(trajectories),
                        len(task_ids), sample_s, row["reward/mean"] or 0.0,
                        row["tasks_solved"], len(examples),
                        "pairs" if config.objective == "rpo" else "examples")
            t1 = time.perf_counter()
            losses: list[float] = []
            if examples:
                # Fresh tasks: the adapter keeps training; every task: retrain from base.
                resume = adapter_dir if (config.fresh_tasks and trained) else None
                train = _prefer if config.objective == "rpo" else _fine_tune
                losses = train(base, examples, adapter_dir, config, round_, out, resume=resume)
                trained = True
            else:
                logger.warning("round %d: %s %d sampled replies; nothing to train on this "
                               "round", round_,
                               "no task both passed and failed among the"
                               if config.objective == "rpo" else "none passed of the",
                               len(trajectories))
            row.update({"sft/loss_first": losses[0] if losses else None,
                        "sft/loss_last": losses[-1] if losses else None,
                        "time/sft_s": time.perf_counter() - t1,
                        "time/round_s": time.perf_counter() - t0})
            rows.append(row)
            with metrics_path.open("a") as f:
                f.write(json.dumps(json_safe(row)) + "\n")
            if not config.fresh_tasks and not examples:
                break  # the next round would sample the same model again
    if not trained:
        what = ("no task had both a passed and a failed reply among"
                if config.objective == "rpo" else "none passed of")
        hint = ("sample more per task, or start from a stronger model (or, if every task "
                "passed every time, train on harder tasks)" if config.objective == "rpo"
                else "sample more per task or start from a stronger model")
        raise RuntimeError(f"{what} the {sum(r['episodes'] for r in rows)} sampled replies, "
                           f"so there is nothing to train on; {hint}")
    summary = _summarize(rows, time.perf_counter() - started, config.objective)
    (out / "summary.json").write_text(json.dumps(json_safe(summary), indent=2) + "\n")
    curve = plot_reward_curve(rows, out / "reward_curve.png",
                              f"Expert iteration on {config.env_id}", x_label="round")
    return RFTRunResult(out_dir=out, model_dir=adapter_dir, metrics_path=metrics_path,
                        curve_path=curve, summary=summary,
                        wall_s=time.perf_counter() - started)


def _resolve_objective(config: RFTRunConfig, multi_turn: bool, base: Path) -> RFTRunConfig:
    """``config`` with the objective that will run. ``auto`` takes rpo where it can work
    and sft elsewhere; an explicit rpo that cannot work is refused here, before the run
    directory is touched or anything is sampled."""
    if config.objective == "sft":
        return config
    problem = _rpo_problem(config, multi_turn, base)
    if config.objective == "auto":
        logger.info("objective auto: %s", f"sft (rpo cannot run: {problem})" if problem
                    else "rpo")
        return replace(config, objective="sft" if problem else "rpo")
    if problem:
        raise ValueError(f"objective 'rpo' cannot run: {problem}; use objective 'sft'")
    return config


def _rpo_problem(config: RFTRunConfig, multi_turn: bool, base: Path) -> str | None:
    """Why preference pairs cannot be trained on in this run, or None."""
    if multi_turn:
        return (f"{config.env_id} is multi-turn (each sample's later prompts differ, so no "
                "two replies share a prompt)")
    replies = config.samples_per_task + int(config.pair_greedy and config.temperature > 0)
    if replies < 2:
        return f"{replies} reply per task gives no pair (sample 2 or more, or pair greedy)"
    return unsupported_model(base)


def _remove_earlier_outputs(out: Path) -> None:
    """Remove an earlier run's adapter, samples, pairs, SFT checkpoints, summary and curve
    from ``out``: a run that trains nothing must not leave an old adapter for ``sandgym
    eval`` to score, nor an old summary beside its own config."""
    import shutil

    for path in [out / "adapter", out / "summary.json", out / "reward_curve.png",
                 *out.glob("sft_round*"), *out.glob("samples_round*.jsonl"),
                 *out.glob("pairs_round*.jsonl"), *out.glob("greedy_round*.jsonl")]:
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()


def _round_row(round_: int, trajectories: list[Any], examples: list[dict[str, Any]],
               sample_s: float) -> dict[str, Any]:
    scored = _scored(trajectories)
    passed = [t for t in scored if t.passed]
    lengths = [sum(len(ids) for ids in t.completion_token_ids) for t in scored
               if t.completion_token_ids]
    truncated = [t for t in scored if "length" in t.finish_reasons]
    grading = _grading_s(trajectories)
    return {
        "step": round_,
        "reward/mean": sum(t.final_reward for t in scored) / len(scored) if scored else None,
        "verdict/pass_rate": len(passed) / len(scored) if scored else None,
        "completion/mean_length": sum(lengths) / len(lengths) if lengths else None,
        "completion/truncated_share": len(truncated) / len(scored) if scored else None,
        "episodes": len(trajectories),
        "sandbox_errors": len(trajectories) - len(scored),
        "tasks_solved": len({str(t.task_id) for t in passed}),
        "examples": len(examples),
        "sandbox/grading_s": grading,
        "time/sample_s": sample_s,
    }


def _pairs(samples: list[Any], greedy: list[Any], per_task: int) -> list[dict[str, Any]]:
    """(passed, failed) pairs per task from the samples and the greedy replies; a task
    whose greedy reply failed gets its first pair against that reply. (Greedy replies
    are told apart by identity: `dpo_pairs` passes trajectories through as they are.)"""
    greedy_ids = {id(t) for t in greedy}
    return dpo_pairs(samples + greedy, max_pairs_per_task=per_task, passed_over_failed=True,
                     rejected_first=lambda t: id(t) in greedy_ids)


def _grading_s(trajectories: list[Any]) -> float:
    """Seconds the env (its sandbox) spent on these episodes."""
    return sum(float(t.timings.get("env_s", 0.0) or 0.0) for t in trajectories)


def _scored(trajectories: list[Any]) -> list[Any]:
    """The episodes with a verdict (no sandbox error, a reward)."""
    return [t for t in trajectories if not t.sandbox_error and t.final_reward is not None]


def _pass_rate(trajectories: list[Any]) -> float | None:
    """Share of the scored episodes (no sandbox error) that passed."""
    scored = _scored(trajectories)
    return sum(bool(t.passed) for t in scored) / len(scored) if scored else None


def _write_samples(path: Path, trajectories: list[Any]) -> None:
    with path.open("w") as f:
        for traj in trajectories:
            reply = next((m["content"] for m in reversed(traj.messages)
                          if m["role"] == "assistant"), "")
            f.write(json.dumps({"task_id": str(traj.task_id), "reward": traj.final_reward,
                                "passed": bool(traj.passed),
                                "sandbox_error": bool(traj.sandbox_error),
                                "reply": reply}) + "\n")


def _prefer(base: Path, pairs: list[dict[str, Any]], adapter_dir: Path,
            config: RFTRunConfig, round_: int, out: Path, *,
            resume: Path | None = None) -> list[float]:
    """RPO on ``pairs`` (see `sandgym.train.preference`); the step log goes where the SFT
    one does, ``sft_log.jsonl``."""
    settings = PreferenceSettings(beta=config.beta, learning_rate=config.lr,
                                  epochs=config.train_epochs, batch_size=config.batch_size,
                                  lora_r=config.lora_r, lora_alpha=config.lora_alpha,
                                  seed=config.seed)
    log_path = out / "sft_log.jsonl"

    def log(row: dict[str, Any]) -> None:
        with log_path.open("a") as f:
            f.write(json.dumps({"round": round_, **row}) + "\n")

    return train_preference(base, pairs, adapter_dir, settings, resume=resume, log=log)


def _fine_tune(base: Path, examples: list[dict[str, Any]], adapter_dir: Path,
               config: RFTRunConfig, round_: int, out: Path, *,
               resume: Path | None = None) -> list[float]:
    """LoRA SFT on ``examples`` (loss on the completion only): a new adapter on the base
    model, or, with ``resume``, that adapter trained further."""
    import warnings

    import torch
    from datasets import Dataset
    from transformers import TrainerCallback
    from trl import SFTConfig, SFTTrainer

    from sandgym.agents import load_model
    from sandgym.train.lora import lora_config

    model, tokenizer = load_model(base)
    peft_config: Any = None
    if resume is not None:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, str(resume), is_trainable=True)
    else:
        peft_config = lora_config(config.lora_r, config.lora_alpha)
    model.train()
    tokenizer.padding_side = "right"  # training pads on the right; generation on the left
    dataset = Dataset.from_list([{"prompt": e["prompt"], "completion": e["completion"]}
                                 for e in examples])
    losses: list[float] = []
    log_path = out / "sft_log.jsonl"

    class _LossLog(TrainerCallback):
        def on_log(self, args: Any, state: Any, control: Any, logs: Any = None,
                   **kwargs: Any) -> None:
            if logs and "loss" in logs:
                losses.append(float(logs["loss"]))
                with log_path.open("a") as f:
                    f.write(json.dumps({"round": round_, "step": state.global_step,
                                        "loss": float(logs["loss"])}) + "\n")

    on_gpu = torch.cuda.is_available()
    args = SFTConfig(
        output_dir=str(out / f"sft_round{round_}"), num_train_epochs=config.train_epochs,
        per_device_train_batch_size=config.batch_size, learning_rate=config.lr,
        lr_scheduler_type="constant", logging_steps=1, save_strategy="no",
        report_to="none", seed=config.seed, max_length=1024, completion_only_loss=True,
        # TRL turns checkpointing on by default; recomputing the forward pass in the
        # backward one took a third of the fine-tune's time here, to save memory a
        # small model's short replies do not need.
        gradient_checkpointing=False,
        use_cpu=not on_gpu, bf16=on_gpu and torch.cuda.is_bf16_supported(),
        dataloader_pin_memory=False, disable_tqdm=not config.progress)
    with warnings.catch_warnings(), _dataset_bars(config.progress):
        warnings.filterwarnings("ignore", message=".*padding_side.*")
        trainer = SFTTrainer(model=model, args=args, train_dataset=dataset,
                             processing_class=tokenizer, peft_config=peft_config,
                             callbacks=[_LossLog()])
        if not config.progress:
            # Without tqdm, transformers prints every log dict instead; the loss is in
            # sft_log.jsonl and the round's summary.
            from transformers.trainer_callback import PrinterCallback

            trainer.remove_callback(PrinterCallback)
        trainer.train()
    trainer.save_model(str(adapter_dir))
    tokenizer.padding_side = "left"
    tokenizer.save_pretrained(str(adapter_dir))
    return losses


@contextlib.contextmanager
def _dataset_bars(enabled: bool) -> Iterator[None]:
    """Hide the datasets library's per-map progress bars (SFT's dataset preparation)."""
    from datasets.utils import logging as ds_logging

    was = ds_logging.is_progress_bar_enabled()
    if not enabled:
        ds_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was and not enabled:
            ds_logging.enable_progress_bar()


def _summarize(rows: list[dict[str, Any]], wall_s: float, objective: str) -> dict[str, Any]:
    rewards = [r["reward/mean"] for r in rows]
    sample_s = sum(r["time/sample_s"] for r in rows)
    grading_s = sum(r["sandbox/grading_s"] for r in rows)
    return {
        "trainer": "rft",
        "objective": objective,
        "rounds": len(rows),
        "tasks_per_round": [r["tasks"] for r in rows],
        "reward_per_round": rewards,
        "reward_first": rewards[0] if rewards else None,
        "reward_last": rewards[-1] if rewards else None,
        "examples_per_round": [r["examples"] for r in rows],
        "tasks_solved_per_round": [r["tasks_solved"] for r in rows],
        "greedy_pass_rate_per_round": [r.get("greedy/pass_rate") for r in rows],
        "sample_s_total": sample_s,
        "sft_s_total": sum(r["time/sft_s"] for r in rows),
        "grading_s_total": grading_s,
        "grading_share": grading_s / wall_s if wall_s > 0 else None,
        "wall_s": wall_s,
    }
