"""Required outputs cannot be bought by listing candidates (`claims`): an answer that says
more than a few numbers the episode never showed the agent, or repeats more than
`LISTING_BUDGET` numbers the tools showed (a dump), is paid for no output, in either
reward mode; ``fraction`` pays an output only when a look-up showed it; an honest answer
still scores 1.0 on every accepted τ² task."""

from __future__ import annotations

import json

import gymnasium as gym
import pytest

from sandgym.envs.tools.calls import ToolCall, format_call
from sandgym.envs.tools.claims import (
    LISTING_BUDGET,
    OVERCLAIM_BUDGET,
    Grounding,
    mentions,
    normalize,
    number_tokens,
    over_claimed,
    over_listed,
    strip_list_markers,
)
from tests.envs.tools.test_tool_env import call, counter_env

RETAIL = "sandgym/Tau2Retail-v0"
AIRLINE = "sandgym/Tau2Airline-v0"
NUMERIC_AIRLINE = ["airline/7", "airline/11", "airline/14", "airline/18", "airline/23"]
SPRAY = " ".join(map(str, range(501)))
WORDS = ("visa mastercard amex paypal gift card camera tactile linear clicky white black full "
         "compact chicago IL 64GB")
"""Likely words of the retail catalogue: said with no tool call, fraction mode paid them
0.429 on retail/89, 0.333 on retail/40, 0.25 on retail/43, 0.059 on retail/36."""


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
    # a number with a unit is one token; ids, ordinals, clock times and dotted versions
    # are not numbers
    assert number_tokens("user_9620 v4 64GB 064gb 1.2.3 15th 10am") == {"64gb"}
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
    # (not 1 ... 6: the policy in the system prompt shows most of those)
    sums = [ToolCall("calculate", {"expression": f"{n} + 0.5 + 0.5"})
            for n in range(9000, 9006)]
    airline.step("\n".join(format_call(c) for c in sums))  # results 9001.0 ... 9006.0
    airline.step(gold_reply(airline, task_id))
    _, reward, _, _, info = airline.step(done("Amount: 9001 9002 9003 9004 9005 9006 " + " ".join(
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


def test_grounded_numbers_may_be_repeated_within_the_listing_budget(retail):
    # repeating what the tools showed is not a guess: each number was looked up
    retail.reset(options={"task_id": "retail/40"})
    observation = retail.step(gold_reply(retail, "retail/40"))[0]
    shown = " ".join(sorted(number_tokens(observation)))
    assert OVERCLAIM_BUDGET + 2 < len(number_tokens(observation)) <= LISTING_BUDGET
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


# ------------------------------------------------------------------ dumps (over-listing)


def test_repeating_more_looked_up_numbers_than_the_budget_is_over_listing():
    grounding = Grounding()
    shown = [str(1000 + i) for i in range(LISTING_BUDGET + 1)]
    grounding.observed(" ".join(shown))
    assert over_listed(" ".join(shown[:LISTING_BUDGET]), grounding, ()) == []
    assert over_listed(" ".join(shown), grounding, ()) == shown
    assert over_listed(" ".join(shown), grounding, (shown[0],)) == []  # required: exempt
    assert over_listed(" ".join(map(str, range(5000, 5200))), grounding, ()) == []  # unseen
    assert over_claimed(" ".join(shown), grounding, ()) == []  # each was shown


def _catalogue_dump(env) -> str:
    """list_all_product_types, every product's details, all of it as one message."""
    observation = env.step(call("list_all_product_types"))[0]
    ids = list(json.loads(json.loads(observation)["result"]).values())
    dump = []
    for start in range(0, len(ids), 25):
        observation = env.step("\n".join(call("get_product_details", product_id=p)
                                          for p in ids[start:start + 25]))[0]
        dump += [json.dumps(json.loads(line)["result"]) for line in observation.splitlines()]
    return "Here is everything in our catalogue:\n" + "\n".join(dump)


@pytest.mark.parametrize("mode", ["binary", "fraction"])
def test_pasting_the_catalogue_into_the_answer_pays_nothing(mode):
    # retail/62 is read-only: its outputs (a speaker's price and battery life) are the check.
    # Without finding the customer or the order, the whole catalogue held both and paid 1.0.
    env = gym.make(RETAIL, reward_mode=mode).unwrapped
    try:
        env.reset(options={"task_id": "retail/62"})
        _, reward, terminated, _, info = env.step(done(_catalogue_dump(env)))
    finally:
        env.close()
    assert terminated and reward == 0.0
    assert info["verdict"]["over_claiming"] is None  # every number was shown...
    over = info["verdict"]["over_listing"]  # ...but far more of them than an answer needs
    assert over["count"] > 10 * LISTING_BUDGET and over["budget"] == LISTING_BUDGET
    assert len(over["listed"]) == 20 and info["reward_components"]["over_listing"] is True
    assert info["verdict"]["outputs"] == {"302.67": False, "20 hours": False}
    json.dumps(info)


def test_an_honest_answer_may_repeat_a_whole_product(retail):
    # the budget is generous: a careful agent quoting every variant of the product it read
    retail.reset(options={"task_id": "retail/62"})
    observation = retail.step(gold_reply(retail, "retail/62"))[0]
    variants = sorted(number_tokens(observation.splitlines()[-1]))
    assert 30 < len(variants) <= LISTING_BUDGET
    _, reward, _, _, info = retail.step(done(
        "Your speaker cost $302.67 and its battery lasts 20 hours. Every variant we have: "
        + " ".join(variants)))
    assert reward == 1.0 and info["verdict"]["over_listing"] is None
    assert info["reward_components"]["over_listing"] is False


# ------------------------------------------------------------------ numbers with units


def test_a_number_with_a_unit_is_grounded_and_counted():
    grounding = Grounding()
    grounding.observed('{"storage": "64GB"}')
    assert {"64gb", "64"} <= grounding.grounded  # "64 GB" was shown too
    guesses = "64GB (64 GB), or 128GB 256GB 512GB"
    assert over_claimed(guesses, grounding, ()) == []  # three unseen sizes: the budget
    assert over_claimed(guesses + " 1024GB", grounding, ()) == [
        "128gb", "256gb", "512gb", "1024gb"]
    assert over_claimed(guesses + " 1024GB", grounding, ("1024GB",)) == []
    grounding.agent('{"storage": "2TB"}')  # written before any result showed it
    grounding.observed('{"storage": "2TB"}')
    assert "2tb" not in grounding.grounded and "2" not in grounding.grounded


def test_storage_sizes_cannot_be_sprayed_for_a_required_size(retail):
    # retail/43 requires "64GB" (the tablet's storage) among an address and a tracking id
    task = retail.get_task("retail/43")
    others = ", ".join(o for o in task.required_outputs if o != "64GB")
    retail.reset(options={"task_id": "retail/43"})
    retail.step(gold_reply(retail, "retail/43"))
    _, reward, _, _, info = retail.step(done(
        f"{others}. Your tablet has one of 16GB 32GB 64GB 128GB 256GB 512GB 1024GB."))
    assert reward == 0.0 and "1024gb" in info["verdict"]["over_claiming"]["ungrounded"]
    retail.reset(options={"task_id": "retail/43"})
    retail.step(gold_reply(retail, "retail/43"))
    _, reward, _, _, info = retail.step(done(f"{others}. Your tablet has 64GB (64 GB)."))
    assert reward == 1.0, info["verdict"]


# ------------------------------------------------------------------ fraction: look-ups only


@pytest.fixture(scope="module", params=[RETAIL, AIRLINE])
def tau2_fraction(request):
    env = gym.make(request.param, reward_mode="fraction")
    yield env.unwrapped
    env.close()


def _writes(env, task_id: str) -> bool:
    return any(env.domain.tool(c.name).writes for c in env.get_task(task_id).gold_calls)


def test_fraction_pays_nothing_to_an_answer_that_looks_nothing_up(tau2_fraction):
    # Doing nothing, listing likely words, echoing the user, even saying the right outputs:
    # with no tool call nothing was read from the state, so nothing is paid (the
    # read-only retail/62 is the exception for the answer key, in both modes: its
    # outputs are its whole check, and saying them is the task).
    env = tau2_fraction
    paid = []
    for task_id in env.task_ids:
        task = env.get_task(task_id)
        messages = ["", WORDS, task.instruction, f"{WORDS} {task.instruction}"]
        if _writes(env, task_id) and task.required_outputs:
            messages.append("; ".join(task.required_outputs))
        for message in messages:
            env.reset(options={"task_id": task_id})
            _, reward, terminated, _, info = env.step(done(message))
            assert terminated
            if reward:
                paid.append((task_id, message[:30], round(reward, 3)))
    assert paid == []
    assert info["reward_components"]["outputs_looked_up"] == 0


def test_fraction_pays_the_outputs_a_look_up_showed():
    # retail/40: the reads show the gift card's balance and the card the order used; the
    # payment change is not made, so the two outputs are all of the credit
    env = gym.make(RETAIL, reward_mode="fraction").unwrapped
    try:
        reads = [c for c in env.get_task("retail/40").gold_calls
                 if not env.domain.tool(c.name).writes]
        env.reset(options={"task_id": "retail/40"})
        env.step("\n".join(format_call(c) for c in reads))
        _, reward, _, _, info = env.step(done(
            "Was it visa, mastercard or amex? It was your mastercard; the gift card has $60."))
    finally:
        env.close()
    assert info["verdict"]["outputs_looked_up"] == {"60": True, "mastercard": True}
    assert info["reward_components"]["outputs_looked_up"] == 2
    assert reward == pytest.approx(2 / 3)  # 2 outputs of (1 path + 2 outputs)


def test_an_output_written_into_a_call_is_not_looked_up_by_its_echo():
    grounding = Grounding(["Chicago", "625.60", "mastercard"])
    grounding.observed("My daughter lives in Chicago.")  # the user's words: no look-up
    grounding.agent("Did you pay by mastercard?")  # said to the user: reaches no tool
    grounding.agent('{"city": "Chicago"}', into_tools=True)
    grounding.observed('{"city": "Chicago", "brand": "mastercard"}', lookup=True)
    grounding.observed('{"total": 625.6}', lookup=True)  # matched by value
    assert grounding.looked_up == {"625.60", "mastercard"}


def test_fraction_pays_no_output_the_agent_wrote_into_the_state_and_read_back():
    # retail/43: writing the user's address with the city "Chicago" and the state "IL",
    # then reading the profile, shows both words, but the agent wrote them: no look-up
    env = gym.make(RETAIL, reward_mode="fraction").unwrapped
    try:
        env.reset(options={"task_id": "retail/43"})
        env.step(call("modify_user_address", user_id="lucas_santos_6600", address1="1 Main St",
                      address2="", city="Chicago", state="IL", country="USA", zip="60601"))
        env.step(call("get_user_details", user_id="lucas_santos_6600"))
        _, reward, _, _, info = env.step(done("It went to Chicago, IL."))
    finally:
        env.close()
    verdict = info["verdict"]
    assert verdict["diff"]["matched"] == 2  # the write took: city and state are the gold's
    assert verdict["outputs"]["Chicago"] and verdict["outputs"]["IL"]
    checked = verdict["diff"]["matched"] + verdict["diff"]["mismatches_total"]
    assert reward == pytest.approx(2 / (checked + 7))  # the two paths, no output
    assert not any(verdict["outputs_looked_up"].values())


def _reads_before(env, write: ToolCall) -> list[ToolCall]:
    """What a careful agent reads before a write: the order or reservation it changes, the
    products of the items involved, the user, the flights it books."""
    arguments = write.arguments
    products = {item: product for product, record in env.domain.pristine.get("products", {})
                .items() for item in record["variants"]}
    reads = []
    if "order_id" in arguments:
        reads.append(ToolCall("get_order_details", {"order_id": arguments["order_id"]}))
    reads += [ToolCall("get_product_details", {"product_id": products[item]})
              for item in arguments.get("item_ids", []) + arguments.get("new_item_ids", [])
              if item in products]
    if "reservation_id" in arguments:
        reads.append(ToolCall("get_reservation_details",
                              {"reservation_id": arguments["reservation_id"]}))
    if "user_id" in arguments:
        reads.append(ToolCall("get_user_details", {"user_id": arguments["user_id"]}))
    reads += [ToolCall("get_flight_status", {"flight_number": f["flight_number"],
                                             "date": f["date"]})
              for f in arguments.get("flights", []) if "flight_number" in f]
    return [c for c in reads if env.domain.tool(c.name) is not None]


@pytest.mark.parametrize("mode", ["binary", "fraction"])
def test_a_careful_verbose_agent_scores_one_on_every_task(tau2, mode):
    # One call per reply, reads before each write, then a final message that restates
    # every write (its arguments, the prices of its items, the payments it made) with
    # the outputs and a policy figure: neither budget may fail it.
    tau2.reward_mode = mode
    prices = {item: variant["price"] for product in tau2.domain.pristine.get(
        "products", {}).values() for item, variant in product["variants"].items()}
    try:
        for task_id in tau2.task_ids:
            task = tau2.get_task(task_id)
            tau2.reset(options={"task_id": task_id})
            said = []
            for gold in task.gold_calls:
                writes = tau2.domain.tool(gold.name).writes
                for read in _reads_before(tau2, gold) if writes else []:
                    tau2.step(format_call(read))
                observation = tau2.step(format_call(gold))[0]
                if not writes:
                    continue
                said.append(f"Done: {gold.name} {json.dumps(gold.arguments)}.")
                said += [f"Item {i} is ${prices[i]}." for i in gold.arguments.get(
                    "item_ids", []) + gold.arguments.get("new_item_ids", []) if i in prices]
                result = json.loads(observation)["result"]
                result = json.loads(result) if isinstance(result, str) and \
                    result.startswith("{") else result
                if isinstance(result, dict):
                    said += [f"{p.get('transaction_type', 'payment')} ${p['amount']}."
                             for p in result.get("payment_history", [])[-3:]]
            said.append("As you asked: " + ", ".join(task.required_outputs) + ". A refund "
                        "to a card takes 5 to 7 business days.")
            _, reward, _, _, info = tau2.step(done(" ".join(said)))
            assert reward == 1.0, (task_id, info["verdict"])
    finally:
        tau2.reward_mode = "binary"


# ------------------------------------------------------------------ policy text, list markers


def test_a_number_from_the_policy_is_grounded(tau2):
    # the system prompt (policy and tool schemas) is shown before anything else: quoting it
    # is not a guess, yet it is no look-up either (fraction mode pays nothing for it)
    policy = number_tokens(tau2.domain.policy)
    assert {"5", "7", "24"} <= policy
    tau2.reset(options={"task_id": tau2.task_ids[0]})
    assert policy <= tau2._grounding.grounded and not tau2._grounding.looked_up
    grounding = Grounding()
    grounding.observed(tau2.system_prompt)
    quoted = ("Refunds take 5 to 7 business days; you may cancel within 24 hours; "
              "up to 50 per bag; 30 days")
    assert over_claimed(quoted + " 4001 4002 4003 4004", Grounding(), ()) != []
    assert over_claimed(quoted + " 4001 4002 4003", grounding, ()) == []  # 3: the budget


def test_a_numbered_list_is_not_over_claiming(retail):
    # retail/40: the gold calls, then a final message formatted as a numbered list with a
    # nested list: the markers are formatting, not numbers the agent made up
    retail.reset(options={"task_id": "retail/40"})
    retail.step(gold_reply(retail, "retail/40"))
    message = ("Here is a summary:\n1. Your order was paid by mastercard.\n"
               "2. Your gift card balance is $60.\n   1) nothing else changed\n"
               "   2) no fee applies\n3. The new payment method is set.\n"
               "4. Anything else?\n5. Have a nice day.\n6. Bye.")
    _, reward, _, _, info = retail.step(done(message))
    assert reward == 1.0 and info["verdict"]["over_claiming"] is None, info["verdict"]


def test_list_markers_neither_answer_nor_hide_a_guess():
    assert strip_list_markers("1. a\n2) b\n  1. c\n  2. d\n3. e") == " a\n b\n   c\n   d\n e"
    # a "list" that does not count from 1 is a list of numbers
    assert strip_list_markers("60. your balance\n61. or this") == "60. your balance\n61. or this"
    # a candidate list written as a numbered list loses its markers: they hit no output
    spray = "\n".join(f"{n}. maybe?" for n in range(1, 501))
    assert not mentions(normalize(strip_list_markers(spray)), "60")


def test_a_guessed_list_of_prices_is_still_over_claiming(retail):
    # a numbered list of guessed totals: the markers go, the prices stay counted
    retail.reset(options={"task_id": "retail/40"})
    retail.step(gold_reply(retail, "retail/40"))
    guesses = "\n".join(f"{i}. ${price}" for i, price in enumerate(
        ["54.04", "60.00", "123.45", "199.99", "250.10", "302.67"], start=1))
    _, reward, _, _, info = retail.step(done(f"Your mastercard; the balance is one of:\n{guesses}"))
    assert reward == 0.0
    assert set(info["verdict"]["over_claiming"]["ungrounded"]) >= {"54.04", "123.45", "199.99"}


def test_a_spray_written_as_a_numbered_list_pays_nothing():
    env = gym.make(RETAIL, reward_mode="fraction").unwrapped
    try:
        env.reset(options={"task_id": "retail/40"})
        env.step(gold_reply(env, "retail/40"))
        spray = "\n".join(f"{n}. maybe" for n in range(1, 501))
        _, reward, _, _, info = env.step(done(f"mastercard. Balance options:\n{spray}"))
        env.reset(options={"task_id": "retail/40"})
        env.step(gold_reply(env, "retail/40"))
        silent_env_reward = env.step(done("mastercard."))[1]
    finally:
        env.close()
    assert not info["verdict"]["outputs"]["60"]  # no marker is the answer
    assert reward == pytest.approx(silent_env_reward)
