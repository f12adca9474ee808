"""GRPO batches from the Ray rollout cluster: a ``rollout_func`` for ``GRPOTrainer``.

TRL 1.16's contract (``GRPOTrainer._generate``): ``rollout_func(prompts, trainer)``
gets this process's prompts (each already repeated ``num_generations`` times by the
sampler) and returns a dict with ``prompt_ids``, ``completion_ids`` and ``logprobs``
(one entry per prompt); any other key is forwarded to the reward functions, one value
per completion; an ``env_mask`` key marks environment tokens inside a multi-turn
completion (0), which the loss skips.

`RayRolloutFunc` plays each prompt's task as a full episode on `RolloutWorker`
actors (each with its own sandbox pool and a copy of the policy), and returns the
episode's tokens plus its reward and verdict (``env_reward``, ``verdict``,
``sandbox_error``); `rollout_reward` hands ``env_reward`` to TRL. The workers follow
the trainer: before each batch the trainer's current weights (the LoRA adapter, or the
full model) are written to ``work_dir`` and every worker's policy reloads them before
it generates, so samples come from the policy being trained.

When it pays off: on one machine this is a correctness path, slower than TRL's own
generation (weights go through the disk, the model is loaded once more per worker).
It pays off with a GPU inference server per node: point the workers at it
(``policy="openai:http://node:8000/v1#model"`` in a subclass, weights synced by the
server) and sandboxed episodes of many nodes fill one batch while the trainer's GPU
only trains.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import shutil
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sandgym.agents.base import Conversation, Generation, Policy, SamplingParams

logger = logging.getLogger(__name__)

__all__ = ["RayRolloutFunc", "SyncedPolicy", "rollout_reward", "trajectory_to_sample"]

_LATEST = "LATEST.json"
WORKER_RETRIES = 2
"""Times one GRPO step replaces a dead worker and replays its episodes before failing."""


class SyncedPolicy(Policy):
    """A local model that reloads the trainer's newest weights before it generates.

    The trainer side writes ``sync_dir/step-N/`` (a PEFT adapter or ``model.safetensors``)
    and then ``sync_dir/LATEST.json`` (atomically); this policy checks the marker before
    every ``generate`` and loads what changed.

    Args:
        model_dir: the base model directory (the one the trainer started from).
        sync_dir: where the trainer publishes weights.
        threads: torch threads in this process (None leaves torch's choice).
    """

    def __init__(self, model_dir: str, sync_dir: str, threads: int | None = 1) -> None:
        import torch

        from sandgym.agents.transformers_policy import TransformersPolicy

        if threads:
            torch.set_num_threads(threads)
        self._inner = TransformersPolicy(model_dir, name="grpo-policy")
        self.name = "grpo-policy"
        self.sync_dir = Path(sync_dir)
        self.loaded_step: int | None = None

    @property
    def tokenizer(self) -> Any:
        """The base model's tokenizer."""
        return self._inner.tokenizer

    def sync(self) -> None:
        """Load the newest published weights, if newer than the loaded ones."""
        marker = self.sync_dir / _LATEST
        if not marker.is_file():
            return
        latest = json.loads(marker.read_text())
        if latest["step"] == self.loaded_step:
            return
        path = Path(latest["path"])
        if latest["kind"] == "adapter":
            from peft import PeftModel, set_peft_model_state_dict
            from peft.utils import load_peft_weights

            model = self._inner.model
            if isinstance(model, PeftModel):
                set_peft_model_state_dict(model, load_peft_weights(str(path)))
            else:
                self._inner.model = PeftModel.from_pretrained(model, str(path))
            self._inner.model.eval()
        else:
            from safetensors.torch import load_model

            load_model(self._inner.model, str(path / "model.safetensors"))
        self.loaded_step = latest["step"]
        acks = self.sync_dir / "acks"
        acks.mkdir(exist_ok=True)
        (acks / f"{os.getpid()}-step-{self.loaded_step}").touch()  # who loaded what
        logger.info("policy synced to trainer step %s", self.loaded_step)

    def generate(self, conversations: Sequence[Conversation],
                 sampling: SamplingParams | None = None) -> list[Generation]:
        """Sync, then generate with the inner `TransformersPolicy`."""
        self.sync()
        return self._inner.generate(conversations, sampling)

    def close(self) -> None:
        """Drop the model."""
        self._inner.close()


class _PolicyFactory:
    """Picklable zero-argument factory run once in each worker."""

    def __init__(self, model_dir: str, sync_dir: str) -> None:
        self.model_dir = model_dir
        self.sync_dir = sync_dir
        self.__name__ = "grpo-policy"

    def __call__(self) -> SyncedPolicy:
        return SyncedPolicy(self.model_dir, self.sync_dir)


def trajectory_to_sample(record: Any) -> dict[str, Any]:
    """One GRPO sample from a trajectory (or its record): tokens, mask, logprobs, reward.

    One turn: the completion is the generated tokens. Several turns: it is the whole
    conversation after the first prompt (model tokens, then the template and the env's
    reply, and so on), with ``env_mask`` 1 on model tokens only and logprob 0.0 on
    environment tokens (they are masked out of the loss).
    """
    from sandgym.agents.trajectory import Trajectory

    traj = record if isinstance(record, Trajectory) else Trajectory.from_record(record)
    prompts = traj.prompt_token_ids or [[]]
    completions = traj.completion_token_ids
    logprobs = traj.logprobs
    prompt_ids = list(prompts[0]) if len(prompts) else []
    reward = traj.final_reward
    if reward is not None and not math.isfinite(reward):
        reward = None
    sample = {"env_reward": None if traj.sandbox_error else reward,
              "verdict": "sandbox_error" if traj.sandbox_error
              else (traj.verdict.status or None),
              "sandbox_error": traj.sandbox_error, "num_turns": traj.num_turns}
    token_ids, mask = traj.token_ids, traj.loss_mask
    if len(completions) <= 1 or token_ids is None or mask is None:
        completion = completions[0] if completions else []
        sample.update(prompt_ids=prompt_ids, completion_ids=completion,
                      logprobs=(logprobs[0] if logprobs else [0.0] * len(completion)),
                      env_mask=[1] * len(completion))
        return sample
    start = len(prompt_ids)
    completion, env_mask = list(token_ids[start:]), list(mask[start:])
    flat = [lp for turn in logprobs for lp in turn]
    filled, k = [], 0
    for m in env_mask:
        filled.append(flat[k] if m and k < len(flat) else 0.0)
        k += 1 if m else 0
    sample.update(prompt_ids=prompt_ids, completion_ids=completion, logprobs=filled,
                  env_mask=env_mask)
    return sample


class RayRolloutFunc:
    """``GRPOTrainer(rollout_func=RayRolloutFunc(env_id))``: episodes on Ray workers.

    Args:
        env_id: the env the prompts come from (`sandgym.train.prompts_dataset`).
        model: base model directory of the trainer; ``"default"`` for the shipped model.
        num_workers: `RolloutWorker` actors.
        address: None starts a private local Ray; ``"auto"`` joins a running cluster.
        max_turns: most policy replies per episode.
        max_new_tokens: tokens per reply; None: the trainer's ``max_completion_length``.
        work_dir: where the trainer's weights are published for the workers (a shared
            filesystem on a multi-node cluster).
        env_kwargs: keyword arguments for ``gymnasium.make`` in the workers.
        timeout_s: most seconds one batch may take.

    Example:
        >>> rollout = RayRolloutFunc("sandgym/PythonTests-v0")         # doctest: +SKIP
        >>> trainer = GRPOTrainer(model, reward_funcs=[rollout_reward], args=args,
        ...                       train_dataset=prompts_dataset("sandgym/PythonTests-v0"),
        ...                       rollout_func=rollout)
    """

    def __init__(self, env_id: str, *, model: str = "default", num_workers: int = 2,
                 address: str | None = None, max_turns: int = 1,
                 max_new_tokens: int | None = None, work_dir: str | os.PathLike[str] = "runs/"
                 "rollout_policy", env_kwargs: dict[str, Any] | None = None,
                 timeout_s: float = 900.0) -> None:
        from sandgym.train.datasets import env_prompts

        if num_workers < 1:
            raise ValueError(f"num_workers must be >= 1, got {num_workers}")
        self.env_id = env_id
        self.model = model
        self.num_workers = num_workers
        self.address = address
        self.max_turns = max_turns
        self.max_new_tokens = max_new_tokens
        self.work_dir = Path(work_dir)
        self.env_kwargs = dict(env_kwargs or {})
        self.timeout_s = timeout_s
        task_ids, observations, _ = env_prompts(env_id, env_kwargs=self.env_kwargs)
        self._task_by_prompt = dict(zip(observations, task_ids, strict=True))
        self.__name__ = "ray_rollout"
        self._lock = threading.Lock()
        self._stack: contextlib.ExitStack | None = None
        self._workers: list[Any] = []
        self._worker_args: tuple[tuple[Any, ...], dict[str, Any]] = ((), {})
        self.worker_restarts = 0
        self._published_step: int | None = None
        self._calls = 0
        self.grading_s_total = 0.0
        self.history: list[list[dict[str, Any]]] = []
        """Records of each call (one GRPO batch each), oldest first; the last 100 kept."""

    # ------------------------------------------------------------------ TRL interface

    def __call__(self, prompts: list[Any], trainer: Any) -> dict[str, list[Any]]:
        """Play one episode per prompt; return the GRPO batch (see the module docstring)."""
        from sandgym.agents.trajectory import Trajectory
        from sandgym.rollouts.config import EpisodeSpec, episode_id, episode_seed

        with self._lock:
            self._ensure_workers(trainer, len(prompts))
            self._publish(trainer)
            # Number batches by the trainer's step, not by calls in this process: a run
            # resumed from a checkpoint continues the ids (and seeds) instead of reusing
            # the first run's episode ids.
            step = getattr(getattr(trainer, "state", None), "global_step", 0) or 0
            self._calls = max(self._calls + 1, step + 1)
            specs = []
            for i, prompt in enumerate(prompts):
                task_id = self._task_of(prompt)
                eid = episode_id(self.env_id, task_id, f"grpo{self._calls}-{i}")
                specs.append(EpisodeSpec(eid, task_id, i, episode_seed(eid)))
            records = self._play(specs)
        self.history.append(records)
        del self.history[:-100]
        trajs = [Trajectory.from_record(r) for r in records]  # decoded once
        # Episodes of a worker's batch step concurrently and workers run in parallel:
        # the sandbox wall time of a call is about the slowest episode's env time.
        self.grading_s_total += max((t.timings.get("env_s", 0.0) for t in trajs), default=0.0)
        samples = [trajectory_to_sample(t) for t in trajs]
        keys = ("prompt_ids", "completion_ids", "logprobs", "env_reward", "verdict",
                "sandbox_error", "num_turns")
        batch = {k: [s[k] for s in samples] for k in keys}
        if self.max_turns > 1:
            batch["env_mask"] = [s["env_mask"] for s in samples]
        return batch

    def _task_of(self, prompt: Any) -> str:
        text = prompt
        if isinstance(prompt, list):
            users = [m.get("content") for m in prompt if m.get("role") == "user"]
            text = users[-1] if users else ""
        try:
            return self._task_by_prompt[text]
        except KeyError:
            raise ValueError(f"RayRolloutFunc({self.env_id}): no task has the prompt "
                             f"{str(text)[:80]!r}; build the dataset with "
                             f"prompts_dataset({self.env_id!r})") from None

    def _play(self, specs: list[Any]) -> list[dict[str, Any]]:
        """Each worker plays a share; a worker that dies is replaced and its share
        replayed (at most ``WORKER_RETRIES`` times), so a GRPO step survives it and every
        prompt gets exactly one episode."""
        import ray
        from ray.exceptions import RayActorError

        from sandgym.rollouts.errors import RolloutError

        per_worker = math.ceil(len(specs) / len(self._workers))
        chunks = {w: specs[w * per_worker:(w + 1) * per_worker]
                  for w in range(len(self._workers))}
        chunks = {w: chunk for w, chunk in chunks.items() if chunk}
        by_id: dict[str, dict[str, Any]] = {}
        for attempt in range(WORKER_RETRIES + 1):
            refs = {w: self._workers[w].submit(chunk) for w, chunk in chunks.items()}
            lost: dict[int, list[Any]] = {}
            for w, ref in refs.items():
                try:
                    result = ray.get(ref, timeout=self.timeout_s)
                except RayActorError as e:
                    if attempt == WORKER_RETRIES:
                        raise RolloutError(f"rollout worker {w} died {attempt + 1} times in "
                                           f"one GRPO step; last error: {e}") from e
                    logger.warning("rollout worker %d died (%s); replacing it and replaying "
                                   "its %d episode(s)", w, str(e).splitlines()[0][:200],
                                   len(chunks[w]))
                    self._replace_worker(w)
                    lost[w] = chunks[w]
                else:
                    by_id.update((r["episode_id"], r) for r in result["records"])
            if not lost:
                break
            chunks = lost
        return [by_id[spec.episode_id] for spec in specs]

    def _replace_worker(self, index: int) -> None:
        from sandgym.rollouts.worker import RolloutWorker

        self._workers[index].kill()
        self._workers[index] = RolloutWorker(self.env_id, *self._worker_args[0],
                                             **self._worker_args[1])
        self.worker_restarts += 1

    # ------------------------------------------------------------------ workers

    def _ensure_workers(self, trainer: Any, batch: int) -> None:
        if self._workers:
            return
        from sandgym.agents import SamplingParams, default_model_path
        from sandgym.rollouts.config import RolloutConfig
        from sandgym.rollouts.driver import ray_session
        from sandgym.rollouts.worker import RolloutWorker

        model_dir = str(default_model_path() if self.model == "default" else Path(self.model))
        self.work_dir.mkdir(parents=True, exist_ok=True)
        (self.work_dir / _LATEST).unlink(missing_ok=True)
        per_worker = max(1, math.ceil(batch / self.num_workers))
        config = RolloutConfig(batch_size=per_worker, max_turns=self.max_turns,
                               env_kwargs=self.env_kwargs, max_attempts=1)
        sampling = SamplingParams(
            temperature=float(trainer.temperature), top_p=float(trainer.top_p or 1.0),
            max_new_tokens=int(self.max_new_tokens or trainer.max_completion_length))
        self._stack = contextlib.ExitStack()
        self._stack.enter_context(ray_session(self.address, num_workers=self.num_workers,
                                              config=config))
        factory = _PolicyFactory(model_dir, str(self.work_dir.resolve()))
        self._worker_args = ((factory, config), {"sampling": sampling})
        self._workers = [RolloutWorker(self.env_id, factory, config, sampling=sampling)
                         for _ in range(self.num_workers)]
        logger.info("ray rollouts: %d workers x %d episodes on %s", self.num_workers,
                    per_worker, self.env_id)

    def _publish(self, trainer: Any) -> None:
        """Write the trainer's current weights where the workers' policies read them."""
        step = int(trainer.state.global_step)
        if step == self._published_step:
            return
        started = time.perf_counter()
        model = trainer.accelerator.unwrap_model(trainer.model)
        target = self.work_dir / f"step-{step}"
        if target.exists():
            shutil.rmtree(target)
        kind = "adapter" if hasattr(model, "peft_config") else "full"
        if kind == "adapter":
            model.save_pretrained(str(target))
        else:
            from safetensors.torch import save_model

            target.mkdir(parents=True)
            save_model(model, str(target / "model.safetensors"))
        tmp = self.work_dir / f".{_LATEST}.tmp"
        tmp.write_text(json.dumps({"step": step, "path": str(target.resolve()), "kind": kind}))
        os.replace(tmp, self.work_dir / _LATEST)
        if self._published_step is not None:
            shutil.rmtree(self.work_dir / f"step-{self._published_step}", ignore_errors=True)
        self._published_step = step
        logger.info("published %s weights of step %d in %.1f s", kind, step,
                    time.perf_counter() - started)

    def close(self) -> None:
        """Close the workers (their sandboxes go) and the Ray session this started."""
        with self._lock:
            workers, self._workers = self._workers, []
            stack, self._stack = self._stack, None
        for worker in workers:
            worker.close()
        if stack is not None:
            stack.close()

    def __getstate__(self) -> dict[str, Any]:
        raise TypeError("RayRolloutFunc drives Ray workers from the trainer process; it is "
                        "not meant to be pickled")


def rollout_reward(completions: Sequence[Any] | None = None, *,
                   env_reward: Sequence[float | None] | None = None,
                   **kwargs: Any) -> list[float | None]:
    """The env's episode reward that `RayRolloutFunc` returned (None: sandbox error).

    Raises:
        ValueError: the batch carries no ``env_reward`` (the trainer has no rollout_func).
    """
    if env_reward is None:
        raise ValueError("rollout_reward reads the env_reward field that RayRolloutFunc "
                         "returns; pass rollout_func=RayRolloutFunc(...) to GRPOTrainer")
    return [None if r is None or (isinstance(r, float) and math.isnan(r)) else float(r)
            for r in env_reward]
