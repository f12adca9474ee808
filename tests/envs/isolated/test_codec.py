"""The space/value codec: lossless both ways, strict on what the host decodes."""

from __future__ import annotations

import json

import numpy as np
import pytest
from gymnasium import spaces

from sandgym.envs.isolated import codec

SPACE = spaces.Dict({
    "box": spaces.Box(-1.0, 1.0, shape=(2, 3), dtype=np.float32),
    "wide": spaces.Box(-np.inf, np.inf, shape=(4,), dtype=np.float64),
    "n": spaces.Discrete(5, start=-2),
    "text": spaces.Text(10, min_length=2, charset="abc"),
    "tuple": spaces.Tuple((spaces.MultiDiscrete([3, 4], start=[1, 0]), spaces.MultiBinary(3))),
})


def wire(message):
    return json.loads(json.dumps(message))


def test_spaces_round_trip():
    rebuilt = codec.decode_space(wire(codec.encode_space(SPACE)))
    assert rebuilt == SPACE


def test_values_round_trip_bit_for_bit():
    SPACE.seed(3)
    for _ in range(20):
        value = SPACE.sample()
        back = codec.decode_value(SPACE, wire(codec.encode_value(SPACE, value)))
        assert SPACE.contains(back)
        assert back["box"].dtype == np.float32 and np.array_equal(back["box"], value["box"])
        assert type(back["n"]) is type(value["n"]) and back["n"] == value["n"]
        assert back["text"] == value["text"]
    special = np.array([np.nan, -0.0, np.inf, -np.inf])
    box = spaces.Box(-np.inf, np.inf, shape=(4,), dtype=np.float64)
    back = codec.decode_value(box, wire(codec.encode_value(box, special)))
    assert back.tobytes() == special.tobytes()


@pytest.mark.parametrize("message", [
    {"type": "Box", "dtype": "object", "shape": [1], "low": "", "high": ""},
    {"type": "Box", "dtype": "float32", "shape": [1 << 20, 1 << 20], "low": "", "high": ""},
    {"type": "Box", "dtype": "float32", "shape": [2], "low": "AAAA", "high": "AAAA"},
    {"type": "Discrete", "n": True, "start": 0},
    {"type": "Pickle", "data": "..."},
    {"type": "Tuple", "spaces": [{"type": "Tuple", "spaces": []}] * 2000},
    [1, 2, 3],
])
def test_hostile_space_descriptions_are_refused(message):
    with pytest.raises(codec.CodecError):
        codec.decode_space(message)


def test_hostile_values_are_refused():
    box = SPACE["box"]
    with pytest.raises(codec.CodecError):
        codec.decode_value(box, "AAAA")                       # wrong byte count
    with pytest.raises(codec.CodecError):
        codec.decode_value(box, "A" * 10_000)                 # far too long
    with pytest.raises(codec.CodecError):
        codec.decode_value(SPACE["n"], 1.5)                   # not an int
    with pytest.raises(codec.CodecError):
        codec.decode_value(SPACE["text"], "a" * 11)           # longer than the space
    with pytest.raises(codec.CodecError):
        codec.decode_value(SPACE, {"box": ""})                # keys missing
