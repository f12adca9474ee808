"""Parquet storage: streamed parts, crash safety, resume ids, merge, lock, Dataset load."""

from __future__ import annotations

import math
import re

import pyarrow.parquet as pq
import pytest

from sandgym.agents import Trajectory
from sandgym.rollouts import SCHEMA, StorageError, TrajectoryStore, load_trajectories
from sandgym.rollouts.storage import finished_episode_ids, parquet_sources, stored_identity


def record(i: int, **extra) -> dict:
    r = Trajectory(episode_id=f"env|t{i}|0", env_id="env", task_id=f"t{i}", policy="p",
                   messages=[{"role": "user", "content": "hi"}], actions=["a"],
                   rewards=[1.0], final_reward=1.0, num_turns=1,
                   completion_token_ids=[[1, 2]], logprobs=[[-0.1, -0.2]],
                   token_ids=[5, 1, 2], loss_mask=[0, 1, 1]).to_record()
    r.update(sample_index=0, attempts=1, worker="h:1", finished_at=0.0)
    r.update(extra)
    return r


def test_close_merges_parts_into_one_dataset_file(tmp_path):
    out = tmp_path / "run.parquet"
    with TrajectoryStore(out, row_group_size=2) as store:
        for i in range(5):
            store.append(record(i))
        assert len(parquet_sources(out)) == 2  # two full row groups written as parts
    assert parquet_sources(out) == [out]
    assert not (tmp_path / "run.parquet.parts").exists()
    assert pq.read_schema(out).names == SCHEMA.names
    ds = load_trajectories(out)
    assert sorted(ds["episode_id"]) == [f"env|t{i}|0" for i in range(5)]
    traj = load_trajectories(out, as_trajectories=True)[0]
    assert traj.messages == [{"role": "user", "content": "hi"}]
    assert traj.completion_token_ids == [[1, 2]] and traj.loss_mask == [0, 1, 1]


def test_crash_keeps_written_parts_and_next_run_resumes(tmp_path):
    out = tmp_path / "run.parquet"
    with TrajectoryStore(out, row_group_size=10) as store:
        store.append(record(0))
    crashed = TrajectoryStore(out, row_group_size=2)
    for i in range(1, 4):
        crashed.append(record(i))
    # Simulate a crash: the lock is released by process death, the buffer is lost, and
    # a half-written temporary file is left behind.
    crashed._lock.release()
    (tmp_path / "run.parquet.parts" / ".part-x.parquet.tmp").write_bytes(b"PAR1 garbage")
    assert finished_episode_ids(out) == {"env|t0|0", "env|t1|0", "env|t2|0"}
    with TrajectoryStore(out) as store:
        assert store.finished_ids == {"env|t0|0", "env|t1|0", "env|t2|0"}
        store.append(record(3))
    assert sorted(load_trajectories(out)["episode_id"]) == [f"env|t{i}|0" for i in range(4)]
    assert parquet_sources(out) == [out]


def test_merge_drops_rows_already_in_the_file(tmp_path):
    out = tmp_path / "run.parquet"
    with TrajectoryStore(out) as store:
        store.append(record(0))
    # A crash between replacing the file and deleting the parts leaves copies behind.
    parts = tmp_path / "run.parquet.parts"
    parts.mkdir()
    pq.write_table(pq.read_table(out), parts / "part-1.parquet")
    with TrajectoryStore(out) as store:
        store.append(record(1))
    assert sorted(load_trajectories(out)["episode_id"]) == ["env|t0|0", "env|t1|0"]


def test_second_writer_is_refused(tmp_path):
    out = tmp_path / "run.parquet"
    with TrajectoryStore(out):
        with pytest.raises(StorageError, match=re.escape("another run is writing")):
            TrajectoryStore(out)


def test_sandbox_error_rows_keep_null_reward_and_nan_rewards(tmp_path):
    out = tmp_path / "run.parquet"
    with TrajectoryStore(out) as store:
        store.append(record(0, final_reward=None, sandbox_error=True, rewards=[math.nan],
                            error="sandbox_error: boom", unknown_field=1))
    row = load_trajectories(out)[0]
    assert row["final_reward"] is None and row["sandbox_error"] is True
    assert math.isnan(row["rewards"][0]) and row["error"] == "sandbox_error: boom"


def test_bad_suffix_and_missing_file_are_explained(tmp_path):
    with pytest.raises(StorageError, match=re.escape("--out must name a .parquet file")):
        TrajectoryStore(tmp_path / "run.jsonl")
    with pytest.raises(StorageError, match=re.escape("no trajectories at")):
        load_trajectories(tmp_path / "none.parquet")


IDENTITY = {"env_id": "env", "policy": "canonical", "env_kwargs": {},
            "sampling": {"temperature": 0.0, "max_new_tokens": 256}, "max_turns": 10}


def test_a_collection_made_with_other_settings_is_refused(tmp_path):
    out = tmp_path / "run.parquet"
    with TrajectoryStore(out, identity=IDENTITY, row_group_size=1) as store:
        store.append(record(0))
    assert stored_identity(out) == IDENTITY
    other = {**IDENTITY, "policy": "default", "env_kwargs": {"reward_mode": "fraction"}}
    with pytest.raises(StorageError, match=re.escape(
            "collected with other settings (env_kwargs.reward_mode: None stored, 'fraction' "
            "now; policy: 'canonical' stored, 'default' now)")) as refused:
        TrajectoryStore(out, identity=other)
    assert "another --out" in str(refused.value) and "\n" not in str(refused.value)
    with TrajectoryStore(out, identity=dict(IDENTITY)) as store:  # same settings: resumes
        assert store.finished_ids == {"env|t0|0"}
        store.append(record(1))
    assert sorted(load_trajectories(out)["episode_id"]) == ["env|t0|0", "env|t1|0"]
    assert stored_identity(out) == IDENTITY  # kept through the merge


def test_leftover_parts_carry_the_identity_of_the_crashed_run(tmp_path):
    out = tmp_path / "run.parquet"
    crashed = TrajectoryStore(out, identity=IDENTITY, row_group_size=1)
    crashed.append(record(0))
    crashed._lock.release()  # a crash: parts written, never merged
    assert not out.exists() and stored_identity(out) == IDENTITY
    with pytest.raises(StorageError, match="policy: 'canonical' stored, 'other' now"):
        TrajectoryStore(out, identity={**IDENTITY, "policy": "other"})


def test_a_collection_without_stored_settings_resumes_with_a_warning(tmp_path, caplog):
    out = tmp_path / "run.parquet"
    with TrajectoryStore(out) as store:  # as sandgym wrote it before identities
        store.append(record(0))
    assert stored_identity(out) is None
    with caplog.at_level("WARNING", logger="sandgym.rollouts.storage"):
        with TrajectoryStore(out, identity=IDENTITY) as store:
            assert store.finished_ids == {"env|t0|0"}
            store.append(record(1))
    assert "no stored run settings" in caplog.text
    assert stored_identity(out) == IDENTITY  # from now on it is checked


def test_stored_error_text_has_no_terminal_colours(tmp_path):
    out = tmp_path / "run.parquet"
    with TrajectoryStore(out) as store:
        store.append(record(0, sandbox_error=True, final_reward=None,
                            error="\x1b[36mray::_WorkerActor.__init__()\x1b[39m "
                                  "\x1b[1;31mfailed\x1b[0m"))
    assert load_trajectories(out)[0]["error"] == "ray::_WorkerActor.__init__() failed"


def test_the_tasks_env_kwarg_is_not_compared(tmp_path):
    # Files written before the driver left `tasks` out of the identity still hold it.
    out = tmp_path / "run.parquet"
    stored = {**IDENTITY, "env_kwargs": {"tasks": "a.jsonl", "reward_mode": "binary"}}
    with TrajectoryStore(out, identity=stored) as store:
        store.append(record(0))
    for env_kwargs in ({"tasks": "b.jsonl", "reward_mode": "binary"},
                       {"reward_mode": "binary"}):
        with TrajectoryStore(out, identity={**IDENTITY, "env_kwargs": env_kwargs}) as store:
            assert store.finished_ids == {"env|t0|0"}
    with pytest.raises(StorageError, match=re.escape(
            "env_kwargs.reward_mode: 'binary' stored, 'fraction' now")):
        TrajectoryStore(out, identity={**IDENTITY, "env_kwargs": {"tasks": "a.jsonl",
                                                                   "reward_mode": "fraction"}})


def test_sampling_is_compared_on_the_fields_both_sides_know(tmp_path):
    out = tmp_path / "run.parquet"
    with TrajectoryStore(out, identity=IDENTITY) as store:  # an older SamplingParams
        store.append(record(0))
    newer = {**IDENTITY, "sampling": {**IDENTITY["sampling"], "min_p": 0.05}}
    with TrajectoryStore(out, identity=newer) as store:  # a field added since: resumes
        assert store.finished_ids == {"env|t0|0"}
    older = {**IDENTITY, "sampling": {"temperature": 0.0}}  # and a field dropped since
    with TrajectoryStore(out, identity=older) as store:
        assert store.finished_ids == {"env|t0|0"}
    with pytest.raises(StorageError, match=re.escape(
            "sampling.temperature: 0.0 stored, 0.8 now")):
        TrajectoryStore(out, identity={**newer, "sampling": {**newer["sampling"],
                                                             "temperature": 0.8}})
