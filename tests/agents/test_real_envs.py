"""The episode loop on real sandgym environments (Docker sandboxes) with the default model."""

from __future__ import annotations

import gymnasium
import pytest

from sandgym.agents import SamplingParams, TransformersPolicy, run_episodes

pytestmark = pytest.mark.slow


@pytest.fixture()
def make_envs():
    import sandgym.envs

    sandgym.envs.ensure_registered()
    made = []

    def make(env_id: str, n: int) -> list:
        envs = [gymnasium.make(env_id) for _ in range(n)]
        made.extend(envs)
        return envs

    yield make
    for env in made:
        env.close()


def _check_token_view(traj) -> None:
    assert traj.token_ids is not None and len(traj.token_ids) == len(traj.loss_mask)
    written = [t for t, m in zip(traj.token_ids, traj.loss_mask, strict=True) if m]
    assert written == [t for ids in traj.completion_token_ids for t in ids]


def test_humaneval_episodes_with_the_default_model(make_envs,
                                                   default_policy: TransformersPolicy) -> None:
    tasks = ["HumanEval/0", "HumanEval/2"]
    trajs = run_episodes(make_envs("sandgym/HumanEval-v0", 2), default_policy, task_ids=tasks,
                         sampling=SamplingParams(max_new_tokens=96))
    for traj, task in zip(trajs, tasks, strict=True):
        assert (traj.env_id, traj.task_id, traj.num_turns) == ("sandgym/HumanEval-v0", task, 1)
        assert not traj.sandbox_error, traj.verdicts
        assert traj.messages[0]["role"] == "system" and "Python" in traj.messages[0]["content"]
        assert traj.terminated and 0.0 <= traj.final_reward <= 1.0
        assert traj.verdicts[-1].get("status")  # the env explains its reward
        assert len(traj.logprobs[0]) == len(traj.completion_token_ids[0]) > 0
        _check_token_view(traj)
        assert traj.timings["env_s"] > 0 and traj.timings["generation_s"] > 0


def test_multi_turn_repair_episode_keeps_a_consistent_token_view(
        make_envs, default_policy: TransformersPolicy) -> None:
    [traj] = run_episodes(make_envs("sandgym/PythonRepair-v0", 1), default_policy,
                          task_ids=["builtin/is_palindrome"], max_turns=2,
                          sampling=SamplingParams(max_new_tokens=64))
    assert not traj.sandbox_error, traj.verdicts
    assert 1 <= traj.num_turns <= 2 and len(traj.rewards) == traj.num_turns
    assert traj.terminated or traj.truncated
    if traj.num_turns == 2:  # the env's feedback became the next user message
        assert [m["role"] for m in traj.messages] == ["system", "user", "assistant", "user",
                                                      "assistant"]
    _check_token_view(traj)
