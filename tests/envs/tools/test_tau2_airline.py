"""τ² airline (``sandgym/Tau2Airline-v0``) on the wheel's real data: what the loader refuses
and why, the tools' schemas and rules. Gold 1.0 / do-nothing 0.0 on every accepted task
and the reordered trajectories are tested with retail's (``test_tool_env``, ``tau2``)."""

from __future__ import annotations

import json

import gymnasium as gym
import pytest

from sandgym.envs.tools.calls import ToolCall
from sandgym.envs.tools.domain import ToolContext
from sandgym.envs.tools.envs import Tau2AirlineEnv
from sandgym.envs.tools.tau2 import tau2_tasks

AIRLINE = "sandgym/Tau2Airline-v0"
CHECKS_NOTHING = [0, 1, 4, 5, 6, 10, 13, 26, 28, 31, 34, 36, 41, 43, 45, 46, 47, 48, 49]
"""The airline tasks whose gold writes nothing and that require no output (τ²'s criteria
for them are empty or only natural-language: sierra-research/tau2-bench#384)."""


@pytest.fixture(scope="module")
def airline():
    env = gym.make(AIRLINE)
    yield env.unwrapped
    env.close()


def test_airline_loads_50_tasks_and_reports_the_20_it_refuses(airline):
    report = airline.report
    assert report.counts() == {"checks_nothing": 19, "weak_check": 1}
    assert len(airline.task_ids) == 30 and len(airline.task_ids) + len(report.rejected) == 50
    nothing = [r for r in report.rejected if r.reason == "checks_nothing"]
    assert [r.task_id for r in nothing] == [f"airline/{i}" for i in CHECKS_NOTHING]
    assert all("doing nothing would score 1.0" in r.detail for r in nothing)
    [weak] = [r for r in report.rejected if r.reason == "weak_check"]
    assert weak.task_id == "airline/3" and "'4'" in weak.detail  # it only has to say "4"
    as_dict = report.as_dict()
    assert as_dict["accepted"] == 30
    assert as_dict["by_reason"] == {"checks_nothing": 19, "weak_check": 1}
    refused = {f"airline/{i}" for i in CHECKS_NOTHING} | {"airline/3"}
    assert {r["task_id"] for r in as_dict["rejections"]} == refused


def test_every_kept_task_needs_a_write_or_outputs_that_must_be_looked_up(airline):
    from sandgym.envs.tools.tasks import replay, unlooked_outputs

    writes = airline.domain.writes
    for task in tau2_tasks("airline"):
        writes_something = any(c.name in writes for c in task.gold_calls)
        _, results = replay(airline.domain, task, task.gold_calls)
        looked_up = bool(task.required_outputs) and not unlooked_outputs(
            airline.domain, task, results)
        assert (writes_something or looked_up) == (task.id in airline.task_ids), task.id


def test_a_required_number_counts_only_as_a_whole_token():
    from sandgym.envs.tools.claims import mentions as _mentions

    assert _mentions("you have 4 bags.", "4") and _mentions("total: $327", "327")
    assert not _mentions("you have 14 bags", "4") and not _mentions("version v4", "4")
    assert not _mentions("it costs 4.5 dollars", "4") and not _mentions("1327", "327")


def test_a_rejected_task_cannot_be_played(airline):
    with pytest.raises(Exception, match="rejected on load.*checks_nothing"):
        airline.reset(options={"task_id": "airline/0"})


def test_airline_tools_have_typed_object_schemas(airline):
    names = [t.name for t in Tau2AirlineEnv.tools]
    assert len(names) == 15 and names[-1] == "done" and "book_reservation" in names
    params = airline.domain.tool("book_reservation").openai_schema()["function"]["parameters"]
    flight = params["properties"]["flights"]["items"]
    assert flight["properties"] == {"flight_number": {"type": "string"},
                                    "date": {"type": "string"}}
    assert flight["required"] == ["flight_number", "date"]
    assert flight["additionalProperties"] is False
    assert params["properties"]["cabin"]["enum"] == ["business", "economy", "basic_economy"]
    assert airline.domain.writes == {"book_reservation", "cancel_reservation",
                                     "send_certificate", "update_reservation_baggages",
                                     "update_reservation_flights",
                                     "update_reservation_passengers"}


def _run(airline, *calls):
    ctx = ToolContext(airline.domain.fresh_state())
    return ctx, [airline.domain.run(ctx, ToolCall(name, args)) for name, args in calls]


def test_misspelt_or_missing_object_keys_are_bad_arguments(airline):
    _, (misspelt, missing) = _run(
        airline,
        ("update_reservation_passengers", {"reservation_id": "FQ8APE", "passengers": [
            {"first_name": "Omar", "last_name": "Rossi", "birthday": "1970-06-06"}]}),
        ("update_reservation_passengers", {"reservation_id": "FQ8APE", "passengers": [
            {"first_name": "Omar", "last_name": "Rossi"}]}))
    assert misspelt.kind == missing.kind == "bad_arguments"
    assert "birthday" in misspelt.message and "dob" in missing.message


def test_policy_rules_hold_in_the_tools(airline):
    ctx, results = _run(
        airline,
        ("send_certificate", {"user_id": "noah_muller_9847", "amount": 50}),
        ("update_reservation_baggages", {"reservation_id": "4OG6T3", "total_baggages": 9,
                                         "nonfree_baggages": 9,
                                         "payment_id": "certificate_3221322"}),
        ("book_reservation", {
            "user_id": "mia_li_3668", "origin": "JFK", "destination": "SEA",
            "flight_type": "one_way", "cabin": "economy",
            "flights": [{"flight_number": "HAT136", "date": "2024-05-20"}],
            "passengers": [{"first_name": "Mia", "last_name": "Li", "dob": "1990-04-05"}],
            "payment_methods": [{"payment_id": "credit_card_4421486", "amount": 1}],
            "total_baggages": 0, "nonfree_baggages": 0, "insurance": "no"}))
    sent, certificate_for_change, underpaid = results
    assert sent.startswith("Certificate certificate_3221322 added")
    user = ctx.state["users"]["noah_muller_9847"]
    assert user["payment_methods"]["certificate_3221322"]["amount"] == 50
    assert getattr(certificate_for_change, "kind", None) == "tool_error"
    assert "Certificate cannot be used" in certificate_for_change.message
    assert getattr(underpaid, "kind", None) == "tool_error"
    assert "does not add up" in underpaid.message
    assert "HATHAT" not in ctx.state["reservations"]


def test_a_payment_listed_twice_or_not_positive_is_refused(airline):
    booking = {"user_id": "mia_li_3668", "origin": "JFK", "destination": "SEA",
               "flight_type": "one_way", "cabin": "economy",
               "flights": [{"flight_number": "HAT136", "date": "2024-05-20"}],
               "passengers": [{"first_name": "Mia", "last_name": "Li", "dob": "1990-04-05"}],
               "total_baggages": 0, "nonfree_baggages": 0, "insurance": "no"}
    ctx = ToolContext(airline.domain.fresh_state())
    card = next(p for p, m in ctx.state["users"]["mia_li_3668"]["payment_methods"].items()
                if m["source"] == "credit_card")
    before = json.dumps(ctx.state, sort_keys=True)
    twice = [{"payment_id": card, "amount": 1}, {"payment_id": card, "amount": 1}]
    negative = [{"payment_id": card, "amount": -48}]
    bags = {"total_baggages": 1, "nonfree_baggages": -3}
    results = [airline.domain.run(ctx, ToolCall("book_reservation", {**booking, **extra}))
               for extra in ({"payment_methods": twice}, {"payment_methods": negative},
                             {"payment_methods": [{"payment_id": card, "amount": 1}], **bags})]
    results.append(airline.domain.run(ctx, ToolCall("send_certificate",
                                                    {"user_id": "mia_li_3668", "amount": -50})))
    assert [getattr(r, "kind", None) for r in results] == ["tool_error"] * 4
    assert "only once" in results[0].message and "positive" in results[1].message
    assert "Bag counts" in results[2].message and "positive" in results[3].message
    assert json.dumps(ctx.state, sort_keys=True) == before  # nothing was written


def test_onestop_search_finds_a_connection_the_next_day():
    """τ² builds the next day as ``2024-05-{day + 1}``, missing ``2024-05-06``; we do not."""
    from sandgym.envs.tools.tau2_airline import search_onestop_flight

    def flight(number, origin, destination, leaves, arrives, date):
        return {"flight_number": number, "origin": origin, "destination": destination,
                "scheduled_departure_time_est": leaves, "scheduled_arrival_time_est": arrives,
                "dates": {date: {"status": "available", "available_seats": {"economy": 3},
                                 "prices": {"economy": 100}}}}

    state = {"flights": {"A": flight("A", "SFO", "ORD", "20:00:00", "02:00:00+1",
                                     "2024-05-05"),
                         "B": flight("B", "ORD", "BOS", "07:00:00", "10:00:00", "2024-05-06")}}
    (first, second), = search_onestop_flight(ToolContext(state), "SFO", "BOS", "2024-05-05")
    assert (first["flight_number"], first["date"]) == ("A", "2024-05-05")
    assert (second["flight_number"], second["date"]) == ("B", "2024-05-06")


def test_trl_tool_methods_read_object_lists_from_json_text(airline):
    """TRL passes every argument as text; a list of flights arrives as JSON and is read back."""
    tools = {t.name: t for t in Tau2AirlineEnv.tools}
    reply = tools["update_reservation_passengers"].to_action(
        reservation_id="3RK2T9",
        passengers='[{"first_name": "Anya", "last_name": "Garcia", "dob": "1992-11-12"}, '
                   '{"first_name": "Mei", "last_name": "Garcia", "dob": "1989-12-13"}]')
    airline.reset(options={"task_id": "airline/40"})
    observation, reward, terminated, _, _ = airline.step(reply)
    assert not terminated and "tool_error" not in observation and "bad_arguments" not in observation
    assert airline.step(tools["done"].to_action(message=""))[1] == 1.0
