"""The strict codec: only plain builtin values cross from the answer to the judge."""

from __future__ import annotations

import json
import math
import re
from collections import Counter, OrderedDict, defaultdict, namedtuple
from enum import IntEnum

import pytest

from sandgym.envs.code.sandbox_side.codec import SgCodecError, sg_decode, sg_encode


def roundtrip(value):
    return sg_decode(json.loads(json.dumps(sg_encode(value))))


@pytest.mark.parametrize("value", [
    None, True, False, 0, -7, 2**53, -(2**60), 10**400, 1.5, -0.0, "héllo\udcff", "",
    [1, [2, [3]]], (1, "a", (None,)), {1: "a", (2, 3): [4]}, {1, 2, 3}, frozenset({"x"}),
    b"\x00\xff", 3 + 4j, [], (), {}, set(), {"nested": {"deep": [(1, 2.5)]}},
])
def test_plain_values_roundtrip_with_their_exact_types(value):
    out = roundtrip(value)
    assert out == value
    assert type(out) is type(value)


def test_non_finite_floats_roundtrip():
    assert math.isnan(roundtrip(float("nan")))
    assert roundtrip(float("inf")) == float("inf")
    assert roundtrip([float("-inf")]) == [float("-inf")]


def test_bool_is_not_confused_with_int():
    assert roundtrip([True, 1]) == [True, 1]
    assert [type(v) for v in roundtrip([True, 1])] == [bool, int]


class EqualsAnything:
    def __eq__(self, other):
        return True


class LyingInt(int):
    def __eq__(self, other):
        return True

    __hash__ = int.__hash__


class LyingStr(str):
    def __eq__(self, other):
        return True

    __hash__ = str.__hash__


class LyingDict(dict):
    """Claims other contents through every method a careless encoder would call."""

    def __eq__(self, other):
        return True

    __hash__ = None

    def items(self):
        return iter([("lie", 0)])

    def keys(self):
        return ["lie"]

    def values(self):
        return [0]

    def __iter__(self):
        return iter(["lie"])

    def __len__(self):
        return 1

    def __getitem__(self, key):
        return 0


class LyingList(list):
    def __eq__(self, other):
        return True

    def __iter__(self):
        return iter(["lie"])

    def __len__(self):
        return 1

    def __getitem__(self, index):
        return "lie"


class LyingTuple(tuple):
    def __iter__(self):
        return iter(("lie",))


class LyingSet(set):
    def __iter__(self):
        return iter(["lie"])


class LyingScalarInt(int):
    def __int__(self):
        return 42

    def __index__(self):
        return 42

    def __repr__(self):
        return "42"


class LyingScalarStr(str):
    def __str__(self):
        return "lie"


class LyingFloat(float):
    def __float__(self):
        return 42.0

    def __eq__(self, other):
        return True

    __hash__ = float.__hash__


class LyingBytes(bytes):
    def __getitem__(self, index):
        return b"lie"

    def __bytes__(self):
        return b"lie"


class LyingComplex(complex):
    real = 42.0


class Level(IntEnum):
    HIGH = 3


Point = namedtuple("Point", "x y")


@pytest.mark.parametrize("value", [EqualsAnything(), [1, EqualsAnything()],
                                   {"k": EqualsAnything()}, (EqualsAnything(),), object(),
                                   len, range(3), iter([1]), bytearray(b"x")])
def test_anything_not_derived_from_a_carried_builtin_is_refused(value):
    with pytest.raises(SgCodecError, match=re.escape("only builtin types and their subclasses")):
        sg_encode(value)


@pytest.mark.parametrize(("value", "plain"), [
    (defaultdict(int, {3: 1, 1: 2}), {3: 1, 1: 2}),
    (Counter("abca"), {"a": 2, "b": 1, "c": 1}),
    (OrderedDict([("b", 1), ("a", 2)]), {"b": 1, "a": 2}),
    (Point(1, [2, 3]), (1, [2, 3])),
    (Level.HIGH, 3),
    ([Point(0, Counter("x"))], [(0, {"x": 1})]),
    ({Level.HIGH: defaultdict(list, {"k": [Point(1, 2)]})}, {3: {"k": [(1, 2)]}}),
])
def test_builtin_subclasses_arrive_as_the_plain_value_they_hold(value, plain):
    out = roundtrip(value)
    assert out == plain
    assert _types(out) == _types(plain)


def _types(value):
    """The exact types all through a value (== alone would let an int stand for a bool)."""
    if type(value) in (list, tuple):
        return (type(value), [_types(v) for v in value])
    if type(value) is dict:
        return (dict, [(_types(k), _types(v)) for k, v in value.items()])
    return type(value)


@pytest.mark.parametrize(("value", "plain"), [
    (LyingInt(3), 3), (LyingStr("x"), "x"), ({"k": LyingInt(1)}, {"k": 1}),
    ((LyingStr("a"),), ("a",)), ({LyingInt(2)}, {2}), (LyingFloat(1.5), 1.5),
    (LyingDict(a=1, b=2), {"a": 1, "b": 2}), (LyingList([1, 2]), [1, 2]),
    (LyingTuple((1, 2)), (1, 2)), (LyingSet({1, 2}), {1, 2}), (LyingScalarInt(7), 7),
    (LyingScalarStr("truth"), "truth"), (LyingBytes(b"ok"), b"ok"),
    (LyingComplex(1, 2), 1 + 2j), ([True, LyingInt(1)], [True, 1]),
])
def test_a_lying_subclass_is_sent_as_its_real_contents(value, plain):
    # The overridden __eq__/items/__iter__/__int__/__str__... never run: what the judge
    # gets is the plain value, which compares equal to nothing else.
    out = roundtrip(value)
    assert out == plain
    assert _types(out) == _types(plain)
    assert out != "something else" and out != [0] and out != {"lie": 0}


def test_an_ordered_dict_arrives_in_its_own_order():
    ordered = OrderedDict([("a", 1), ("b", 2), ("c", 3)])
    ordered.move_to_end("a")  # dict.items would still say a, b, c

    class Lying(OrderedDict):
        def items(self):
            return iter([("a", 1)])

    lying = Lying([("x", 1), ("y", 2)])
    lying.move_to_end("x")
    for value, keys in ((ordered, ["b", "c", "a"]), (lying, ["y", "x"])):
        decoded = sg_decode(json.loads(json.dumps(sg_encode(value))))
        assert type(decoded) is dict and list(decoded) == keys


def test_subclasses_obey_the_depth_limit():
    deep = LyingList()
    for _ in range(200):
        deep = LyingList([deep])
    with pytest.raises(SgCodecError, match=re.escape("nested deeper than 64 levels")):
        sg_encode(deep)
    loop = defaultdict(list)
    loop["self"] = loop
    with pytest.raises(SgCodecError, match=re.escape("nested deeper than 64 levels")):
        sg_encode(loop)


def test_too_deep_nesting_is_refused_both_ways():
    deep: list = []
    for _ in range(200):
        deep = [deep]
    with pytest.raises(SgCodecError, match=re.escape("nested deeper than 64 levels")):
        sg_encode(deep)
    with pytest.raises(SgCodecError, match=re.escape("nested deeper than 64 levels")):
        sg_decode(json.loads("[" * 100 + "]" * 100))


@pytest.mark.parametrize("raw", ['{"t": 1}', '{"zz": []}', '{"a": 1, "b": 2}', "1e400",
                                 '{"i": 5}', '{"d": [[1]]}', '{"c": [1, 2]}', '{"x": "1.0"}',
                                 "12345678901234567890"])
def test_malformed_encodings_are_refused(raw):
    with pytest.raises(SgCodecError):
        sg_decode(json.loads(raw))
