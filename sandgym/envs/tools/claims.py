"""What the agent said, and whether it could have known it: the required-output matcher
and the over-claiming check.

A required output (τ²'s ``communicate_info``) is found when it occurs in what the agent
said as a whole token (`mentions`). Matching anywhere in free text can be gamed by
saying many candidates ("your balance is 0 1 2 ... 500"), so the grader also counts the
numbers the agent said that it was never shown (`Grounding`): a number is *grounded*
when an observation showed it to the agent (the instruction, a user message, a tool
result) before the agent itself wrote it (in a message or a call's arguments, read as
the tools decode them, so digits spelled as JSON escapes count), so a number the agent
made up and had echoed back (an argument written into the state and read again, a user
simulator repeating it) stays ungrounded. Error observations and results of tools marked
``computes`` (the calculator, model-written code) ground nothing: errors repeat the
agent's own input ("Reservation 5000 not found"), and a computing tool can show any
number the agent asks for. More than `OVERCLAIM_BUDGET`
distinct ungrounded numbers, besides the required outputs' own, is *over-claiming*
(`over_claimed`): the outputs check fails.

Limits, on purpose: words are not budgeted (the grader does not know a word's
alternatives), so a task whose only check is a guessable word is refused by the loader
instead (``weak_check``); a dump of every number the agent was shown is not
over-claiming, as each was looked up.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

__all__ = ["OVERCLAIM_BUDGET", "Grounding", "mentions", "normalize", "number_tokens",
           "over_claimed"]

OVERCLAIM_BUDGET = 3
"""Ungrounded numbers an answer may carry besides the required ones: room for a total the
agent added up or a figure quoted from the policy, not for a list of guesses."""

_BEFORE = r"(?<![0-9a-z_])(?<![0-9]\.)"
_AFTER = r"(?![0-9a-z_]|\.[0-9])"
_NUMBER = re.compile(_BEFORE + r"[0-9]+(?:\.[0-9]+)?" + _AFTER)


def normalize(text: str) -> str:
    """Lower case, commas dropped ("1,093.34" is 1093.34), runs of space as one."""
    return re.sub(r"\s+", " ", text.lower().replace(",", "")).strip()


def mentions(spoken: str, output: str) -> bool:
    """Whether ``output`` occurs in ``spoken`` (both normalized) as a whole token: "4" is
    not in "14", "v4", "4.5" or "1.4", so a required number cannot be hit inside another
    one; the same boundaries delimit `number_tokens`, so every number that can satisfy
    a required output is one the over-claiming check counts."""
    return re.search(_BEFORE + re.escape(output) + _AFTER, spoken) is not None


def _canonical(token: str) -> str:
    """One spelling per value ("60", "60.0", "060" are 60), so grounding is by value."""
    try:
        return format(Decimal(token).normalize(), "f")
    except InvalidOperation:  # pragma: no cover - the pattern only yields decimals
        return token


def number_tokens(text: str) -> set[str]:
    """The numbers in ``text`` (normalized here), canonical, as whole tokens."""
    return {_canonical(t) for t in _NUMBER.findall(normalize(text))}


class Grounding:
    """The numbers an episode showed the agent before the agent wrote them.

    Feed it the episode in order: `agent` for everything the agent wrote (each reply,
    whole: its messages and its calls' arguments), `observed` for everything it was
    shown (the first observation, user replies, results of tools that do not compute).
    """

    def __init__(self) -> None:
        self.authored: set[str] = set()
        self.grounded: set[str] = set()

    def agent(self, text: str) -> None:
        """The agent wrote ``text``: its new numbers can no longer be grounded."""
        self.authored |= number_tokens(text) - self.grounded

    def observed(self, text: str) -> None:
        """The agent was shown ``text``: its numbers the agent had not written are grounded."""
        self.grounded |= number_tokens(text) - self.authored


def over_claimed(said: str, grounding: Grounding, required: tuple[str, ...],
                 budget: int = OVERCLAIM_BUDGET) -> list[str]:
    """The ungrounded numbers in ``said`` (besides the required outputs' own) when there are
    more than ``budget`` of them, else []: an answer that lists guesses pays nothing."""
    allowed = set().union(*(number_tokens(o) for o in required)) if required else set()
    ungrounded = number_tokens(said) - grounding.grounded - allowed
    if len(ungrounded) <= budget:
        return []
    return sorted(ungrounded, key=lambda t: (len(t), t))
