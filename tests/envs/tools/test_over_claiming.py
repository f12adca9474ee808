"""Required outputs cannot be bought by listing candidates (`claims`): an answer that says
more than a few numbers the episode never showed the agent is paid for no output, in
either reward mode; an honest answer still scores 1.0 on every accepted τ² task."""

from __future__ import annotations

import json

import gymnasium as gym
import pytest

from sandgym.envs.tools.calls import ToolCall, format_call
from sandgym.envs.tools.claims import (
    OVERCLAIM_BUDGET,
    Grounding,
    mentions,
    number_tokens,
    over_claimed,
)
from tests.envs.tools.test_tool_env import call, counter_env

RETAIL = "sandgym/Tau2Retail-v0"
AIRLINE = "sandgym/Tau2Airline-v0"
NUMERIC_AIRLINE = ["airline/7", "airline/11", "airline/14", "airline/18", "airline/23"]
SPRAY = " ".join(map(str, range(501)))


def done(message: str) -> str:
    return call("done", message=message)


def gold_reply(env, task_id: str) -> str:
    return "\n".join(format_call(c) for c in env.get_task(task_id).gold_calls)


@pytest.fixture(scope="module")
def retail():
    env = gym.make(RETAIL)
    yield env.unwrapped
    env.close()


@pytest.fixture(scope="module")
def airline():
    env = gym.make(AIRLINE)
    yield env.unwrapped
    env.close()


@pytest.fixture(scope="module", params=[RETAIL, AIRLINE])
def tau2(request):
    env = gym.make(request.param)
    yield env.unwrapped
    env.close()


# ------------------------------------------------------------------ the matcher


def test_numbers_are_the_tokens_a_required_output_can_match():
    assert number_tokens("Refund: $1,093.34 on 2024-05-15, ref #W2378156 (60.0)") == {
        "1093.34", "2024", "5", "15", "60"}
    assert number_tokens("user_9620 v4 64gb 1.2.3") == set()
    assert not mentions("it costs $1.60", "60") and mentions("balance: 60.", "60")
    assert all(mentions("a 7 b 70.5 c", t) for t in number_tokens("a 7 b 70.5 c"))


def test_a_number_is_grounded_only_when_shown_before_the_agent_wrote_it():
    grounding = Grounding()
    grounding.observed("Your order total is 302.67.")
    grounding.agent('<tool_call>{"name": "get", "arguments": {"id": "777"}}</tool_call>')
    grounding.observed('{"error": "no record 777"}')  # an echo of the agent's own number
    grounding.observed('{"balance": 60.0}')
    assert grounding.grounded == {"302.67", "60"} and "777" in grounding.authored
    said = "302.67 60 777 1 2"  # three ungrounded: within the budget
    assert over_claimed(said, grounding, ()) == []
    assert over_claimed(said + " 3", grounding, ()) == ["1", "2", "3", "777"]
    assert over_claimed(said + " 3", grounding, ("3",)) == []  # the required one is exempt


# ------------------------------------------------------------------ the reported holes


def test_gold_calls_plus_a_list_of_numbers_scores_zero(retail):
    retail.reset(options={"task_id": "retail/40"})
    retail.step(gold_reply(retail, "retail/40"))
    _, reward, terminated, _, info = retail.step(
        done("Card used: visa / mastercard / amex. Balance: " + SPRAY))
    assert terminated and reward == 0.0
    over = info["verdict"]["over_claiming"]
    assert over["count"] > OVERCLAIM_BUDGET and over["budget"] == OVERCLAIM_BUDGET
    assert info["reward_components"]["over_claiming"] is True
    assert info["reward_components"]["state_equal"] is True  # the state alone is not enough
    assert info["verdict"]["outputs"] == {"60": False, "mastercard": False}


def test_fraction_mode_pays_no_output_when_over_claiming():
    env = gym.make(RETAIL, reward_mode="fraction").unwrapped
    try:
        env.reset(options={"task_id": "retail/40"})
        assert env.step(done("visa mastercard amex " + SPRAY))[1] == 0.0  # no tool call
        env.reset(options={"task_id": "retail/40"})
        env.step(gold_reply(env, "retail/40"))
        silent = env.step(done("Done."))[1]  # the right state, no output said
        env.reset(options={"task_id": "retail/40"})
        env.step(gold_reply(env, "retail/40"))
        sprayed = env.step(done("mastercard, balance " + SPRAY))[1]
        assert sprayed == pytest.approx(silent) and 0.0 < silent < 1.0
    finally:
        env.close()


def test_airline_numeric_outputs_cannot_be_sprayed(airline):
    for task_id in NUMERIC_AIRLINE:
        airline.reset(options={"task_id": task_id})
        airline.step(gold_reply(airline, task_id))
        numbers = " ".join(map(str, range(30_000)))
        _, reward, _, _, info = airline.step(done(f"The amount is one of: {numbers}"))
        assert reward == 0.0 and info["verdict"]["over_claiming"], task_id


def test_a_user_echoing_the_agents_guesses_does_not_ground_them():
    from sandgym.envs.tools.user import LLMUser

    env = counter_env(user=LLMUser(lambda messages: f"You said: {messages[-1]['content']}"))
    env.reset(options={"task_id": "talk"})
    env.step("Is it 5 6 7 8?")
    env.step(call("add", key="b", amount=1))
    _, reward, _, _, info = env.step(done("b is 1 (or 5 6 7 8)"))
    assert reward == 0.0 and info["verdict"]["over_claiming"]["ungrounded"] == [
        "5", "6", "7", "8"]


def test_the_calculator_grounds_nothing(airline):
    task_id = NUMERIC_AIRLINE[0]
    airline.reset(options={"task_id": task_id})
    sums = [ToolCall("calculate", {"expression": f"{n} + 0.5 + 0.5"}) for n in range(6)]
    airline.step("\n".join(format_call(c) for c in sums))  # results 1.0 ... 6.0
    airline.step(gold_reply(airline, task_id))
    _, reward, _, _, info = airline.step(done("Amount: 1 2 3 4 5 6 " + " ".join(
        airline.get_task(task_id).required_outputs)))
    assert reward == 0.0 and info["verdict"]["over_claiming"]


# ------------------------------------------------------------------ honest answers


def test_a_few_ungrounded_numbers_are_within_the_budget():
    env = counter_env()
    env.reset(options={"task_id": "talk"})
    env.step(call("add", key="b", amount=1))
    extra = " ".join(str(100 + i) for i in range(OVERCLAIM_BUDGET))
    _, reward, _, _, info = env.step(done(f"b is 1 now; ref {extra}"))
    assert reward == 1.0 and info["verdict"]["over_claiming"] is None
    assert info["reward_components"]["over_claiming"] is False


def test_a_natural_answer_scores_one_on_every_task_with_required_outputs(tau2):
    checked = 0
    for task_id in tau2.task_ids:
        task = tau2.get_task(task_id)
        if not task.required_outputs:
            continue
        tau2.reset(options={"task_id": task_id})
        _, _, terminated, _, _ = tau2.step(gold_reply(tau2, task_id))
        assert not terminated, task_id
        message = ("All done! Here is what you asked about: " + ", ".join(
            task.required_outputs) + ". The changes are made as of 2024-05-15. "
            "Is there anything else I can help you with today?")
        _, reward, _, _, info = tau2.step(done(message))
        assert reward == 1.0, (task_id, info["verdict"])
        checked += 1
    assert checked >= 5


def test_grounded_numbers_may_be_listed_freely(retail):
    # dumping what the tools showed is not a guess: each number was looked up
    retail.reset(options={"task_id": "retail/40"})
    observation = retail.step(gold_reply(retail, "retail/40"))[0]
    shown = " ".join(sorted(number_tokens(observation)))
    assert len(number_tokens(observation)) > OVERCLAIM_BUDGET + 2
    _, reward, _, _, info = retail.step(done(f"Your mastercard paid; gift card 60. {shown}"))
    assert reward == 1.0, info["verdict"]
    json.dumps(info)  # the verdict stays JSON-ready


def _escaped_digits(text: str) -> str:
    """Digits written as JSON escapes: no digit in the raw reply, the same value decoded."""
    return "".join(f"\\u{ord(c):04x}" if c.isdigit() else c for c in text)


def test_numbers_echoed_by_tool_errors_do_not_ground_guesses():
    # The agent sends its guesses as a (JSON-escaped) id; the tool's error repeats them,
    # decoded. Neither the escape nor the echo may turn the guesses into looked-up numbers.
    env = gym.make(AIRLINE).unwrapped
    try:
        env.reset(options={"task_id": "airline/11"})
        guesses = [str(n) for n in range(5000, 6400)]
        for start in range(0, len(guesses), 190):
            chunk = _escaped_digits(" ".join(guesses[start:start + 190]))
            env.step('<tool_call>{"name": "get_reservation_details", "arguments": '
                     '{"reservation_id": "' + chunk + '"}}</tool_call>')
        env.step("\n".join(format_call(c) for c in env.get_task("airline/11").gold_calls
                           if c.name != "done"))
        _, reward, terminated, _, info = env.step(
            '<tool_call>{"name": "done", "arguments": {"message": "Your total is one of: '
            + _escaped_digits(" ".join(guesses)) + '"}}</tool_call>')
    finally:
        env.close()
    assert terminated and reward == 0.0
    assert info["verdict"]["over_claiming"] is not None
    assert not any(info["verdict"]["outputs"].values())
