"""Unit tests of the tool family's own logic: the call parser, schemas, state diffs."""

from __future__ import annotations

import json
import random
from typing import TypedDict

import pytest

from sandgym.envs.tools.calls import MAX_REPLY_CHARS, ToolCall, parse_reply
from sandgym.envs.tools.diff import changes, compare
from sandgym.envs.tools.schema import ArgumentError, FunctionTool


def test_parses_hermes_tags_openai_tool_calls_and_bare_json():
    tags = parse_reply('I will look.\n<tool_call>{"name": "f", "arguments": {"x": 1}}</tool_call>'
                       '<tool_call>{"name": "g", "arguments": {}}</tool_call>')
    assert tags.calls == (ToolCall("f", {"x": 1}), ToolCall("g", {}))
    assert tags.text == "I will look."
    openai = parse_reply(json.dumps({"tool_calls": [{"type": "function", "function": {
        "name": "f", "arguments": json.dumps({"x": 2})}}]}))
    assert openai.calls == (ToolCall("f", {"x": 2}),)
    bare = parse_reply('```json\n{"name": "f", "parameters": {"x": 3}}\n```')
    assert bare.calls == (ToolCall("f", {"x": 3}),)
    listed = parse_reply('[{"name": "f", "arguments": {}}, {"name": "g"}]')
    assert [c.name for c in listed.calls] == ["f", "g"]
    plain = parse_reply("Hello, how can I help?")
    assert plain.calls == () and plain.error is None and plain.text == "Hello, how can I help?"


@pytest.mark.parametrize("reply", [
    '<tool_call>{"name": "f", "arguments": </tool_call>',
    '<tool_call>{"arguments": {}}</tool_call>',
    '<tool_call>{"name": "f", "arguments": [1, 2]}</tool_call>',
    '<tool_call>{"name": "f", "arguments": "not json"}</tool_call>',
    '<tool_call>{"name": "f", "arguments": {"x": NaN}}</tool_call>',
    '<tool_call>' + "[" * 5000 + "]" * 5000 + '</tool_call>',
    '{"name": "f", "arguments": {',
    '{"tool_calls": "f"}',
    '{"tool_calls": []}',
    "x" * (MAX_REPLY_CHARS + 1),
])
def test_malformed_calls_are_parse_errors_never_exceptions(reply):
    parsed = parse_reply(reply)
    assert parsed.calls == () and parsed.error is not None
    assert parsed.error.kind == "parse_error" and parsed.error.message


def test_random_garbage_never_raises():
    rng = random.Random(0)
    alphabet = '{}[]":,<>/tool_call name arguments 0123456789\\nNaN-'
    for _ in range(2000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randrange(60)))
        parse_reply(text)  # must not raise


def _tool(ctx, order_id: str, count: int, items: list[str], note: str | None = None,
          ratio: float = 1.0) -> str:
    """Do a thing.

    Args:
        order_id: The order.
        count: How many.
        items: The items.
        note: A note.
        ratio: A ratio.
    """
    return "ok"


def test_schema_from_signature_and_docstring():
    tool = FunctionTool.of(_tool)
    schema = tool.openai_schema()["function"]
    assert schema["description"] == "Do a thing."
    props = schema["parameters"]["properties"]
    assert props["count"] == {"type": "integer", "description": "How many."}
    assert props["items"]["type"] == "array" and props["items"]["items"] == {"type": "string"}
    assert schema["parameters"]["required"] == ["order_id", "count", "items"]
    assert tool.validate({"order_id": "a", "count": 2, "items": ["x"], "ratio": 2}) == {
        "order_id": "a", "count": 2, "items": ["x"], "ratio": 2.0}


@pytest.mark.parametrize(("arguments", "message"), [
    ({"order_id": "a", "count": 1}, "needs the argument(s) ['items']"),
    ({"order_id": 1, "count": 1, "items": []}, "order_id must be of type string"),
    ({"order_id": "a", "count": True, "items": []}, "count must be of type integer"),
    ({"order_id": "a", "count": 1.5, "items": []}, "count must be of type integer"),
    ({"order_id": "a", "count": 1, "items": [1]}, "items[0] must be of type string"),
    ({"order_id": "a", "count": 1, "items": [], "bogus": 1}, "has no parameter(s) ['bogus']"),
    ({"order_id": "a", "count": 1, "items": [], "ratio": float("inf")}, "finite"),
    ([1, 2], "must be a JSON object"),
])
def test_bad_arguments_say_what_is_wrong(arguments, message):
    with pytest.raises(ArgumentError, match=__import__("re").escape(message)):
        FunctionTool.of(_tool).validate(arguments)


class Leg(TypedDict):
    """A typed object argument."""

    flight_number: str
    seats: int


def _legs(ctx, legs: list[Leg]) -> int:
    """Count the seats.

    Args:
        legs: The legs.
    """
    return sum(leg["seats"] for leg in legs)


def test_typeddict_arguments_are_closed_objects():
    t = FunctionTool.of(_legs)
    items = t.parameters["properties"]["legs"]["items"]
    assert items == {"type": "object", "additionalProperties": False,
                     "required": ["flight_number", "seats"],
                     "properties": {"flight_number": {"type": "string"},
                                    "seats": {"type": "integer"}}}
    assert t.validate({"legs": [{"flight_number": "A", "seats": 2}]}) == {
        "legs": [{"flight_number": "A", "seats": 2}]}
    for bad, message in [({"flight_number": "A"}, "needs the field"),
                         ({"flight_number": "A", "seats": 2, "x": 1}, "no field"),
                         ({"flight_number": "A", "seats": "2"}, r"legs\[0\]\.seats")]:
        with pytest.raises(ArgumentError, match=message):
            t.validate({"legs": [bad]})


def test_diff_ignores_volatile_and_compares_unordered_lists_as_multisets():
    before = {"a": {"t": 1, "v": [1, 2]}, "b": [{"x": 1}, {"x": 2}]}
    after = {"a": {"t": 9, "v": [2, 1]}, "b": [{"x": 1}, {"x": 3}]}
    made = changes(before, after, volatile=("a/t",), unordered=("a/v",))
    assert made == {("b", 1, "x"): 3}
    assert compare(made, dict(made)).equal
    other = changes(before, {**after, "c": 1}, volatile=("a/t",), unordered=("a/v",))
    diff = compare(made, other)
    assert not diff.equal and diff.mismatches[0] == {"path": "c", "gold": "<unchanged>",
                                                     "agent": 1}
    assert changes([1, 2], [2, 1]) != {}
    assert compare({("n",): 1}, {("n",): 1.0}).equal
    assert not compare({("n",): 1}, {("n",): True}).equal


def test_pass_hat_k_is_the_chance_that_all_k_samples_pass():
    from sandgym.envs.metrics import mean_pass_hat_k, pass_at_k, pass_hat_k

    assert pass_hat_k(4, 2, 2) == pytest.approx(1 / 6)
    assert pass_hat_k(4, 4, 4) == 1.0 and pass_hat_k(4, 3, 4) == 0.0
    assert pass_hat_k(5, 3, 1) == pytest.approx(pass_at_k(5, 3, 1))
    assert mean_pass_hat_k([(2, 2), (2, 1), (1, 1)], 2) == pytest.approx(0.5)


def test_schema_minimum_maximum_and_numbers_too_large_for_a_float():
    spec = FunctionTool(name="f", description="f", func=lambda **k: k, parameters={
        "type": "object", "required": [],
        "properties": {"n": {"type": "integer", "minimum": 1, "maximum": 100},
                       "x": {"type": "number", "maximum": 2.5}}})
    assert spec.validate({"n": 100, "x": 2}) == {"n": 100, "x": 2.0}
    for bad, words in (({"n": 101}, "at most 100"), ({"n": 0}, "at least 1"),
                       ({"n": 10**30}, "a larger value"), ({"x": 3}, "at most 2.5"),
                       ({"x": 10**400}, "too large")):
        with pytest.raises(ArgumentError, match=words):
            spec.validate(bad)
