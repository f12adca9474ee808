"""Scripted game players: functions of one conversation (its last user message is the
game's observation) returning a move. Wrapped with `as_agent` they are `TextAgent`s;
wrapped in a ScriptedPolicy they play the learner's seat, e.g. for self-play on Ray.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from sandgym.envs.social.peers import Conversation

__all__ = ["SCRIPTED", "always_cooperate", "always_defect", "fair_negotiator", "longer_wins",
           "stock_debater", "tit_for_tat"]


def _observation(conv: Conversation) -> str:
    return next((m["content"] for m in reversed(conv) if m.get("role") == "user"), "")


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
    """Negotiation: accept an offer worth >= 5 to it, else keep what it values most (>= 6)."""
    obs = _observation(conv)
    offer = re.search(r"\(worth ([0-9]+) to you\)", obs)
    if offer and int(offer.group(1)) >= 5:
        return "ACCEPT\nMESSAGE: Fair enough."
    pool = dict(re.findall(r"(books|hats|balls)=([0-9]+)", obs.split("Pool:", 1)[1].split(".")[0]))
    values = dict(re.findall(r"(books|hats|balls)=([0-9]+)",
                             obs.split("Your values per item:", 1)[1].split("(")[0]))
    keep = {i: 0 for i in ("books", "hats", "balls")}
    worth = 0
    for item in sorted(keep, key=lambda i: -int(values[i])):
        while worth < 6 and keep[item] < int(pool[item]) and int(values[item]) > 0:
            keep[item] += 1
            worth += int(values[item])
    return "PROPOSE: " + " ".join(f"{i}={n}" for i, n in keep.items())


def stock_debater(conv: Conversation) -> str:
    """Debate: a stock argument for its side, numbered by turn."""
    obs = _observation(conv)
    turn = len(re.findall(r"^you: ", obs, re.M)) + 1
    if "arguing FOR" in obs:
        return (f"ARGUMENT: Point {turn}: the motion helps most people and its small costs "
                "are outweighed by its benefits.")
    return f"ARGUMENT: Point {turn}: the motion has hidden costs and there are better options."


def longer_wins(conversations: Sequence[Conversation]) -> list[str]:
    """Debate judge by rule: the side with more words wins; equal is a draw."""
    replies = []
    for conv in conversations:
        text = _observation(conv)
        words = {side: sum(len(line.split()) for line in re.findall(
            rf"^{side} \((?:for|against)\): (.*)$", text, re.M)) for side in ("A", "B")}
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
