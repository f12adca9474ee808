"""`RayRolloutFunc`: GRPO batches played on real Ray workers in real sandboxes."""

from __future__ import annotations

import json
import math
import os

import gymnasium as gym
import pytest

from sandgym.sandbox import SandboxPool
from sandgym.train.rollout_func import rollout_reward, trajectory_to_sample
from tests.rollouts.conftest import owned_containers
from tests.train.conftest import assert_removed, own_containers

os.environ.setdefault("RAY_ENABLE_UV_RUN_RUNTIME_ENV", "0")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")

REPAIR = "sandgym/PythonRepair-v0"


def test_multi_turn_records_become_masked_completions():
    record = {"prompt_token_ids": [[1, 2, 3], [1, 2, 3, 7, 8, 9, 4, 5]],
              "completion_token_ids": [[7, 8], [10, 11, 12]],
              "logprobs": [[-0.1, -0.2], [-0.3, -0.4, -0.5]],
              "token_ids": [1, 2, 3, 7, 8, 9, 4, 5, 10, 11, 12],
              "loss_mask": [0, 0, 0, 1, 1, 0, 0, 0, 1, 1, 1],
              "final_reward": 1.0, "sandbox_error": False, "num_turns": 2,
              "verdicts": json.dumps([{"status": "fail"}, {"status": "pass"}])}
    sample = trajectory_to_sample(record)
    assert sample["prompt_ids"] == [1, 2, 3]
    assert sample["completion_ids"] == [7, 8, 9, 4, 5, 10, 11, 12]
    assert sample["env_mask"] == [1, 1, 0, 0, 0, 1, 1, 1]
    assert sample["logprobs"] == [-0.1, -0.2, 0.0, 0.0, 0.0, -0.3, -0.4, -0.5]
    assert (sample["env_reward"], sample["verdict"]) == (1.0, "pass")
    failed = dict(record, sandbox_error=True, final_reward=None)
    assert trajectory_to_sample(failed)["env_reward"] is None
    assert rollout_reward(env_reward=[1.0, None, math.nan]) == [1.0, None, None]
    with pytest.raises(ValueError, match="env_reward"):
        rollout_reward(completions=["x"])


@pytest.mark.slow
def test_grpo_with_ray_rollouts_on_a_multi_turn_env(model_path, tmp_path):
    import ray
    import torch
    from peft import LoraConfig
    from trl import GRPOConfig, GRPOTrainer

    from sandgym.agents import load_model
    from sandgym.train import RayRolloutFunc, prompts_dataset
    from sandgym.train.grpo import _limit_cpu_threads

    _limit_cpu_threads(None)
    before = own_containers()
    model, tokenizer = load_model(model_path)
    rollout = RayRolloutFunc(REPAIR, model=str(model_path), num_workers=1, max_turns=2,
                             work_dir=tmp_path / "sync", env_kwargs={"reward_mode": "graded"})
    args = GRPOConfig(output_dir=str(tmp_path), max_steps=2, per_device_train_batch_size=4,
                      num_generations=4, max_completion_length=32, learning_rate=1e-4,
                      logging_steps=1, save_strategy="no", report_to="none", use_cpu=True,
                      bf16=False, gradient_checkpointing=False, seed=0)
    trainer = GRPOTrainer(model=model, reward_funcs=[rollout_reward], args=args,
                          train_dataset=prompts_dataset(REPAIR, limit=2),
                          processing_class=tokenizer, rollout_func=rollout,
                          peft_config=LoraConfig(r=8, lora_alpha=16, target_modules="all-linear",
                                                 task_type="CAUSAL_LM"))
    initial = {n: p.detach().clone() for n, p in trainer.model.named_parameters()
               if p.requires_grad}
    try:
        trainer.train()
    finally:
        rollout.close()
    assert not ray.is_initialized()
    assert_removed(before)

    # Every worker loaded the trainer's weights of each step before generating.
    acks = sorted(p.name.split("-step-")[1] for p in (tmp_path / "sync" / "acks").iterdir())
    assert acks == ["0", "1"]

    logs = [h for h in trainer.state.log_history if "reward" in h]
    assert len(logs) == len(rollout.history) == 2
    with SandboxPool(size=1) as fresh:
        for log, records in zip(logs, rollout.history, strict=True):
            assert len(records) == 4
            rewards = [r["final_reward"] for r in records]
            assert rewards == [replay(r, fresh) for r in records]
            assert log["rewards/rollout_reward/mean"] == pytest.approx(sum(rewards) / 4)
            for record in records:
                sample = trajectory_to_sample(record)
                assert len(sample["completion_ids"]) == len(sample["logprobs"]) \
                    == len(sample["env_mask"])
                assert sum(sample["env_mask"]) == sum(map(len, record["completion_token_ids"]))
    if any(log["frac_reward_zero_std"] < 1 for log in logs):
        assert any(not torch.equal(p, initial[n])
                   for n, p in trainer.model.named_parameters() if n in initial)


def replay(record: dict, pool: SandboxPool) -> float:
    """The recorded actions in a fresh env: the episode's return."""
    env = gym.make(REPAIR, pool=pool, reward_mode="graded")
    env.reset(options={"task_id": record["task_id"]})
    total = 0.0
    for action in record["actions"]:
        _, reward, terminated, truncated, _ = env.step(action)
        total += reward
        if terminated or truncated:
            break
    env.close()
    return total


def test_a_worker_killed_mid_step_is_replaced_and_every_prompt_played_once(tmp_path):
    """Chaos: SIGKILL a worker while it plays a GRPO batch; the step still returns one
    episode per prompt, and no container of the dead or the live workers is left."""
    import functools
    import signal
    import threading
    import time

    import ray

    from sandgym.agents import ScriptedPolicy
    from sandgym.rollouts.config import RolloutConfig
    from sandgym.rollouts.driver import ray_session
    from sandgym.rollouts.worker import RolloutWorker
    from sandgym.train import RayRolloutFunc
    from sandgym.train.datasets import env_prompts

    env = "sandgym/HumanEval-v0"
    before = own_containers()
    rollout = RayRolloutFunc(env, num_workers=2, work_dir=tmp_path / "sync")
    config = RolloutConfig(batch_size=2, max_attempts=1)
    policy = functools.partial(ScriptedPolicy, ["import time\ntime.sleep(2)\n"], cycle=True)
    with ray_session(None, num_workers=2, config=config):
        rollout._worker_args = ((policy, config), {})
        rollout._workers = [RolloutWorker(env, policy, config) for _ in range(2)]
        victim = rollout._workers[0].pid()
        rollout._workers[1].pid()
        task_ids, _, _ = env_prompts(env)
        from sandgym.rollouts.config import EpisodeSpec, episode_id, episode_seed

        specs = [EpisodeSpec(episode_id(env, t, "chaos"), t, 0, episode_seed(t))
                 for t in task_ids[:4]]
        threading.Timer(1.0, os.kill, (victim, signal.SIGKILL)).start()
        started = time.monotonic()
        records = rollout._play(specs)
        assert time.monotonic() - started > 1.0, "the kill landed mid-step"
        try:
            assert [r["episode_id"] for r in records] == [s.episode_id for s in specs]
            assert rollout.worker_restarts == 1
            assert all(r["final_reward"] == 0.0 and not r["sandbox_error"] for r in records)
            assert str(victim) not in {r["worker"].rsplit(":", 1)[1] for r in records}
        finally:
            for worker in rollout._workers:
                worker.close()
            rollout._workers = []
    assert not ray.is_initialized()
    assert_removed(before)
    pids = {victim} | {int(r["worker"].rsplit(":", 1)[1]) for r in records}
    deadline = time.monotonic() + 30
    while any(owned_containers(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not [c.id for p in pids for c in owned_containers(p)], "containers leaked"
