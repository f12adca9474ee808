"""collect on a local Ray: exactly-once output, resume, killed workers, sandbox-error retries."""

from __future__ import annotations

import functools
import os
import re
import signal
import time
from collections import Counter

import pytest

from sandgym.agents import ScriptedPolicy
from sandgym.rollouts import (
    RolloutConfig,
    WorkerStartError,
    collect,
    episode_id,
    load_trajectories,
)
from tests.rollouts.conftest import owned_containers, stored_ids
from tests.rollouts.flaky_env import FLAKY_ID

HUMANEVAL = "sandgym/HumanEval-v0"
REPLY_OK = functools.partial(ScriptedPolicy, ["ok"], name="ok", cycle=True)


def test_collect_writes_each_episode_once_and_resumes(ray_start, tmp_path):
    out = tmp_path / "he.parquet"
    first = collect(HUMANEVAL, "canonical", limit=3, samples_per_task=2, num_workers=2,
                    out=out, config=RolloutConfig(batch_size=2), progress=False)
    expected = {episode_id(HUMANEVAL, f"HumanEval/{t}", k) for t in range(3) for k in range(2)}
    assert sorted(stored_ids(out)) == sorted(expected)
    assert (first.episodes, first.skipped, first.pass_rate, first.sandbox_errors) == (6, 0, 1.0, 0)
    ds = load_trajectories(out)
    assert set(ds["final_reward"]) == {1.0} and set(ds["attempts"]) == {1}
    assert set(ds["policy"]) == {"canonical"}
    assert all(w and n for w, n in zip(ds["worker"], ds["node_id"], strict=True))

    again = collect(HUMANEVAL, "canonical", limit=4, samples_per_task=2, num_workers=2,
                    out=out, config=RolloutConfig(batch_size=2), progress=False)
    assert (again.episodes, again.skipped) == (2, 6)
    ids = stored_ids(out)
    assert len(ids) == len(set(ids)) == 8


def test_killed_worker_is_replaced_and_every_episode_written_once(ray_start, tmp_path):
    out = tmp_path / "kill.parquet"
    killed: list[str] = []

    def kill_first_worker(record: dict) -> None:
        if not killed:  # mid-collection: most batches are still to be played
            os.kill(int(record["worker"].rsplit(":", 1)[1]), signal.SIGKILL)
            killed.append(record["worker"])

    result = collect(HUMANEVAL, "canonical", limit=8, samples_per_task=2, num_workers=2,
                     out=out, config=RolloutConfig(batch_size=2), progress=False,
                     on_record=kill_first_worker)
    ids = stored_ids(out)
    assert len(ids) == 16 and Counter(ids).most_common(1)[0][1] == 1
    assert result.episodes == 16 and result.sandbox_errors == 0
    assert result.worker_restarts >= 1 and result.retries >= 1
    ds = load_trajectories(out)
    assert set(ds["final_reward"]) == {1.0}, "retried episodes are scored normally"
    assert len(set(ds["worker"])) == 3, "a replacement worker took over the killed one's work"
    assert max(ds["attempts"]) == 2
    pids = {int(w.rsplit(":", 1)[1]) for w in ds["worker"]} | {int(killed[0].rsplit(":", 1)[1])}
    deadline = time.monotonic() + 30  # the killed worker's containers end with its streams
    while any(owned_containers(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not [c.id for pid in pids for c in owned_containers(pid)], "containers leaked"


def test_sandbox_errors_are_retried_on_the_next_attempt(ray_start, tmp_path):
    out = tmp_path / "flaky.parquet"
    config = RolloutConfig(batch_size=3, max_attempts=3,
                           env_kwargs={"state_dir": str(tmp_path), "fail_times": 1})
    result = collect(FLAKY_ID, REPLY_OK, out=out, num_workers=2, config=config,
                     progress=False)
    ds = load_trajectories(out)
    assert (result.episodes, result.sandbox_errors, result.retries) == (6, 0, 6)
    assert set(ds["attempts"]) == {2} and set(ds["final_reward"]) == {1.0}
    assert set(ds["policy"]) == {"ok"}


def test_persistent_sandbox_errors_are_recorded_as_such(ray_start, tmp_path):
    out = tmp_path / "broken.parquet"
    config = RolloutConfig(batch_size=3, max_attempts=2,
                           env_kwargs={"state_dir": str(tmp_path), "fail_times": 99})
    result = collect(FLAKY_ID, REPLY_OK, out=out, num_workers=1, config=config,
                     progress=False)
    ds = load_trajectories(out)
    assert (result.episodes, result.sandbox_errors, result.passed) == (6, 6, 0)
    assert ds["final_reward"] == [None] * 6, "never scored as a model failure"
    assert set(ds["attempts"]) == {2} and set(ds["sandbox_error"]) == {True}
    assert all(e.startswith("sandbox_error: injected failure") for e in ds["error"])
    assert sorted(stored_ids(out)) == sorted(
        episode_id(FLAKY_ID, f"t{i}", 0) for i in range(6))


def test_workers_that_cannot_start_abort_with_the_cause(ray_start, tmp_path):
    config = RolloutConfig(worker_start_failures=2, env_kwargs={"only_in_pid": os.getpid()})
    with pytest.raises(WorkerStartError, match=re.escape("2 rollout workers in a row died")):
        collect(FLAKY_ID, REPLY_OK, out=tmp_path / "x.parquet", num_workers=1,
                config=config, progress=False)


def test_episodes_that_never_ran_are_not_stored_and_a_fixed_rerun_plays_them(ray_start,
                                                                            tmp_path):
    out = tmp_path / "x.parquet"
    # Every attempt of the first batch goes to a worker that dies starting: before the
    # fix those episodes were stored as sandbox_error rows that the rerun then skipped.
    broken = RolloutConfig(batch_size=2, max_attempts=2, worker_start_failures=3,
                           env_kwargs={"num_tasks": 2, "only_in_pid": os.getpid()})
    with pytest.raises(WorkerStartError) as aborted:
        collect(FLAKY_ID, REPLY_OK, out=out, num_workers=1, config=broken, progress=False)
    assert "\x1b[" not in str(aborted.value)
    assert not out.exists() and not (tmp_path / "x.parquet.parts").exists()

    fixed = RolloutConfig(batch_size=2, env_kwargs={"num_tasks": 2})
    result = collect(FLAKY_ID, REPLY_OK, out=out, num_workers=1, config=fixed,
                     progress=False)
    assert (result.episodes, result.skipped, result.sandbox_errors) == (2, 0, 0)
    ds = load_trajectories(out)
    assert sorted(ds["episode_id"]) == sorted(episode_id(FLAKY_ID, f"t{i}", 0)
                                              for i in range(2))
    assert set(ds["final_reward"]) == {1.0}
