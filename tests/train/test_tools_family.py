"""The tools family trains through the generic paths: TRL's environment_factory adapter
and Ray rollouts (`RayRolloutFunc`), 2 GRPO steps each on the default model (LoRA),
rewards regraded."""

from __future__ import annotations

import json

import gymnasium as gym
import pytest

from sandgym.sandbox import SandboxPool
from tests.train.conftest import assert_removed, own_containers

pytestmark = pytest.mark.slow

SQL = "sandgym/SqlQuery-v0"


def replay(env_id: str, task_id: str, actions: list[str], pool: SandboxPool) -> float:
    """The same actions in a fresh env; an episode left open is graded as it stands."""
    env = gym.make(env_id, pool=pool)
    env.reset(options={"task_id": task_id})
    total, done = 0.0, False
    for action in actions:
        _, reward, terminated, truncated, _ = env.step(action)
        total += reward
        done = terminated or truncated
        if done:
            break
    if not done:
        total += env.unwrapped.finish()[1]
    env.close()
    return total


def test_grpo_on_sql_through_the_tool_adapter(model_path, tmp_path):
    from sandgym.train.grpo import GRPORunConfig, train_grpo

    before = own_containers()
    result = train_grpo(GRPORunConfig(env_id=SQL, steps=2, num_generations=2,
                                      prompts_per_step=1, max_completion_length=32,
                                      max_turns=1, limit=1,
                                      out=str(tmp_path / "run"), progress=False))
    assert result.mode == "tools"
    factory = result.sources[0]
    assert "execute_sql" in factory.tool_names and "submit_query" in factory.tool_names
    episodes = factory.episodes
    assert len(episodes) == 4  # 2 steps x 2 rollouts, each scored once
    with SandboxPool(size=1) as fresh:
        for episode in episodes:
            assert episode["reward"] == replay(SQL, episode["task_id"], episode["actions"],
                                               fresh)
    log = json.loads((tmp_path / "run" / "trainer_log.json").read_text())
    assert len([h for h in log if "reward" in h]) == 2
    assert (result.model_dir / "adapter_model.safetensors").is_file()
    assert_removed(before)


def test_grpo_on_sql_through_ray_rollouts(model_path, tmp_path):
    import ray

    from sandgym.train.grpo import GRPORunConfig, train_grpo

    before = own_containers()
    result = train_grpo(GRPORunConfig(env_id=SQL, mode="ray", steps=2, num_generations=2,
                                      prompts_per_step=1, max_completion_length=32,
                                      max_turns=2, limit=1, num_workers=1,
                                      out=str(tmp_path / "run"), progress=False))
    assert result.mode == "ray"
    assert not ray.is_initialized()
    rollout = result.sources[0]
    assert len(rollout.history) == 2  # one batch of episodes per step
    with SandboxPool(size=1) as fresh:
        for records in rollout.history:
            assert len(records) == 2  # 1 prompt x 2 generations, each played once
            for record in records:
                assert record["final_reward"] == replay(SQL, record["task_id"],
                                                        record["actions"], fresh)
    log = json.loads((tmp_path / "run" / "trainer_log.json").read_text())
    assert len([h for h in log if "reward" in h]) == 2
    assert (result.model_dir / "adapter_model.safetensors").is_file()
    assert_removed(before)


def test_grpo_in_process_modes_inject_policy_specs_and_ray_mode_passes_them_on(model_path):
    from sandgym.rollouts.injected import PolicyAgent
    from sandgym.train.grpo import inject_policies

    plain = {"reward_mode": "binary"}
    assert inject_policies("tools", plain) == (plain, None)
    named = {"user": "policy:default", "reward_mode": "binary"}
    assert inject_policies("ray", named) == (named, None)  # the workers build their own
    kwargs, injected = inject_policies("tools", named)
    try:
        user = kwargs["user"]
        assert isinstance(user, PolicyAgent) and kwargs["reward_mode"] == "binary"
        env = gym.make("sandgym/Tau2Retail-v0", user=user)
        try:
            env.reset(seed=0)
            observation, _, _, _, _ = env.step("Hello! How can I help you today?")
        finally:
            env.close()
        # the customer's answer came from the injected model (more calls: stop reminders)
        assert user.calls >= 1
        assert isinstance(observation, str) and observation
    finally:
        injected.close()
