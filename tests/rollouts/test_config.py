"""Episode plan, config validation, policy specs (no Ray, no containers)."""

from __future__ import annotations

import re

import pytest

from sandgym.rollouts import RolloutConfig, RolloutError, build_policy, plan_episodes
from sandgym.rollouts.driver import resolve_tasks


def test_plan_is_deterministic_and_groups_samples_of_a_task():
    plan = plan_episodes("sandgym/HumanEval-v0", ["HumanEval/0", "HumanEval/1"], 2)
    assert [s.episode_id for s in plan] == [
        "sandgym/HumanEval-v0|HumanEval/0|0", "sandgym/HumanEval-v0|HumanEval/0|1",
        "sandgym/HumanEval-v0|HumanEval/1|0", "sandgym/HumanEval-v0|HumanEval/1|1"]
    again = plan_episodes("sandgym/HumanEval-v0", ["HumanEval/0", "HumanEval/1"], 2)
    assert [s.seed for s in plan] == [s.seed for s in again]
    assert len({s.seed for s in plan}) == 4
    assert plan[0].retry().attempt == 2 and plan[0].retry().episode_id == plan[0].episode_id


def test_config_errors_say_the_fix():
    assert RolloutConfig(batch_size=3).pool_size == 3
    with pytest.raises(ValueError, match=re.escape("RolloutConfig.batch_size must be an int >= 1")):
        RolloutConfig(batch_size=0)
    with pytest.raises(ValueError, match=re.escape("env_kwargs may not hold 'pool'")):
        RolloutConfig(env_kwargs={"pool": None})


def test_resolve_tasks_limits_and_checks_ids():
    assert resolve_tasks("sandgym/HumanEval-v0", None, 3) == [
        "HumanEval/0", "HumanEval/1", "HumanEval/2"]
    assert resolve_tasks("sandgym/HumanEval-v0", ["HumanEval/5", "HumanEval/5"], None) == [
        "HumanEval/5"]
    with pytest.raises(RolloutError, match=re.escape("has no task 'HumanEval/500'; did you mean")):
        resolve_tasks("sandgym/HumanEval-v0", ["HumanEval/500"], None)


def test_resolve_tasks_lists_the_split_the_workers_will_play():
    import gymnasium

    from sandgym.rollouts.policies import ensure_envs

    ensure_envs()
    basics = "sandgym/PythonBasics-v0"
    for split in ("train", "test"):
        env = gymnasium.make(basics, split=split)
        expected = list(env.unwrapped.task_ids)[:4]
        env.close()
        assert resolve_tasks(basics, None, 4, env_kwargs={"split": split}) == expected
    assert (resolve_tasks(basics, None, 4, env_kwargs={"split": "train"})
            != resolve_tasks(basics, None, 4, env_kwargs={"split": "test"}))
    # an injected party changes no task list and is not built on the driver
    assert resolve_tasks("sandgym/Tau2Retail-v0", None, 2, env_kwargs={"user": "policy:default"}) \
        == resolve_tasks("sandgym/Tau2Retail-v0", None, 2)


def test_a_bad_env_kwarg_is_reported_before_any_worker_starts():
    with pytest.raises(RolloutError, match=re.escape("cannot make sandgym/HumanEval-v0 with "
                                                     "env_kwargs {'no_such_option': 1}")):
        resolve_tasks("sandgym/HumanEval-v0", None, 2, env_kwargs={"no_such_option": 1})


def test_canonical_policy_answers_each_prompt_with_its_reference():
    import gymnasium

    from sandgym.rollouts.policies import ensure_envs

    ensure_envs()
    env = gymnasium.make("sandgym/HumanEval-v0")
    policy = build_policy("canonical", env=env)
    prompts = {}
    for task_id in ("HumanEval/0", "HumanEval/7"):
        prompts[task_id], _ = env.reset(options={"task_id": task_id})
    replies = policy.generate([[{"role": "system", "content": "s"},
                                {"role": "user", "content": prompts[t]}] for t in prompts])
    assert [r.text for r in replies] == [env.unwrapped.reference_answer(t) for t in prompts]
    with pytest.raises(ValueError, match=re.escape("no task of PythonTestsEnv has the prompt")):
        policy.generate([[{"role": "user", "content": "not a task"}]])
    env.close()


def test_unknown_policy_spec_is_refused():
    from sandgym.agents import PolicySpecError

    with pytest.raises(PolicySpecError):
        build_policy("no-such-policy")


class _FakeWorker:
    def __init__(self) -> None:
        self.batches: list[int] = []

    def submit(self, batch):
        self.batches.append(len(batch))
        return object()


@pytest.mark.parametrize(("episodes", "batch_size", "expected"), [
    (20, 10, [[10], [10]]),          # one full batch each, not 10 + 5 + 5
    (6, 4, [[3], [3]]),              # the tail is split evenly
    (40, 4, [[4, 4], [4, 4]]),       # a second batch is queued while work remains
    (12, 4, [[4], [4]]),             # ...but not when it could leave a worker idle
])
def test_dispatch_spreads_batches_over_workers(episodes, batch_size, expected):
    from sandgym.rollouts.driver import _Run, _Slot

    run = _Run("env", "p", "p", None, RolloutConfig(batch_size=batch_size), None, None, None)
    run.queue.extend(plan_episodes("env", [f"t{i}" for i in range(episodes)], 1))
    run.slots = [_Slot(i, _FakeWorker(), ready=True) for i in range(2)]
    run._dispatch()
    assert [slot.worker.batches for slot in run.slots] == expected


def test_a_worker_still_starting_holds_one_batch_at_most():
    from sandgym.rollouts.driver import _Run, _Slot

    run = _Run("env", "p", "p", None, RolloutConfig(batch_size=4), None, None, None)
    run.queue.extend(plan_episodes("env", [f"t{i}" for i in range(40)], 1))
    run.slots = [_Slot(0, _FakeWorker(), ready=True), _Slot(1, _FakeWorker())]
    run._dispatch()
    assert [slot.worker.batches for slot in run.slots] == [[4, 4], [4]]


def _node(alive=True, **resources):
    return {"Alive": alive, "Resources": resources}


@pytest.mark.parametrize(("cpus", "gpus", "expected"), [
    (1.0, 0.0, 3),    # head: 2 CPUs caps 4 slots at 2; worker node: 1 CPU, 1 slot
    (0.25, 0.0, 5),   # a waiting policy: slots cap instead (4 + 1)
    (0.1, 0.0, 5),    # 1.0 / 0.1 counts 10, not 9 (floored with a tolerance)
    (1.0, 1.0, 1),    # only the head has a GPU
    (0.0, 0.0, 5),    # no CPU request: slots only
])
def test_worker_capacity_counts_what_fits_on_each_node(cpus, gpus, expected):
    from sandgym.rollouts import SANDBOX_RESOURCE
    from sandgym.rollouts.driver import worker_capacity

    nodes = [_node(CPU=2.0, GPU=1.0, **{SANDBOX_RESOURCE: 4.0}),
             _node(CPU=1.0, **{SANDBOX_RESOURCE: 1.0}),
             _node(CPU=8.0),                                      # no sandboxes: none
             _node(alive=False, CPU=8.0, **{SANDBOX_RESOURCE: 8.0})]  # dead: none
    config = RolloutConfig(num_cpus_per_worker=cpus, num_gpus_per_worker=gpus)
    assert worker_capacity(nodes, config) == expected


def test_worker_count_is_capped_by_capacity_and_batches(caplog):
    from sandgym.rollouts.driver import _worker_count

    config = RolloutConfig(batch_size=4)
    assert _worker_count(4, 4, 100, config) == 4
    assert _worker_count(4, 4, 6, config) == 2            # 2 batches: 2 workers
    with caplog.at_level("WARNING"):
        assert _worker_count(4, 2, 100, config) == 2
    assert "fits 2 rollout worker(s) at once" in caplog.text and "--num-cpus 0.25" in caplog.text
