"""A Text space that holds any text a model writes."""

from __future__ import annotations

import string
from typing import Any

import numpy as np
from gymnasium import spaces

__all__ = ["AnyText", "TEXT_MAX_LENGTH"]

TEXT_MAX_LENGTH = 1 << 20
"""Longest observation or action, in characters (about 250k tokens)."""
_SAMPLE_CHARSET = string.ascii_letters + string.digits + " "
_SAMPLE_MAX_LENGTH = 64


class AnyText(spaces.Text):
    """`gymnasium.spaces.Text` whose members are *all* strings up to ``max_length``.

    A charset listing every Unicode code point would cost megabytes per space, so
    membership ignores the charset; it is used only for sampling, which draws short
    strings of letters, digits and spaces (random noise that is safe to execute and
    deterministic under a seed, e.g. no ``$$`` for a shell to expand).

    Example:
        >>> space = AnyText(max_length=100)
        >>> "print('héllo 🙂')\\n" in space
        True
    """

    def __init__(self, max_length: int = TEXT_MAX_LENGTH, *, min_length: int = 0,
                 seed: int | np.random.Generator | None = None) -> None:
        super().__init__(max_length=max_length, min_length=min_length,
                         charset=_SAMPLE_CHARSET, seed=seed)

    def contains(self, x: Any) -> bool:
        """Any str whose length is within bounds."""
        return isinstance(x, str) and self.min_length <= len(x) <= self.max_length

    def sample(self, mask: Any = None, probability: Any = None) -> str:
        """A short random string (at most 64 chars unless a mask gives the length)."""
        if mask is None and probability is None:
            high = min(self.max_length, max(self.min_length, _SAMPLE_MAX_LENGTH))
            length = int(self.np_random.integers(self.min_length, high + 1))
            return super().sample(mask=(length, None))
        return super().sample(mask=mask, probability=probability)

    def __repr__(self) -> str:
        return f"AnyText({self.min_length}, {self.max_length})"

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, AnyText) and self.min_length == other.min_length
                and self.max_length == other.max_length)
