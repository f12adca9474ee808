"""What the agent said, and whether it could have known it: the required-output matcher
and the over-claiming check.

A required output (τ²'s ``communicate_info``) is found when it occurs in what the agent
said as a whole token (`mentions`). Matching anywhere in free text can be gamed by
saying many candidates ("your balance is 0 1 2 ... 500"), so the grader also counts the
numbers the agent said that it was never shown (`Grounding`): a number is *grounded*
when an observation showed it to the agent (the system prompt with the domain's policy,
the instruction, a user message, a tool result) before the agent itself wrote it (in a
message or a call's arguments, read as the tools decode them, so digits spelled as JSON
escapes count), so a number the agent made up and had echoed back (an argument written
into the state and read again, a user simulator repeating it) stays ungrounded. Error
observations and results of tools marked ``computes`` (the calculator, model-written
code) ground nothing: errors repeat the agent's own input ("Reservation 5000 not
found"), and a computing tool can show any number the agent asks for. More than
`OVERCLAIM_BUDGET` distinct ungrounded numbers, besides the required outputs' own, is
*over-claiming* (`over_claimed`): the outputs check fails.

Grounded numbers are budgeted too, generously: saying more than `LISTING_BUDGET`
distinct grounded numbers besides the required outputs' own is *over-listing*
(`over_listed`), which fails the outputs check the same way. Each number of a dump was
looked up, but a dump proves no look-up of the one that was asked for: pasting the whole
product catalogue (1,267 distinct numbers) into the final message held retail/62's
"302.67" and paid 1.0 without identifying the customer or the order.

A number with a unit written onto it ("64GB", "1000mAh") is a token of its own, grounded
and counted like a bare number: a required "64GB" cannot be bought by saying "16GB 32GB
64GB 128GB" either, and a result showing "64GB" grounds the "64" of "64 GB" as well. An
id that starts with digits counts the same way (airline's reservation "2FBBAH"): the
tools or the user show it before an honest agent repeats it. Ordinals and clock times
("15th", "10am") are not counted, as before: they restate a date or a time the tools
print in another form. Tokens that start with a letter ("W2378156", "user_9620") are
names, not numbers, and stay uncounted; so are the markers of the agent's numbered lists
(`strip_list_markers`), which also answer nothing. Sums of shown numbers are not grounded:
on public airline episodes two or three shown numbers add up to every integer below
3,000, and the required totals are such sums; a total takes room in the budget instead.

`Grounding` also records which required outputs a look-up showed the agent
(`Grounding.looked_up`): the outputs that the result of a tool that reads (not an error,
not a ``computes`` tool, not the user's words) showed before the agent wrote them into a
call. The env's ``fraction`` mode pays only those: an output the user's own words hold,
or one the agent listed among likely words, proves nothing the do-nothing answer does not.

Limits, on purpose: words are not budgeted (the grader does not know a word's
alternatives), so a task whose only check is a guessable word is refused by the loader
instead (``weak_check``), and a candidate list shorter than the budgets is not caught (a
single product's 16 prices, read from its details, stay within `LISTING_BUDGET`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation

__all__ = ["LISTING_BUDGET", "OVERCLAIM_BUDGET", "Grounding", "mentions", "normalize",
           "number_tokens", "over_claimed", "over_listed", "strip_list_markers"]

OVERCLAIM_BUDGET = 3
"""Ungrounded numbers an answer may carry besides the required ones: room for a total the
agent added up (figures quoted from the policy are grounded), not for a list of guesses."""

LISTING_BUDGET = 100
"""Grounded numbers an answer may repeat besides the required ones, over the whole episode.
Sized on honest conversations, with room: in 364 public τ-bench/τ²-bench trajectories
(gpt-4o and Claude Sonnet 4.5 on airline, NVIDIA's ToolOrchestra with GPT-5 on retail)
the median was 4-10 and the most 53 (retail/100: three orders' items restated as JSON);
20 would have failed 31 of them. One product's whole details (at most 45 numbers) fit;
the catalogue (1,267) does not."""

_BEFORE = r"(?<![0-9a-z_])(?<![0-9]\.)"
_AFTER = r"(?![0-9a-z_]|\.[0-9])"
_NUMBER = re.compile(_BEFORE + r"([0-9]+(?:\.[0-9]+)?)([a-z]+)?" + _AFTER)
_NOT_UNITS = frozenset({"st", "nd", "rd", "th", "am", "pm"})
"""Suffixes that make an ordinal or a clock time ("15th", "10am"), not a quantity: such a
token restates a date or time the tools print otherwise ("2024-05-15", "10:00:00"), so it
is left uncounted, as every digit-letter token was before units were."""


_LIST_MARKER = re.compile(
    r"^(?P<lead>[ \t]*(?:[-*+>#][ \t]*)*(?:\*\*|__)?)(?P<n>[0-9]{1,3})[.)](?=\s|\*\*|__|$)",
    re.MULTILINE)
"""A list item's number at the start of a line ("1. ", "2) ", "- 3. ", "**4.** ",
"### 5. "), read before `normalize` joins the lines."""


def strip_list_markers(text: str) -> str:
    """``text`` without the numbers of its numbered lists: they are formatting, neither a
    claim nor an answer, so they are dropped both from the numbers counted against the
    budgets and from the text required outputs are looked for in.

    A marker is formatting only while it numbers a list: its value is 1 (a list, or a
    nested one, begins) or one more than a previous marker of ``text`` that is still
    open (a nested list may end and its parent go on: "1. 2. 1. 2. 3."). Anything
    else at the start of a line ("60. That is your balance", a list that begins at 5)
    stays a number. So a candidate list written as a numbered list ("1. ... 500.")
    loses its markers altogether: they hit no required output and ground nothing.
    """
    open_levels: list[int] = []

    def drop(match: re.Match[str]) -> str:
        value = int(match["n"])
        if value == 1:
            open_levels.append(1)
            return match["lead"]
        for depth in range(len(open_levels) - 1, -1, -1):
            if open_levels[depth] + 1 == value:
                del open_levels[depth + 1:]
                open_levels[depth] = value
                return match["lead"]
        return match[0]

    return _LIST_MARKER.sub(drop, text)


def normalize(text: str) -> str:
    """Lower case, commas dropped ("1,093.34" is 1093.34), runs of space as one."""
    return re.sub(r"\s+", " ", text.lower().replace(",", "")).strip()


def mentions(spoken: str, output: str) -> bool:
    """Whether ``output`` occurs in ``spoken`` (both normalized) as a whole token: "4" is
    not in "14", "v4", "4.5" or "1.4", so a required number cannot be hit inside another
    one; the same boundaries delimit `number_tokens`, so every number (bare or with a
    unit, "64gb") that can satisfy a required output is one the over-claiming check
    counts."""
    return re.search(_BEFORE + re.escape(output) + _AFTER, spoken) is not None


def _canonical(token: str) -> str:
    """One spelling per value ("60", "60.0", "060" are 60), so grounding is by value."""
    try:
        return format(Decimal(token).normalize(), "f")
    except InvalidOperation:  # pragma: no cover - the pattern only yields decimals
        return token


def _tokens(text: str) -> list[tuple[str, str]]:
    """(canonical number, unit) of each counted token of normalized ``text``; unit "" for a
    bare number."""
    return [(_canonical(n), u or "") for n, u in _NUMBER.findall(text)
            if u not in _NOT_UNITS]


def number_tokens(text: str) -> set[str]:
    """The numbers in ``text`` (normalized here), canonical, as whole tokens; a number with
    a unit is one token ("064GB" is "64gb")."""
    return {n + u for n, u in _tokens(normalize(text))}


def _values(text: str) -> set[str]:
    """`number_tokens`, plus the bare number of each token with a unit: a result showing
    "64GB" shows 64 too, so an agent saying "64 GB" says a number it was shown."""
    tokens = _tokens(normalize(text))
    return {n + u for n, u in tokens} | {n for n, _ in tokens}


def _by_value(text: str) -> str:
    """Normalized ``text`` with every number (and its unit) in its canonical spelling
    ("625.60" is "625.6"), so a required output matches a tool's JSON however either
    spells the number."""
    return _NUMBER.sub(lambda m: _canonical(m[1]) + (m[2] or ""), normalize(text))


class Grounding:
    """The numbers an episode showed the agent before the agent wrote them, and the required
    outputs a look-up showed it.

    Feed it the episode in order: `agent` for everything the agent wrote (each reply,
    whole: its messages and its calls' arguments, the arguments also with
    ``into_tools=True``), `observed` for everything it was shown (the first observation,
    user replies, results of tools that do not compute; results with ``lookup=True``).

    Args:
        watch: the task's required outputs, whose look-ups `looked_up` records.
    """

    def __init__(self, watch: Iterable[str] = ()) -> None:
        self.authored: set[str] = set()
        self.grounded: set[str] = set()
        self._watch = {output: _by_value(output) for output in watch}
        self.looked_up: set[str] = set()
        """The watched outputs a tool's result showed before the agent wrote them into a
        call (the only way its own words can come back as a result)."""
        self._written: set[str] = set()

    def agent(self, text: str, *, into_tools: bool = False) -> None:
        """The agent wrote ``text`` (``into_tools``: as a call's arguments, decoded): its new
        numbers can no longer be grounded, nor, written into a call, its outputs looked up.
        List markers included: were they dropped here, a numbered list of empty items
        ("1. 2. ... 100.") echoed back by a user simulator would ground every number in it."""
        self.authored |= _values(text) - self.grounded
        if into_tools:
            said = _by_value(text)
            self._written |= {o for o, v in self._watch.items()
                              if o not in self.looked_up and mentions(said, v)}

    def observed(self, text: str, *, lookup: bool = False) -> None:
        """The agent was shown ``text``: its numbers the agent had not written are grounded;
        ``lookup`` (a reading tool's result): so are the outputs in it the agent had not
        written into a call."""
        self.grounded |= _values(text) - self.authored
        if lookup:
            shown = _by_value(text)
            self.looked_up |= {o for o, v in self._watch.items()
                               if o not in self._written and mentions(shown, v)}


def _allowed(required: tuple[str, ...]) -> set[str]:
    return set().union(*(number_tokens(o) for o in required)) if required else set()


def over_claimed(said: str, grounding: Grounding, required: tuple[str, ...],
                 budget: int = OVERCLAIM_BUDGET) -> list[str]:
    """The ungrounded numbers in ``said`` (besides the required outputs' own) when there are
    more than ``budget`` of them, else []: an answer that lists guesses pays nothing."""
    ungrounded = number_tokens(said) - grounding.grounded - _allowed(required)
    if len(ungrounded) <= budget:
        return []
    return sorted(ungrounded, key=lambda t: (len(t), t))


def over_listed(said: str, grounding: Grounding, required: tuple[str, ...],
                budget: int = LISTING_BUDGET) -> list[str]:
    """The grounded numbers in ``said`` (besides the required outputs' own) when there are
    more than ``budget`` of them, else []: an answer that repeats everything the tools
    showed, so that the asked-for number is somewhere in it, pays nothing either."""
    listed = (number_tokens(said) & grounding.grounded) - _allowed(required)
    if len(listed) <= budget:
        return []
    return sorted(listed, key=lambda t: (len(t), t))
