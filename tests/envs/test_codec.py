"""The strict codec: only exact builtin types cross from the answer to the judge."""

from __future__ import annotations

import json
import math
import re

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


@pytest.mark.parametrize("value", [EqualsAnything(), LyingInt(3), LyingStr("x"),
                                   [1, EqualsAnything()], {"k": LyingInt(1)},
                                   (LyingStr("a"),), {LyingInt(2)}, object(), len,
                                   range(3), iter([1])])
def test_anything_but_exact_builtins_is_refused(value):
    with pytest.raises(SgCodecError, match=re.escape("only exact builtin types")):
        sg_encode(value)


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
