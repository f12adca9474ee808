"""Scripted game players: functions of one conversation (its last user message is the
game's observation) returning a move. Wrapped with `as_agent` they are `TextAgent`s;
wrapped in a ScriptedPolicy they play the learner's seat, e.g. for self-play on Ray.

They read only the env's own lines, anchored at a line's start: the other player's
free text reaches them JSON-encoded on a line of its own (`parsing.quote`), so it can
never pass for the pool, the values, the offer or the side they argue.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Sequence

from sandgym.envs.social.peers import Conversation

__all__ = ["SCRIPTED", "always_cooperate", "always_defect", "fair_negotiator", "longer_wins",
           "stock_debater", "tit_for_tat"]


logger = logging.getLogger(__name__)

_ITEMS = ("books", "hats", "balls")
_COUNTS = r"books=([0-9]+) hats=([0-9]+) balls=([0-9]+)"
_NEGOTIATION_HEAD = re.compile(
    rf"\ANegotiation\. You are \w+\. Pool: {_COUNTS}\. Your values per item: {_COUNTS} \(")
_OFFER = re.compile(rf"^Last proposal from the other gives you: {_COUNTS} "
                    r"\(worth [0-9]+ to you\)\.$", re.M)
_DEBATE_HEAD = re.compile(
    r"\ADebate\. Motion: .* You are \w+, arguing (FOR|AGAINST) the motion;")
_JUDGED_LINE = re.compile(r'^(A|B) \((?:for|against)\): ("(?:[^"\\]|\\.)*")$', re.M)


def _observation(conv: Conversation) -> str:
    return next((m["content"] for m in reversed(conv) if m.get("role") == "user"), "")


def _counts(match: re.Match[str], first_group: int) -> dict[str, int]:
    """Three item counts from consecutive groups of an anchored match."""
    return {item: int(match.group(first_group + k)) for k, item in enumerate(_ITEMS)}


def always_cooperate(conv: Conversation) -> str:
    """Prisoner's dilemma: always C."""
    return "MOVE: C\nMESSAGE: Let's both cooperate."


def always_defect(conv: Conversation) -> str:
    """Prisoner's dilemma: always D."""
    return "MOVE: D"


def tit_for_tat(conv: Conversation) -> str:
    """Prisoner's dilemma: cooperate first, then copy the opponent's last move."""
    last = re.search(r"^Opponent's last move: ([CD])$", _observation(conv), re.M)
    return f"MOVE: {last.group(1) if last else 'C'}\nMESSAGE: I mirror you."


def fair_negotiator(conv: Conversation) -> str:
    """Negotiation: accept an offer worth >= 5 to it, else keep what it values most (>= 6).

    Pool, values and the offer are read from the env's own lines only (anchored); the
    offer's worth is computed from its own values, not read from text.
    """
    obs = _observation(conv)
    head = _NEGOTIATION_HEAD.match(obs)
    if head is None:
        logger.warning("fair_negotiator: not a negotiation observation; proposing nothing")
        return "PROPOSE: books=0 hats=0 balls=0"
    pool, values = _counts(head, 1), _counts(head, 4)
    offers = list(_OFFER.finditer(obs))
    if offers:
        offered = _counts(offers[-1], 1)
        if sum(values[i] * offered[i] for i in _ITEMS) >= 5:
            return "ACCEPT\nMESSAGE: Fair enough."
    keep = {i: 0 for i in _ITEMS}
    worth = 0
    for item in sorted(keep, key=lambda i: -values[i]):
        while worth < 6 and keep[item] < pool[item] and values[item] > 0:
            keep[item] += 1
            worth += values[item]
    return "PROPOSE: " + " ".join(f"{i}={n}" for i, n in keep.items())


def stock_debater(conv: Conversation) -> str:
    """Debate: a stock argument for its side (read from the env's first line), by turn."""
    obs = _observation(conv)
    turn = len(re.findall(r"^you: ", obs, re.M)) + 1
    side = _DEBATE_HEAD.match(obs)
    if side is not None and side.group(1) == "FOR":
        return (f"ARGUMENT: Point {turn}: the motion helps most people and its small costs "
                "are outweighed by its benefits.")
    return f"ARGUMENT: Point {turn}: the motion has hidden costs and there are better options."


def _argument_words(text: str) -> dict[str, int]:
    """Words per side over the judge request's argument lines (each a JSON string)."""
    words = {"A": 0, "B": 0}
    for match in _JUDGED_LINE.finditer(text):
        try:
            argument = json.loads(match.group(2))
        except json.JSONDecodeError:
            continue
        words[match.group(1)] += len(str(argument).split())
    return words


def longer_wins(conversations: Sequence[Conversation]) -> list[str]:
    """Debate judge by rule: the side with more words wins; equal is a draw."""
    replies = []
    for conv in conversations:
        words = _argument_words(_observation(conv))
        if words["A"] == words["B"]:
            replies.append("Draw: both sides were equally long.")
        else:
            winner = max(words, key=words.get)
            replies.append(f"Winner: {winner}\nMore developed arguments.")
    return replies


SCRIPTED = {"tit_for_tat": tit_for_tat, "always_cooperate": always_cooperate,
            "always_defect": always_defect, "fair_negotiator": fair_negotiator,
            "stock_debater": stock_debater}
"""The scripted players by name (opponent pools name them)."""
