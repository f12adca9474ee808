"""Negotiation over a pool of items with private valuations (Deal or No Deal, an AEC game).

A pool of books, hats and balls; each player values each kind privately (values drawn
per game with the seed, each player's pool worth 10). Players alternate: ``PROPOSE:
books=1 hats=0 balls=2`` (what *I* keep; the other gets the rest) or ``ACCEPT`` (the
other's last proposal), each optionally with ``MESSAGE: ...``. An accepted proposal
pays each player the value of its share under its own valuation; no deal within
``max_moves`` pays 0 to both; a forfeit costs the forfeiting player ``FORFEIT``.

Observations: every line is the env's own, except a player's message, which appears as
one line ``you said: "..."`` / ``other said: "..."`` holding the message JSON-encoded
(`parsing.quote`), so no message can forge an env line (the pool, the values, the last
proposal and its worth) for a player that parses lines anchored at their start.
"""

from __future__ import annotations

import re
from typing import Any

from sandgym.envs.social.games.base import PLAYERS, InvalidMove, TextGame
from sandgym.envs.social.parsing import quote

__all__ = ["FORFEIT", "ITEMS", "NegotiationGame", "parse_negotiation_move"]

ITEMS = ("books", "hats", "balls")
FORFEIT = -1.0
_PROPOSE = re.compile(r"^\s*propose\s*:\s*(.+)$", re.I | re.M)
_ACCEPT = re.compile(r"^\s*accept\s*[.!]?\s*$", re.I | re.M)
_PART = re.compile(r"^\s*(books|hats|balls)\s*=\s*([0-9]+)\s*$", re.I)
_MESSAGE = re.compile(r"^\s*message\s*:\s*(.*)$", re.I | re.M)


def parse_negotiation_move(text: str, pool: dict[str, int]) -> tuple[str, dict[str, int] | None]:
    """``("accept", None)`` or ``("propose", kept)``; raises `InvalidMove` otherwise."""
    proposals, accepts = list(_PROPOSE.finditer(text)), list(_ACCEPT.finditer(text))
    if len(proposals) + len(accepts) != 1:
        raise InvalidMove("write exactly one line: 'PROPOSE: books=N hats=N balls=N' or "
                          "'ACCEPT'")
    if accepts:
        return "accept", None
    kept: dict[str, int] = {}
    for part in re.split(r"[,;]|\s+(?=(?:books|hats|balls)\s*=)", proposals[0].group(1),
                         flags=re.I):
        if not part.strip():
            continue
        match = _PART.match(part)
        if not match or match.group(1).lower() in kept:
            raise InvalidMove(f"cannot read {part.strip()[:40]!r}; write e.g. "
                              "'PROPOSE: books=1 hats=0 balls=2'")
        kept[match.group(1).lower()] = int(match.group(2))
    if set(kept) != set(ITEMS):
        raise InvalidMove(f"name every item once: {', '.join(ITEMS)}")
    for item, n in kept.items():
        if n > pool[item]:
            raise InvalidMove(f"there are only {pool[item]} {item}")
    return "propose", kept


class NegotiationGame(TextGame):
    """Split a pool of items; each player knows only its own values.

    Args:
        max_moves: moves (proposals and acceptances) in total before the game ends
            without a deal.
        max_invalid: invalid moves allowed per player before a forfeit.
    """

    metadata = {"name": "negotiation_v0", "is_parallelizable": False, "render_modes": []}

    def __init__(self, *, max_moves: int = 6, max_invalid: int = 2) -> None:
        super().__init__(max_invalid=max_invalid)
        self.max_moves = max_moves

    def _draw_values(self) -> dict[str, int]:
        while True:
            values = {i: int(self.np_random.integers(0, 6)) for i in ITEMS}
            if sum(values[i] * self.pool[i] for i in ITEMS) == 10:
                return values

    def _start(self, options: dict[str, Any]) -> None:
        counts = [(3, 1, 1), (1, 2, 2), (2, 2, 1), (1, 1, 3), (2, 1, 2), (4, 1, 1)]
        pick = counts[int(self.np_random.integers(len(counts)))]
        self.pool = dict(zip(ITEMS, pick, strict=True))
        self.values = {p: self._draw_values() for p in PLAYERS}
        self.moves: list[dict[str, Any]] = []
        self.proposal: tuple[str, dict[str, int]] | None = None
        self.deal: dict[str, dict[str, int]] | None = None

    def value(self, agent: str, share: dict[str, int]) -> int:
        """What ``share`` is worth to ``agent``."""
        return sum(self.values[agent][i] * share[i] for i in ITEMS)

    def _observe(self, agent: str) -> str:
        pool = " ".join(f"{i}={n}" for i, n in self.pool.items())
        mine = " ".join(f"{i}={v}" for i, v in self.values[agent].items())
        lines = [f"Negotiation. You are {agent}. Pool: {pool}. Your values per item: {mine} "
                 "(the pool is worth 10 to you; the other player's values are private).",
                 "Reply 'PROPOSE: books=N hats=N balls=N' (what you keep) or 'ACCEPT' (the "
                 "other's last proposal), optionally with 'MESSAGE: <text>'. "
                 f"Moves left: {self.max_moves - len(self.moves)}."]
        for m in self.moves:
            who = "you" if m["agent"] == agent else "other"
            what = ("accepted" if m["kind"] == "accept" else "proposed to keep " + " ".join(
                f"{i}={n}" for i, n in m["kept"].items()))
            lines.append(f"{who} {what}")
            if m["message"]:
                lines.append(f"{who} said: {quote(m['message'])}")
        if self.proposal is not None and self.proposal[0] != agent:
            offered = {i: self.pool[i] - self.proposal[1][i] for i in ITEMS}
            lines.append("Last proposal from the other gives you: " + " ".join(
                f"{i}={n}" for i, n in offered.items()) + f" (worth {self.value(agent, offered)}"
                " to you).")
        return "\n".join(lines)

    def _play(self, agent: str, action: str) -> str | None:
        kind, kept = parse_negotiation_move(action, self.pool)
        if kind == "accept" and (self.proposal is None or self.proposal[0] == agent):
            raise InvalidMove("there is no proposal from the other player to accept")
        message = _MESSAGE.search(action)
        self.moves.append({"agent": agent, "kind": kind, "kept": kept,
                           "message": message.group(1).strip()[:300] if message else ""})
        if kind == "accept":
            proposer, proposer_kept = self.proposal
            other = {i: self.pool[i] - proposer_kept[i] for i in ITEMS}
            self.deal = {proposer: proposer_kept, self._other(proposer): other}
            self._give({p: self.value(p, self.deal[p]) / 10.0 for p in PLAYERS})
            self._end()
        else:
            self.proposal = (agent, kept)
            if len(self.moves) >= self.max_moves:
                self._end()
        return self._other(agent)

    def valid_moves_per_player(self) -> int:
        """One player's valid moves in a whole game."""
        return (self.max_moves + 1) // 2  # the players alternate

    def _forfeit(self, agent: str) -> None:
        self._give({agent: FORFEIT})

    def summary(self) -> dict[str, Any]:
        """Pool, private values, moves and the deal (None without one)."""
        return {"pool": dict(self.pool), "values": {p: dict(v) for p, v in self.values.items()},
                "moves": [dict(m) for m in self.moves], "deal": self.deal}
