"""`sandgym train grpo`: GRPO (TRL) on execution rewards, top to bottom.

One function, `train_grpo`, in the order things happen: pick the model, build the
prompts, choose how rewards are computed (a sandboxed reward function, a multi-turn
environment adapter, or Ray rollouts), wrap the model with LoRA, train, save, and write
the metrics, the reward curve and a summary. Metric names are prefixed: ``reward/``,
``verdict/``, ``sandbox/``, ``time/`` (see `sandgym.train.metrics`).

Three modes, picked by ``mode="auto"`` from the env:

* ``reward`` (one-turn envs that score batches): TRL generates, `execution_reward`
  grades with the env's own ``score``;
* ``tools`` (every other env): `environment_factory` turns the env's declared tools
  into methods TRL offers the model;
* ``ray``: `RayRolloutFunc` plays episodes on the rollout cluster.
"""

from __future__ import annotations

import json
import logging
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sandgym.train.interrupt import GracefulStop

logger = logging.getLogger(__name__)

__all__ = ["MODES", "GRPORunConfig", "GRPORunResult", "choose_mode", "train_grpo"]

MODES = ("auto", "reward", "tools", "ray")


@dataclass
class GRPORunConfig:
    """Settings of one GRPO run; every field has a default that runs on a laptop CPU."""

    env_id: str = field(default="sandgym/PythonBasics-v0", metadata={
        "help": "Registered env to train on.", "cli": "--env"})
    split: str | None = field(default="train", metadata={
        "help": "Task split to train on (the env's split= argument); a choice that holds "
        "held-out test tasks (test, all) is refused."})
    model: str = field(default="default", metadata={
        "help": "'default' (SmolLM2-135M-Instruct from the local cache) or a model directory."})
    lora: bool = field(default=True, metadata={
        "help": "Train a LoRA adapter (--lora) or every weight (--full).",
        "cli": "--lora/--full"})
    steps: int = field(default=30, metadata={"help": "Optimizer steps."})
    num_generations: int = field(default=4, metadata={
        "help": "Completions per prompt (the GRPO group size)."})
    prompts_per_step: int = field(default=2, metadata={
        "help": "Distinct prompts per step; the batch is prompts_per_step * num_generations."})
    max_completion_length: int = field(default=160, metadata={
        "help": "Most new tokens per completion (per turn budget in tools mode: the total). "
        "Code envs stop each reply after its code block, so this caps the code, not prose."})
    learning_rate: float | None = field(default=None, metadata={
        "help": "AdamW learning rate; None: 1e-4 for LoRA, 1e-6 for a full fine-tune."})
    temperature: float = field(default=0.9, metadata={"help": "Sampling temperature."})
    beta: float = field(default=0.0, metadata={
        "help": "KL coefficient against the initial model (0 skips the reference pass)."})
    mask_truncated_completions: bool = field(default=True, metadata={
        "help": "Leave completions cut by the token budget out of the loss (TRL's fix for "
        "training on cut-off answers); they still count in the reward curve.",
        "cli": "--mask-truncated/--no-mask-truncated"})
    stop_after_code_block: bool | None = field(default=None, metadata={
        "help": "reward mode: generate in-process and end each reply after its code block "
        "(None: when the env declares stop_after_code_block).",
        "cli": "--stop-after-code-block/--no-stop-after-code-block"})
    reward_mode: str | None = field(default=None, metadata={
        "help": "binary | fraction | graded; None: the env's default."})
    mode: str = field(default="auto", metadata={
        "help": "auto | reward | tools | ray (auto: reward for one-turn envs that score "
        "batches, tools for every other env)."})
    limit: int | None = field(default=None, metadata={"help": "Train on the first N tasks."})
    out: str = field(default="runs/grpo", metadata={"help": "Run directory."})
    resume: bool = field(default=False, metadata={
        "help": "Continue the run that Ctrl-C stopped in --out (from its newest "
        "checkpoint-N) up to --steps; pass the same options as the first time. Without it, "
        "an --out holding a checkpoint is refused rather than overwritten.",
        "cli": "--resume/--no-resume"})
    report_to: str = field(default="none", metadata={
        "help": "TRL/transformers logger: none | tensorboard | wandb."})
    seed: int = field(default=0, metadata={"help": "Seed of sampling, shuffling and init."})
    lora_r: int = field(default=16, metadata={"help": "LoRA rank."})
    lora_alpha: int = field(default=32, metadata={"help": "LoRA alpha."})
    pool_size: int | None = field(default=None, metadata={
        "help": "Sandboxes in the training pool; None: one per completion of a step."})
    max_turns: int | None = field(default=None, metadata={
        "help": "Tools / ray modes: most tool calls (turns) per episode; None: the env's "
                "declared limit (max_episode_turns), else 3."})
    num_workers: int = field(default=2, metadata={"help": "Ray mode: rollout workers."})
    address: str | None = field(default=None, metadata={
        "help": "Ray mode: cluster address ('auto' joins a running one); None starts one."})
    env_kwargs: dict[str, Any] = field(default_factory=dict, metadata={
        "help": "Keyword arguments for gymnasium.make (e.g. tasks=...)."})
    progress: bool = field(default=True, metadata={
        "help": "Show TRL's progress bar and per-step log dicts (off: only metrics.jsonl)."})
    device: str | None = field(default=None, metadata={
        "help": "cpu | cuda (None: cuda when a GPU is visible, else cpu)."})
    use_vllm: bool = field(default=False, metadata={
        "help": "Generate with vLLM (TRL's colocate mode; needs a GPU and the vllm "
        "package). Replaces the in-process code-block stop.",
        "cli": "--use-vllm/--no-vllm"})
    cpu_threads: int | None = field(default=None, metadata={
        "help": "torch threads on CPU; None: half the cores (at least 1). Oversubscribed "
        "OpenMP threads on a busy machine cost 10x (measured: 151 s vs 13 s per generate)."})

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {self.mode!r}")
        if self.steps < 1:
            raise ValueError(f"steps must be >= 1, got {self.steps}")
        if self.num_generations < 2:
            raise ValueError(f"num_generations must be >= 2 (GRPO compares completions of a "
                             f"prompt), got {self.num_generations}")
        if self.prompts_per_step < 1:
            raise ValueError(f"prompts_per_step must be >= 1, got {self.prompts_per_step}")
        if self.max_turns is not None and self.max_turns < 1:
            raise ValueError(f"max_turns must be >= 1, got {self.max_turns}")
        if self.split == "test":
            raise ValueError("split='test' would train on the held-out tasks that measure the "
                             "gain; train on 'train' (or your own split) and evaluate on test")
        if self.device not in (None, "cpu", "cuda") and not str(self.device).startswith(
                "cuda:"):
            raise ValueError(f"device must be cpu, cuda or cuda:N, got {self.device!r}")
        if self.report_to not in ("none", "tensorboard", "wandb"):
            raise ValueError(f"report_to must be none, tensorboard or wandb, got "
                             f"{self.report_to!r}")

    @property
    def batch_size(self) -> int:
        """Completions per optimizer step."""
        return self.num_generations * self.prompts_per_step


@dataclass
class GRPORunResult:
    """Where a run left its outputs, and its headline figures."""

    out_dir: Path
    model_dir: Path
    metrics_path: Path
    curve_path: Path | None
    summary: dict[str, Any]
    mode: str
    wall_s: float
    sources: list[Any] = field(default_factory=list)
    """The reward sources (execution reward, environment factory or rollout function),
    closed, with their histories: what each step graded."""


def choose_mode(env_id: str, mode: str = "auto") -> str:
    """``reward`` for one-turn envs that score batches, ``tools`` for every other env.

    Read from what the env declares (`sandgym.envs.env_traits`), never from its class.
    """
    if mode != "auto":
        return mode
    from sandgym.envs import env_traits

    traits = env_traits(env_id)
    return "reward" if traits.batch_scoring and not traits.multi_turn else "tools"


def inject_policies(mode: str, env_kwargs: dict[str, Any]) -> tuple[dict[str, Any], Any]:
    """Env kwargs with ``"policy:SPEC"`` values as agents, and who closes them (or None).

    In ``reward`` and ``tools`` mode the envs run in this process, so the other parties
    of an episode (a simulated user, a judge) are built here once
    (`sandgym.rollouts.injected`); in ``ray`` mode the strings travel to the workers,
    which build their own.
    """
    from sandgym.rollouts.injected import POLICY_PREFIX, InjectedPolicies

    if mode == "ray" or not any(isinstance(v, str) and v.startswith(POLICY_PREFIX)
                                for v in env_kwargs.values()):
        return env_kwargs, None

    injected = InjectedPolicies()
    try:
        return injected.resolve(env_kwargs), injected
    except BaseException:
        injected.close()
        raise


def _check_device(config: GRPORunConfig) -> bool:
    """Whether the run trains on a GPU; a request that cannot be met fails here, clearly."""
    import importlib.util

    import torch

    wants = config.device or ("cuda" if torch.cuda.is_available() else "cpu")
    on_gpu = wants.startswith("cuda")
    if on_gpu and not torch.cuda.is_available():
        raise RuntimeError(f"device {wants!r} was asked for but torch sees no GPU "
                           f"(torch {torch.__version__}); use --device cpu")
    if config.use_vllm:
        if not on_gpu:
            raise RuntimeError("--use-vllm needs a GPU (vLLM generates on CUDA); drop it on CPU")
        if importlib.util.find_spec("vllm") is None:
            raise RuntimeError("--use-vllm needs the vllm package: pip install vllm")
    return on_gpu


def _limit_cpu_threads(threads: int | None) -> None:
    """On CPU, use fewer torch threads than cores: spinning OpenMP threads that compete
    with sandboxes, Ray workers or other jobs for the same cores slow training tenfold."""
    import os

    import torch

    if torch.cuda.is_available():
        return
    threads = threads or max(1, (os.cpu_count() or 2) // 2)
    torch.set_num_threads(threads)
    logger.info("training on CPU with %d torch threads", threads)


def _warn_config_changes(out: Path, config: GRPORunConfig) -> None:
    """A resumed run should use the first run's options; say which ones differ."""
    path = out / "config.json"
    if not path.is_file():
        return
    before = json.loads(path.read_text())
    now = json.loads(json.dumps(asdict(config)))
    changed = sorted(k for k in now if k not in ("resume", "steps", "progress")
                     and before.get(k) != now[k])
    if changed:
        logger.warning("resuming with options that differ from the first run: %s",
                       ", ".join(f"{k}={before.get(k)!r}->{now[k]!r}" for k in changed))


_DEFAULT_MAX_TURNS = 3


def _turn_limit(config: GRPORunConfig, env_kwargs: dict[str, Any]) -> int:
    """The episode's turn cap: ``config.max_turns``, else what the env declares, else 3.

    Why the env's limit: an episode the cap cuts short is finished the env's way
    (``finish()``), and for a game that is the learner conceding. PrisonersDilemma-v0 plays
    5 rounds; the old fixed cap of 3 turned every game into a forfeit (-5).
    """
    import gymnasium

    from sandgym.envs.contract import episode_turn_limit

    declared = None
    try:
        env = gymnasium.make(config.env_id, **env_kwargs)
        try:
            declared = episode_turn_limit(env)
        finally:
            env.close()
    except Exception:  # noqa: BLE001 - the run itself reports a bad env; this only sizes a cap
        logger.debug("could not read %s's turn limit", config.env_id, exc_info=True)
    if config.max_turns is None:
        return declared or _DEFAULT_MAX_TURNS
    if declared is not None and config.max_turns < declared:
        logger.warning("max_turns %d is below %s's own turn limit %d: an episode cut by it is "
                       "finished the env's way (a game the learner is still playing counts "
                       "as conceded)", config.max_turns, config.env_id, declared)
    return config.max_turns


def train_grpo(config: GRPORunConfig) -> GRPORunResult:
    """Run GRPO on execution feedback and write everything under ``config.out``.

    Writes ``metrics.jsonl``, ``reward_curve.png``, ``summary.json``, ``config.json``,
    ``trainer_log.json`` (TRL's log history), ``episodes.jsonl`` (each graded episode,
    tagged with its step), and ``adapter/`` (LoRA) or ``model/``.
    Every sandbox the run started is released when it returns or raises.

    Raises:
        TrainingInterrupted: Ctrl-C stopped the run (a KeyboardInterrupt). After the first
            press the step in flight finished and ``checkpoint-N`` was saved; logs hold
            steps 1..N exactly once; ``resume=True`` continues from there.
        ValueError: ``resume`` without a checkpoint in ``out``, or a checkpoint without it.
    """
    from sandgym.train.checkpoints import checkpoint_step, last_checkpoint, resume_point
    from sandgym.train.interrupt import GracefulStop, TrainingInterrupted

    started = time.perf_counter()
    out = Path(config.out)
    checkpoint = resume_point(out, config.resume)
    resume_at = checkpoint_step(checkpoint) if checkpoint is not None else None
    if checkpoint is not None:
        _warn_config_changes(out, config)
        logger.info("resuming %s from %s (step %d of %d)", out, checkpoint.name, resume_at,
                    config.steps)
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.json").write_text(json.dumps(asdict(config), indent=2) + "\n")
    stop = GracefulStop()
    with stop.installed():  # from here on, Ctrl-C means: finish the step, save, stop
        try:
            return _train(config, out, checkpoint, stop, started)
        except TrainingInterrupted:
            raise
        except KeyboardInterrupt as e:
            # A second Ctrl-C: the step in flight is dropped (its log lines, if any, are
            # trimmed on resume); the newest checkpoint, this run's or the one it resumed
            # from, is where the next run starts.
            last = last_checkpoint(out)
            raise TrainingInterrupted(out, checkpoint_step(last) if last else 0, last,
                                      aborted=True) from e


def _train(config: GRPORunConfig, out: Path, checkpoint: Path | None, graceful: GracefulStop,
           started: float) -> GRPORunResult:
    """`train_grpo` once the run directory is settled: model, sources, trainer."""
    import torch
    from trl import GRPOConfig, GRPOTrainer

    from sandgym.agents import default_model_path, load_model
    from sandgym.train.checkpoints import (
        checkpoint_step,
        remove_checkpoints,
        trim_jsonl,
    )
    from sandgym.train.datasets import prompts_dataset, training_env_kwargs
    from sandgym.train.episode_log import EpisodeLog
    from sandgym.train.interrupt import TrainingInterrupted, sigint_held
    from sandgym.train.metrics import MetricsCallback, json_safe, summarize

    resume_at = checkpoint_step(checkpoint) if checkpoint is not None else None
    mode = choose_mode(config.env_id, config.mode)
    pool_size = config.pool_size or config.batch_size
    torch.manual_seed(config.seed)
    on_gpu = _check_device(config)
    if not on_gpu:
        _limit_cpu_threads(config.cpu_threads)

    # 1. Model: the local default or a directory; never a hub download.
    model_path = default_model_path() if config.model == "default" else Path(config.model)
    model, tokenizer = load_model(model_path, device="cuda" if on_gpu else "cpu")
    model.train()

    # 2. Prompts and reward sources, by mode.
    reward_funcs: list[Any] = []
    timers: list[Any] = []
    extra: dict[str, Any] = {}
    env_kwargs = training_env_kwargs(config.env_id, config.split, config.env_kwargs)
    env_kwargs, injected = inject_policies(mode, env_kwargs)
    max_turns = _turn_limit(config, env_kwargs) if mode in ("tools", "ray") else 1
    if mode == "reward":
        from sandgym.envs import env_traits
        from sandgym.train.rewards import execution_reward

        dataset = prompts_dataset(config.env_id, limit=config.limit, env_kwargs=env_kwargs)
        reward = execution_reward(config.env_id, reward_mode=config.reward_mode,
                                  pool_size=pool_size, **env_kwargs)
        reward_funcs, timers = [reward], [reward]
        stop = config.stop_after_code_block
        if stop is None:
            stop = env_traits(config.env_id).stop_after_code_block
        if stop and not config.use_vllm:
            from sandgym.train.local_rollout import CodeBlockRollout

            extra["rollout_func"] = CodeBlockRollout(seed=config.seed)
    elif mode == "tools":
        from sandgym.train.chat_template import tool_calling_tokenizer
        from sandgym.train.environment import environment_factory

        tool_kwargs = dict(env_kwargs)
        if config.reward_mode:
            tool_kwargs["reward_mode"] = config.reward_mode
        factory = environment_factory(config.env_id, pool_size=pool_size, **tool_kwargs)
        dataset = prompts_dataset(config.env_id, limit=config.limit,
                                  system_prompt=factory.system_prompt, env_kwargs=env_kwargs)
        tokenizer = tool_calling_tokenizer(tokenizer)
        extra["environment_factory"] = factory
        timers = [factory]
    else:
        from sandgym.train.rollout_func import RayRolloutFunc, rollout_reward

        dataset = prompts_dataset(config.env_id, limit=config.limit, env_kwargs=env_kwargs)
        rollout = RayRolloutFunc(config.env_id, model=str(model_path),
                                 num_workers=config.num_workers, address=config.address,
                                 max_turns=max_turns, work_dir=out / "rollout_policy",
                                 env_kwargs=env_kwargs)
        reward_funcs, timers = [rollout_reward], [rollout]
        extra["rollout_func"] = rollout
    if len(dataset) < config.prompts_per_step:
        raise ValueError(f"{config.env_id} gives {len(dataset)} prompts; prompts_per_step is "
                         f"{config.prompts_per_step}")

    # 3. LoRA (or not), and TRL's configuration.
    peft_config = None
    if config.lora:
        from sandgym.train.lora import lora_config

        peft_config = lora_config(config.lora_r, config.lora_alpha)
    vllm = {"use_vllm": True, "vllm_mode": "colocate"} if config.use_vllm else {}
    args = GRPOConfig(
        output_dir=str(out), max_steps=config.steps, seed=config.seed,
        per_device_train_batch_size=config.batch_size, num_generations=config.num_generations,
        max_completion_length=config.max_completion_length, temperature=config.temperature,
        learning_rate=config.learning_rate or (1e-4 if config.lora else 1e-6),
        beta=config.beta, mask_truncated_completions=config.mask_truncated_completions,
        logging_steps=1, save_strategy="no", report_to=config.report_to,
        bf16=on_gpu and torch.cuda.is_bf16_supported(),
        use_cpu=not on_gpu, gradient_checkpointing=False, dataloader_pin_memory=False,
        max_tool_calling_iterations=max_turns if mode == "tools" else None,
        disable_tqdm=not config.progress, **vllm,
    )
    closers = list(timers) + ([injected] if injected is not None else [])
    metrics = MetricsCallback(out, timers=timers, closers=closers, resume_at=resume_at,
                              title=f"GRPO on {config.env_id} ({mode} mode)")
    if resume_at is not None:
        trim_jsonl(out / "episodes.jsonl", resume_at)
    episodes = EpisodeLog(out, sources=timers, append=resume_at is not None)

    # 4. Train. Sandboxes are released whatever happens; Ctrl-C finishes the step in
    # flight and saves a checkpoint (see sandgym.train.interrupt).
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*experimental feature.*")
            trainer = GRPOTrainer(model=model, reward_funcs=reward_funcs or None, args=args,
                                  train_dataset=dataset, processing_class=tokenizer,
                                  peft_config=peft_config,
                                  callbacks=[metrics, episodes, graceful], **extra)
        if not config.progress:
            from transformers.trainer_callback import PrinterCallback

            trainer.remove_callback(PrinterCallback)
        trainer.train(resume_from_checkpoint=str(checkpoint) if checkpoint else None)
    finally:
        with sigint_held():
            for closer in closers:
                closer.close()

    (out / "trainer_log.json").write_text(json.dumps(trainer.state.log_history, indent=1))
    if graceful.stopped_at is not None and graceful.stopped_at < config.steps:
        saved = out / f"checkpoint-{graceful.stopped_at}"
        raise TrainingInterrupted(out, graceful.stopped_at, saved, aborted=False)

    # 5. Save the adapter (or model) and the logs.
    model_dir = out / ("adapter" if config.lora else "model")
    trainer.save_model(str(model_dir))
    tokenizer.save_pretrained(str(model_dir))
    remove_checkpoints(out)  # the run is complete: nothing is left to resume
    summary = summarize(metrics.rows)
    summary.update(mode=mode, env_id=config.env_id, wall_s=time.perf_counter() - started)
    (out / "summary.json").write_text(json.dumps(json_safe(summary), indent=2, default=str) + "\n")
    curve = out / "reward_curve.png"
    return GRPORunResult(out_dir=out, model_dir=model_dir, metrics_path=metrics.path,
                         curve_path=curve if curve.exists() else None, summary=summary,
                         mode=mode, wall_s=time.perf_counter() - started, sources=timers)
