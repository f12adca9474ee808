"""GRPO on the default model with LoRA, 2 steps: execution rewards and a multi-turn env.

Each test checks that the reward TRL logged is the sandbox's verdict (regraded
independently, in a fresh pool or a fresh env), that training wrote what it should,
and that no container outlives it.
"""

from __future__ import annotations

import json
import math

import gymnasium as gym
import pytest

from sandgym.envs.code import score_completions
from sandgym.sandbox import SandboxPool
from tests.train.conftest import assert_removed, own_containers

pytestmark = pytest.mark.slow

ENV = "sandgym/PythonTests-v0"
REPAIR = "sandgym/PythonRepair-v0"


def nanmean(values: list[float | None]) -> float:
    finite = [v for v in values if v is not None and math.isfinite(v)]
    return sum(finite) / len(finite) if finite else math.nan


def lora_weights(model) -> dict:
    return {name: p.detach().clone() for name, p in model.named_parameters()
            if p.requires_grad and "lora_" in name}


def test_grpo_on_execution_rewards_logs_the_sandbox_verdicts(model_path, tmp_path):
    import torch
    from peft import LoraConfig
    from trl import GRPOConfig, GRPOTrainer

    from sandgym.agents import load_model
    from sandgym.train import execution_reward, prompts_dataset
    from sandgym.train.grpo import _limit_cpu_threads

    _limit_cpu_threads(None)
    before = own_containers()
    model, tokenizer = load_model(model_path)
    dataset = prompts_dataset(ENV, task_ids=["builtin/add", "builtin/is_palindrome"])
    reward = execution_reward(ENV, reward_mode="graded", pool_size=4)
    args = GRPOConfig(output_dir=str(tmp_path), max_steps=2, per_device_train_batch_size=4,
                      num_generations=4, max_completion_length=48, learning_rate=1e-4,
                      logging_steps=1, save_strategy="no", report_to="none", use_cpu=True,
                      bf16=False, gradient_checkpointing=False, seed=0)
    trainer = GRPOTrainer(model=model, reward_funcs=[reward], args=args, train_dataset=dataset,
                          processing_class=tokenizer,
                          peft_config=LoraConfig(r=8, lora_alpha=16, target_modules="all-linear",
                                                 task_type="CAUSAL_LM"))
    initial = lora_weights(trainer.model)
    assert initial
    trainer.train()

    logs = [h for h in trainer.state.log_history if "reward" in h]
    assert len(logs) == 2 and len(reward.history) == 2
    with SandboxPool(size=2) as fresh:
        for log, batch in zip(logs, reward.history, strict=True):
            assert len(batch.completions) == 4 and set(batch.task_ids) <= {"builtin/add",
                                                                           "builtin/is_palindrome"}
            regraded = score_completions(ENV, batch.task_ids, batch.completions, pool=fresh,
                                         reward_mode="graded")
            assert batch.rewards == [r.reward for r in regraded]
            assert batch.statuses == [r.status for r in regraded]
            assert log["rewards/execution_reward/mean"] == pytest.approx(nanmean(batch.rewards))
            assert log["verdict/pass"] == pytest.approx(batch.statuses.count("pass") / 4)
            assert log["sandbox/grading_s"] == pytest.approx(batch.grading_s)

    varied = [log["frac_reward_zero_std"] < 1 for log in logs]
    changed = [name for name, value in lora_weights(trainer.model).items()
               if not torch.equal(value, initial[name])]
    assert any(varied), "every group had equal rewards: no learning signal in this run"
    assert changed, "rewards differed within a group but no LoRA weight changed"

    trainer.save_model(str(tmp_path / "adapter"))
    assert (tmp_path / "adapter" / "adapter_model.safetensors").is_file()
    reward.close()
    assert_removed(before)


def test_train_grpo_on_a_multi_turn_env_through_the_tool_adapter(model_path, tmp_path):
    from sandgym.train.environment import EnvironmentFactory
    from sandgym.train.grpo import GRPORunConfig, train_grpo

    before = own_containers()
    result = train_grpo(GRPORunConfig(env_id=REPAIR, steps=2, num_generations=4,
                                      prompts_per_step=1, max_completion_length=48,
                                      max_turns=2, limit=2,
                                      out=str(tmp_path / "run"), reward_mode="graded"))
    assert result.mode == "tools"
    factory = result.sources[0]
    assert isinstance(factory, EnvironmentFactory) and factory._closed
    assert factory.instances == [] or all(i._closed for i in factory.instances)
    episodes = factory.episodes
    assert len(episodes) == 8  # 2 steps x 4 rollouts, each scored once

    log = json.loads((tmp_path / "run" / "trainer_log.json").read_text())
    steps = [h for h in log if "reward" in h]
    assert len(steps) == 2
    with SandboxPool(size=1) as fresh:
        for step, group in zip(steps, (episodes[:4], episodes[4:]), strict=True):
            expected = [replay(e, fresh) for e in group]
            assert [e["reward"] for e in group] == pytest.approx(expected)
            assert step["rewards/SubmitSolutionToolEnvironment/mean"] == pytest.approx(
                nanmean(expected))

    rows = [json.loads(line) for line in result.metrics_path.read_text().splitlines()]
    assert [r["step"] for r in rows] == [1, 2]
    assert all(r["sandbox/grading_share"] is not None for r in rows)
    assert result.curve_path is not None and result.curve_path.is_file()
    assert (result.model_dir / "adapter_model.safetensors").is_file()
    assert json.loads((tmp_path / "run" / "summary.json").read_text())["steps"] == 2
    assert_removed(before)


def replay(episode: dict, pool: SandboxPool) -> float:
    """The same actions in a fresh env; an episode left open is scored as truncated."""
    env = gym.make(REPAIR, pool=pool, reward_mode="graded")
    env.reset(options={"task_id": episode["task_id"]})
    total, done, info = 0.0, False, {}
    for action in episode["actions"]:
        _, reward, terminated, truncated, info = env.step(action)
        total += reward
        done = terminated or truncated
        if done:
            break
    if not done:
        total += info["reward_components"]["hidden_reward"]
    env.close()
    return total


def test_grpo_on_a_code_env_stops_each_reply_after_its_code_block(model_path, tmp_path):
    """Code envs train on replies cut after their code block (generated in-process), on
    the training split only, and every graded reply is regraded to the same reward."""
    from sandgym.envs import load_tasks
    from sandgym.train.grpo import GRPORunConfig, train_grpo

    before = own_containers()
    result = train_grpo(GRPORunConfig(env_id="sandgym/PythonBasics-v0", steps=2,
                                      num_generations=2, prompts_per_step=2, limit=3,
                                      max_completion_length=64, out=str(tmp_path / "run"),
                                      progress=False))
    assert result.mode == "reward"
    reward = result.sources[0]
    graded = list(reward.history)
    assert len(graded) == 2 and all(len(b.completions) == 4 for b in graded)
    train_ids = {t.id for t in load_tasks("builtin:basics", split="train")}
    completions = [c for b in graded for c in b.completions]
    task_ids = [t for b in graded for t in b.task_ids]
    assert set(task_ids) <= train_ids  # never a held-out task
    closed = [c for c in completions if c.count("```") >= 2]
    assert closed, completions  # the default model answers in code blocks
    assert all(c.rstrip().endswith("```") for c in closed)  # nothing after the block
    with SandboxPool(size=1) as fresh:
        regraded = score_completions("sandgym/PythonBasics-v0", task_ids, completions,
                                     pool=fresh)
    assert [r.reward for r in regraded] == pytest.approx([r for b in graded for r in b.rewards])
    rows = [json.loads(line) for line in result.metrics_path.read_text().splitlines()]
    assert [r["step"] for r in rows] == [1, 2]
    assert all("completions/clipped_ratio" in r for r in rows)
    assert (result.model_dir / "adapter_model.safetensors").is_file()
    assert_removed(before)
