"""Strict value codec shared by the worker (untrusted side) and the judge (trusted side).

Only plain builtin values cross the boundary, checked recursively, so the judge only
ever compares plain values it decoded itself (``sg_decode`` accepts nothing else).

On the worker's side, an instance of a *subclass* of a carried builtin (a
``defaultdict``, ``Counter``, ``OrderedDict``, ``namedtuple``, ``IntEnum``...) is sent as
the plain value it really holds: correct answers often return one. Its contents are read
with the base type's own C-level methods (``dict.items(v)``, ``list.__iter__(v)``,
``int.__int__(v)``...), never with the subclass's, so an overridden ``__iter__``,
``items``, ``__int__`` or ``__str__`` cannot change what is sent, and an
``__eq__``-always-true subclass arrives as its underlying value and compares like it.
Any other object (not derived from a carried builtin) is refused.

JSON carries None, bool, str, list, small ints and finite floats as themselves; every
other value is a one-key object: ``{"t": [...]}`` tuple, ``{"s": [...]}`` set,
``{"f": [...]}`` frozenset, ``{"d": [[k, v], ...]}`` dict, ``{"b": base64}`` bytes,
``{"c": [re, im]}`` complex, ``{"x": "nan"|"inf"|"-inf"}`` float, ``{"i": hex}`` int
beyond 2**53 (hex because Python 3.11 limits decimal int parsing).
"""

import base64 as _sg_base64
import collections as _sg_collections
import math as _sg_math

SG_MAX_DEPTH = 64
_SG_INT_LIMIT = 1 << 53


class SgCodecError(Exception):
    """A value that may not cross the boundary, or a malformed encoding."""


def sg_encode(value, _depth=0, _type=type, _isfinite=_sg_math.isfinite):
    """Encode a plain value (a builtin subclass's instance as the plain value it holds).

    Raise SgCodecError for anything else, or for nesting deeper than SG_MAX_DEPTH.
    """
    if _depth > SG_MAX_DEPTH:
        raise SgCodecError(f"value nested deeper than {SG_MAX_DEPTH} levels")
    t = _type(value)
    if value is None or t is bool or t is str:
        return value
    if t is int:
        return value if -_SG_INT_LIMIT < value < _SG_INT_LIMIT else {"i": hex(value)}
    if t is float:
        return value if _isfinite(value) else {"x": repr(value)}
    d = _depth + 1
    if t is list:
        return [sg_encode(v, d) for v in value]
    if t is tuple:
        return {"t": [sg_encode(v, d) for v in value]}
    if t is dict:
        return {"d": [[sg_encode(k, d), sg_encode(v, d)] for k, v in value.items()]}
    if t is set:
        return {"s": [sg_encode(v, d) for v in value]}
    if t is frozenset:
        return {"f": [sg_encode(v, d) for v in value]}
    if t is bytes:
        return {"b": _sg_base64.b64encode(value).decode("ascii")}
    if t is complex:
        return {"c": [sg_encode(value.real, d), sg_encode(value.imag, d)]}
    return _sg_encode_subclass(value, t, _depth)


# How to read the plain value of an instance of a subclass, with the base type's own
# methods (looked up here, on the base, at import: before any answer code runs).
_SG_SCALAR_READERS = (
    (int, int.__int__),  # an exact int, even for an IntEnum or an int subclass
    (float, float.__float__),
    (str, str.__str__),
    (bytes, lambda v, _get=bytes.__getitem__, _all=slice(None): _get(v, _all)),
    (complex, lambda v, _re=complex.real.__get__, _im=complex.imag.__get__, _c=complex:
        _c(_re(v), _im(v))),
)
_SG_CONTAINER_READERS = (
    (list, list.__iter__, None),
    (tuple, tuple.__iter__, "t"),
    (set, set.__iter__, "s"),
    (frozenset, frozenset.__iter__, "f"),
)


def _sg_encode_subclass(value, t, depth, _issubclass=issubclass, _dict_items=dict.items,
                        _odict=_sg_collections.OrderedDict,
                        _odict_items=_sg_collections.OrderedDict.items):
    """Encode a builtin subclass's instance as its plain value, or refuse the object.

    Why: a correct answer may return a ``Counter`` or a ``namedtuple``; what matters is
    the data it holds. Only base-type methods read that data, so the subclass's own code
    never runs here and cannot make the sent value differ from the real contents.
    """
    for base, read in _SG_SCALAR_READERS:
        if _issubclass(t, base):
            return sg_encode(read(value), depth)
    d = depth + 1
    if _issubclass(t, dict):
        # an OrderedDict keeps its own order (move_to_end), which dict.items does not see
        items = _odict_items(value) if _issubclass(t, _odict) else _dict_items(value)
        return {"d": [[sg_encode(k, d), sg_encode(v, d)] for k, v in items]}
    for base, iterate, tag in _SG_CONTAINER_READERS:
        if _issubclass(t, base):
            items = [sg_encode(v, d) for v in iterate(value)]
            return items if tag is None else {tag: items}
    raise SgCodecError(f"cannot send a value of type {_sg_type_name(value)} (only builtin "
                       "types and their subclasses: int, float, str, bool, None, list, tuple, "
                       "dict, set, frozenset, bytes, complex)")


def _sg_type_name(value):
    try:
        return str(type(value).__qualname__)[:80]
    except Exception:  # noqa: BLE001 - a hostile metaclass
        return "<unnamed>"


def sg_decode(data, _depth=0):
    """Decode what sg_encode produced (after json.loads) into plain builtin values."""
    if _depth > SG_MAX_DEPTH:
        raise SgCodecError(f"value nested deeper than {SG_MAX_DEPTH} levels")
    t = type(data)
    if data is None or t is bool or t is str:
        return data
    if t is int:
        if not -_SG_INT_LIMIT < data < _SG_INT_LIMIT:
            raise SgCodecError("large int not hex-tagged")
        return data
    if t is float:
        if not _sg_math.isfinite(data):
            raise SgCodecError("non-finite float not tagged")
        return data
    d = _depth + 1
    if t is list:
        return [sg_decode(v, d) for v in data]
    if t is not dict or len(data) != 1:
        raise SgCodecError(f"malformed value of type {t.__name__}")
    (tag, body), = data.items()
    if tag == "i" and type(body) is str:
        return int(body, 16)
    if tag == "x" and body in ("nan", "inf", "-inf"):
        return float(body)
    if tag == "b" and type(body) is str:
        return _sg_base64.b64decode(body.encode("ascii"), validate=True)
    if type(body) is not list:
        raise SgCodecError(f"malformed tagged value {tag!r}")
    if tag == "t":
        return tuple(sg_decode(v, d) for v in body)
    if tag == "s":
        return {sg_decode(v, d) for v in body}
    if tag == "f":
        return frozenset(sg_decode(v, d) for v in body)
    if tag == "d":
        out = {}
        for pair in body:
            if type(pair) is not list or len(pair) != 2:
                raise SgCodecError("malformed dict item")
            out[sg_decode(pair[0], d)] = sg_decode(pair[1], d)
        return out
    if tag == "c" and len(body) == 2:
        re_, im = sg_decode(body[0], d), sg_decode(body[1], d)
        if type(re_) is not float or type(im) is not float:
            raise SgCodecError("malformed complex")
        return complex(re_, im)
    raise SgCodecError(f"unknown tag {tag!r}")
