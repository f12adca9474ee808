"""Lossless, strict JSON encoding of Gymnasium spaces and of the values they hold.

This file runs on both sides of the wire: on the host, and copied alone into the
isolated env's container (so it imports only the stdlib, numpy and gymnasium, never
sandgym). Decoding is strict because the host decodes what untrusted code sent: every
dtype comes from an allow-list, every size is bounded, and a value is decoded *by the
space the host already holds* (its dtype and shape come from the space, never from the
message), so a reply cannot smuggle an object array or a giant shape past the host.
Arrays travel as base64 of their raw bytes, so floats (NaN payloads, -0.0) round-trip
bit for bit.
"""

from __future__ import annotations

import base64
from typing import Any

import numpy as np
from gymnasium import spaces

__all__ = ["CodecError", "encode_space", "decode_space", "encode_value", "decode_value",
           "MAX_ELEMENTS", "MAX_DEPTH"]

MAX_ELEMENTS = 1 << 24
"""Most elements one Box/MultiDiscrete/MultiBinary may declare (16 Mi)."""
MAX_DEPTH = 8
"""Deepest nesting of Dict/Tuple spaces accepted."""
MAX_CHARSET = 1 << 16
"""Most distinct characters a Text space may declare."""
_DTYPES = frozenset({"bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32",
                     "uint64", "float16", "float32", "float64"})


class CodecError(ValueError):
    """A space or value cannot be encoded, or a message does not decode to one."""


# ---------------------------------------------------------------------------- helpers


def _b64(array: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(array).tobytes()).decode("ascii")


def _dtype(name: Any) -> np.dtype:
    if not isinstance(name, str) or name not in _DTYPES:
        raise CodecError(f"dtype {name!r} is not allowed (one of {sorted(_DTYPES)})")
    return np.dtype(name)


def _shape(value: Any) -> tuple[int, ...]:
    if not isinstance(value, list) or len(value) > 32:
        raise CodecError(f"a shape must be a list of at most 32 ints, got {value!r:.80}")
    shape = []
    total = 1
    for dim in value:
        if type(dim) is not int or dim < 0:
            raise CodecError(f"bad dimension {dim!r:.40} in shape")
        shape.append(dim)
        total *= dim
        if total > MAX_ELEMENTS:
            raise CodecError(f"shape {value!r:.80} has more than {MAX_ELEMENTS} elements")
    return tuple(shape)


def _array(data: Any, dtype: np.dtype, shape: tuple[int, ...]) -> np.ndarray:
    """Decode base64 raw bytes into exactly ``shape`` of ``dtype`` (a fresh, writable copy)."""
    if not isinstance(data, str):
        raise CodecError("array data must be a base64 string")
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(data) > 4 * (expected // 3 + 1) + 4:
        raise CodecError(f"array data is longer than {expected} bytes")
    try:
        raw = base64.b64decode(data, validate=True)
    except (ValueError, TypeError) as e:
        raise CodecError(f"array data is not base64: {e}") from None
    if len(raw) != expected:
        raise CodecError(f"array data has {len(raw)} bytes, the space needs {expected}")
    return np.frombuffer(raw, dtype=dtype).reshape(shape).copy()


def _int(value: Any, what: str) -> int:
    if type(value) is not int:
        raise CodecError(f"{what} must be an int, got {type(value).__name__}")
    return value


def _obj(message: Any, what: str) -> dict:
    if not isinstance(message, dict):
        raise CodecError(f"{what} must be a JSON object, got {type(message).__name__}")
    return message


# ---------------------------------------------------------------------------- spaces


def encode_space(space: spaces.Space, depth: int = 0) -> dict[str, Any]:
    """A JSON description of ``space`` (Discrete, Box, MultiDiscrete, MultiBinary, Text,
    and Dict/Tuple of those)."""
    if depth > MAX_DEPTH:
        raise CodecError(f"spaces nested deeper than {MAX_DEPTH}")
    if isinstance(space, spaces.Discrete):
        return {"type": "Discrete", "n": int(space.n), "start": int(space.start)}
    if isinstance(space, spaces.Box):
        return {"type": "Box", "dtype": space.dtype.name, "shape": list(space.shape),
                "low": _b64(space.low), "high": _b64(space.high)}
    if isinstance(space, spaces.MultiDiscrete):
        return {"type": "MultiDiscrete", "dtype": space.dtype.name,
                "shape": list(space.shape), "nvec": _b64(space.nvec),
                "start": _b64(space.start)}
    if isinstance(space, spaces.MultiBinary):
        return {"type": "MultiBinary", "shape": list(space.shape)}
    if isinstance(space, spaces.Text):
        return {"type": "Text", "min_length": int(space.min_length),
                "max_length": int(space.max_length),
                "charset": "".join(sorted(space.character_set))}
    if isinstance(space, spaces.Dict):
        return {"type": "Dict",
                "spaces": [[key, encode_space(sub, depth + 1)] for key, sub in space.items()]}
    if isinstance(space, spaces.Tuple):
        return {"type": "Tuple", "spaces": [encode_space(sub, depth + 1) for sub in space]}
    raise CodecError(f"space {type(space).__name__} is not supported across the container "
                     f"boundary (Discrete, Box, MultiDiscrete, MultiBinary, Text, Dict, Tuple)")


def decode_space(message: Any, depth: int = 0) -> spaces.Space:
    """Rebuild a space from `encode_space`'s output, refusing anything out of bounds."""
    if depth > MAX_DEPTH:
        raise CodecError(f"spaces nested deeper than {MAX_DEPTH}")
    m = _obj(message, "a space")
    kind = m.get("type")
    if kind == "Discrete":
        n, start = _int(m.get("n"), "Discrete.n"), _int(m.get("start"), "Discrete.start")
        if n < 1 or abs(start) >= 1 << 62 or n >= 1 << 62:
            raise CodecError(f"Discrete(n={n}, start={start}) is out of range")
        return spaces.Discrete(n, start=start)
    if kind in ("Box", "MultiDiscrete"):
        dtype, shape = _dtype(m.get("dtype")), _shape(m.get("shape"))
        if kind == "Box":
            low, high = _array(m.get("low"), dtype, shape), _array(m.get("high"), dtype, shape)
            return spaces.Box(low=low, high=high, shape=shape, dtype=dtype)
        if dtype.kind not in "iu":
            raise CodecError(f"MultiDiscrete needs an integer dtype, got {dtype}")
        nvec, start = _array(m.get("nvec"), dtype, shape), _array(m.get("start"), dtype, shape)
        if (nvec < 1).any():
            raise CodecError("MultiDiscrete.nvec must be >= 1 everywhere")
        return spaces.MultiDiscrete(nvec, dtype=dtype, start=start)
    if kind == "MultiBinary":
        shape = _shape(m.get("shape"))
        return spaces.MultiBinary(list(shape) if len(shape) != 1 else shape[0])
    if kind == "Text":
        low, high = _int(m.get("min_length"), "min_length"), _int(m.get("max_length"),
                                                                   "max_length")
        charset = m.get("charset")
        if not isinstance(charset, str) or not 0 < len(charset) <= MAX_CHARSET:
            raise CodecError("Text.charset must be a non-empty string")
        if not 0 <= low <= high <= MAX_ELEMENTS:
            raise CodecError(f"Text lengths {low}..{high} are out of range")
        return spaces.Text(high, min_length=low, charset=charset)
    if kind == "Dict":
        items = m.get("spaces")
        if not isinstance(items, list) or len(items) > 1024:
            raise CodecError("Dict.spaces must be a list of at most 1024 [key, space] pairs")
        out: dict[str, spaces.Space] = {}
        for item in items:
            if (not isinstance(item, list) or len(item) != 2 or not isinstance(item[0], str)
                    or item[0] in out):
                raise CodecError("Dict.spaces entries must be unique [str, space] pairs")
            out[item[0]] = decode_space(item[1], depth + 1)
        return spaces.Dict(out)
    if kind == "Tuple":
        items = m.get("spaces")
        if not isinstance(items, list) or len(items) > 1024:
            raise CodecError("Tuple.spaces must be a list of at most 1024 spaces")
        return spaces.Tuple([decode_space(item, depth + 1) for item in items])
    raise CodecError(f"unknown space type {kind!r:.40}")


# ---------------------------------------------------------------------------- values


def encode_value(space: spaces.Space, value: Any) -> Any:
    """``value`` as JSON, by the shape of ``space`` (it need not be in the space)."""
    if isinstance(space, spaces.Discrete):
        return int(value)
    if isinstance(space, (spaces.Box, spaces.MultiDiscrete, spaces.MultiBinary)):
        array = np.asarray(value)
        if array.shape != space.shape:
            raise CodecError(f"value of shape {array.shape} does not fit {space}")
        return _b64(array.astype(space.dtype, copy=False))
    if isinstance(space, spaces.Text):
        if not isinstance(value, str):
            raise CodecError(f"a Text value must be a str, got {type(value).__name__}")
        return value
    if isinstance(space, spaces.Dict):
        if not isinstance(value, dict) or set(value) != set(space.keys()):
            raise CodecError(f"value does not have the keys of {space}")
        # In the value's own key order, which the host keeps (JSON objects are ordered).
        return {key: encode_value(space[key], item) for key, item in value.items()}
    if isinstance(space, spaces.Tuple):
        if not isinstance(value, (tuple, list)) or len(value) != len(space):
            raise CodecError(f"value does not have the length of {space}")
        return [encode_value(sub, item) for sub, item in zip(space, value, strict=True)]
    raise CodecError(f"space {type(space).__name__} is not supported")


def decode_value(space: spaces.Space, message: Any) -> Any:
    """The value ``message`` encodes, typed as the space's own samples are.

    Raises CodecError when the message does not have the space's structure; whether the
    value lies *in* the space is the caller's check (``space.contains``).
    """
    if isinstance(space, spaces.Discrete):
        return space.dtype.type(_int(message, "a Discrete value"))
    if isinstance(space, (spaces.Box, spaces.MultiDiscrete, spaces.MultiBinary)):
        return _array(message, space.dtype, space.shape)
    if isinstance(space, spaces.Text):
        if not isinstance(message, str) or len(message) > space.max_length:
            raise CodecError(f"a Text value must be a str of at most {space.max_length} chars")
        return message
    if isinstance(space, spaces.Dict):
        m = _obj(message, "a Dict value")
        if set(m) != set(space.keys()):
            raise CodecError("a Dict value must have exactly the space's keys")
        return {key: decode_value(space[key], item) for key, item in m.items()}
    if isinstance(space, spaces.Tuple):
        if not isinstance(message, list) or len(message) != len(space):
            raise CodecError("a Tuple value must be a list of the space's length")
        return tuple(decode_value(sub, item) for sub, item in zip(space, message, strict=True))
    raise CodecError(f"space {type(space).__name__} is not supported")
