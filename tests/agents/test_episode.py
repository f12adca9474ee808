"""The episode loop and Trajectory records, on the fake CountEnv with scripted policies."""

from __future__ import annotations

import json
import math
import re

import pyarrow as pa
import pytest

from sandgym.agents import (
    AgentError,
    Generation,
    ScriptedPolicy,
    Trajectory,
    run_episode,
    run_episodes,
)
from tests.agents.fake_env import CountEnv, counting_reply


class RecordingPolicy(ScriptedPolicy):
    """A scripted policy that remembers how many conversations each call had."""

    def __init__(self, replies) -> None:
        super().__init__(replies, name="recording")
        self.batch_sizes: list[int] = []

    def generate(self, conversations, sampling=None):
        self.batch_sizes.append(len(conversations))
        return super().generate(conversations, sampling)


def test_perfect_episode_records_everything() -> None:
    traj = run_episode(CountEnv(), ScriptedPolicy(counting_reply, name="oracle"),
                       task_id="count-3", seed=7, episode_id="ep-1")
    assert (traj.episode_id, traj.task_id, traj.policy, traj.seed) == ("ep-1", "count-3",
                                                                       "oracle", 7)
    assert traj.env_id == "CountEnv"
    assert traj.actions == ["1", "2", "3"] and traj.num_turns == 3
    assert traj.rewards == pytest.approx([1 / 3] * 3)
    assert traj.final_reward == pytest.approx(1.0) and traj.success
    assert traj.terminated and not traj.truncated and not traj.sandbox_error
    assert [v["ok"] for v in traj.verdicts] == [True, True, True]
    assert traj.reward_components[0] == {"correct": 1.0}
    assert [m["role"] for m in traj.messages] == ["system", "user", "assistant", "user",
                                                  "assistant", "user", "assistant"]
    assert traj.messages[0]["content"] == "Count upwards, one number per reply."
    assert traj.messages[3]["content"] == "Say 2."
    assert traj.final_observation == "Done."
    assert traj.finish_reasons == ["stop"] * 3
    # A scripted policy has no tokenizer: per-turn lists exist, the token view does not.
    assert traj.completion_token_ids == [[], [], []]
    assert traj.token_ids is None and traj.loss_mask is None
    assert set(traj.timings) == {"generation_s", "env_s"}
    assert all(v >= 0 for v in traj.timings.values())


def test_no_system_prompt_means_no_system_message() -> None:
    traj = run_episode(CountEnv(system_prompt=None), ScriptedPolicy(["1", "2"]),
                       task_id="count-2")
    assert traj.messages[0] == {"role": "user", "content": "Say 1."}


def test_wrong_answers_score_zero() -> None:
    traj = run_episode(CountEnv(), ScriptedPolicy(["7", "2"]), task_id="count-2")
    assert traj.rewards == [0.0, 0.5] and traj.final_reward == 0.5
    assert traj.verdicts[0] == {"expected": "1", "got": "7", "ok": False}


def test_max_turns_truncates_a_running_episode() -> None:
    traj = run_episode(CountEnv(), ScriptedPolicy(counting_reply), task_id="count-4",
                       max_turns=2)
    assert traj.num_turns == 2 and traj.truncated and not traj.terminated
    assert traj.final_reward == pytest.approx(0.5)
    assert traj.final_observation == "Say 3."
    assert traj.messages[-1]["role"] == "assistant"


def test_sandbox_error_is_not_a_score() -> None:
    traj = run_episode(CountEnv(sandbox_error_at=2), ScriptedPolicy(counting_reply),
                       task_id="count-3")
    assert traj.sandbox_error and traj.final_reward is None and traj.success is None
    assert traj.num_turns == 2 and math.isnan(traj.rewards[1]) and traj.truncated


def test_seeded_reset_picks_the_same_task() -> None:
    tasks = {run_episode(CountEnv(), ScriptedPolicy(counting_reply), seed=3).task_id
             for _ in range(3)}
    assert len(tasks) == 1


def test_run_episodes_makes_one_generate_call_per_turn() -> None:
    policy = RecordingPolicy(counting_reply)
    trajs = run_episodes([CountEnv() for _ in range(3)], policy,
                         task_ids=["count-2", "count-4", "count-3"],
                         episode_ids=["a", "b", "c"])
    # 3 running, 3, then count-2 is done (2 left), then only count-4 (1 left).
    assert policy.batch_sizes == [3, 3, 2, 1]
    assert [t.episode_id for t in trajs] == ["a", "b", "c"]
    assert [t.num_turns for t in trajs] == [2, 4, 3]
    assert all(t.final_reward == pytest.approx(1.0) for t in trajs)


def test_run_episodes_steps_envs_sequentially_too() -> None:
    trajs = run_episodes([CountEnv(), CountEnv()], ScriptedPolicy(counting_reply),
                         task_ids=["count-2", "count-3"], env_workers=1)
    assert [t.num_turns for t in trajs] == [2, 3]
    assert len({t.episode_id for t in trajs}) == 2  # fresh uuids


def test_run_episodes_rejects_mismatched_arguments() -> None:
    envs = [CountEnv(), CountEnv()]
    policy = ScriptedPolicy(counting_reply)
    with pytest.raises(ValueError, match=re.escape("task_ids has 1 entries for 2 envs")):
        run_episodes(envs, policy, task_ids=["count-2"])
    with pytest.raises(ValueError, match="the same env object appears twice"):
        run_episodes([envs[0], envs[0]], policy)
    with pytest.raises(ValueError, match="max_turns must be >= 1"):
        run_episodes(envs, policy, max_turns=0)


def test_a_policy_returning_too_few_generations_is_an_error() -> None:
    class Broken(ScriptedPolicy):
        def generate(self, conversations, sampling=None):
            return [Generation(text="1")]

    with pytest.raises(AgentError, match="returned 1 generations for 2 conversations"):
        run_episodes([CountEnv(), CountEnv()], Broken(["1"]))


def _sample_trajectory() -> Trajectory:
    traj = run_episode(CountEnv(sandbox_error_at=2), ScriptedPolicy(counting_reply),
                       task_id="count-3", episode_id="x")
    traj.completion_token_ids = [[5, 6], [7]]
    traj.prompt_token_ids = [[1, 2, 3], [1, 2, 3, 5, 6, 9]]
    traj.logprobs = [[-0.5, -0.25], [-1.0]]
    traj.token_ids, traj.loss_mask = [1, 2, 3, 5, 6, 9, 7], [0, 0, 0, 1, 1, 0, 1]
    return traj


def test_record_round_trips_through_json() -> None:
    traj = _sample_trajectory()
    record = traj.to_record()
    assert isinstance(record["messages"], str) and isinstance(record["verdicts"], str)
    assert set(json.loads(record["timings"])) == {"generation_s", "env_s"}
    back = Trajectory.from_record(json.loads(json.dumps(record)))
    assert back.messages == traj.messages and back.verdicts == traj.verdicts
    assert back.completion_token_ids == traj.completion_token_ids
    assert back.sandbox_error and back.final_reward is None
    assert math.isnan(back.rewards[1])


def test_records_of_different_episodes_share_one_arrow_schema() -> None:
    other = run_episode(CountEnv(), ScriptedPolicy(counting_reply), task_id="count-2")
    table = pa.Table.from_pylist([_sample_trajectory().to_record(), other.to_record()])
    rows = table.to_pylist()
    back = [Trajectory.from_record(r) for r in rows]
    assert back[0].logprobs == [[-0.5, -0.25], [-1.0]]
    assert back[0].loss_mask == [0, 0, 0, 1, 1, 0, 1]
    assert back[1].final_reward == pytest.approx(1.0) and back[1].token_ids is None
    assert back[1].messages == other.messages
