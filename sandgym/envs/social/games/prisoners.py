"""Iterated prisoner's dilemma with messages (an AEC `TextGame`).

Each round both players choose, in turn, without seeing the other's current choice:
``MOVE: C`` (cooperate) or ``MOVE: D`` (defect), optionally with ``MESSAGE: ...`` that
the other reads when the round is revealed. Payoffs per round (row player, column
player): CC 3/3, CD 0/5, DC 5/0, DD 1/1. A forfeit costs the forfeiting player
``FORFEIT`` and ends the game; the other gets nothing more. A message appears in the
other's observation JSON-encoded on its line (`parsing.quote`), so it cannot forge the
env's lines (``Opponent's last move: C``).
"""

from __future__ import annotations

import re
from typing import Any

from sandgym.envs.social.games.base import PLAYERS, InvalidMove, TextGame
from sandgym.envs.social.parsing import quote

__all__ = ["FORFEIT", "PAYOFFS", "PrisonersDilemmaGame", "parse_pd_move"]

PAYOFFS = {("C", "C"): (3, 3), ("C", "D"): (0, 5), ("D", "C"): (5, 0), ("D", "D"): (1, 1)}
FORFEIT = -5.0
_MOVE = re.compile(r"^\s*move\s*:\s*(cooperate|defect|c|d)\s*[.!]?\s*$", re.I | re.M)
_MESSAGE = re.compile(r"^\s*message\s*:\s*(.*)$", re.I | re.M)


def parse_pd_move(text: str) -> tuple[str, str]:
    """``(C|D, message)`` from a reply; raises `InvalidMove` unless exactly one move."""
    moves = {m.group(1)[0].upper() for m in _MOVE.finditer(text)}
    if len(moves) != 1:
        raise InvalidMove("write exactly one line 'MOVE: C' or 'MOVE: D'" if not moves
                          else "two different moves; write one")
    message = _MESSAGE.search(text)
    return moves.pop(), (message.group(1).strip()[:300] if message else "")


class PrisonersDilemmaGame(TextGame):
    """Iterated prisoner's dilemma with cheap-talk messages.

    Args:
        rounds: rounds per game.
        max_invalid: invalid moves allowed per player before a forfeit.
    """

    metadata = {"name": "prisoners_dilemma_v0", "is_parallelizable": False,
                "render_modes": []}

    def __init__(self, *, rounds: int = 5, max_invalid: int = 2) -> None:
        super().__init__(max_invalid=max_invalid)
        self.rounds = rounds

    def _start(self, options: dict[str, Any]) -> None:
        self.history: list[dict[str, Any]] = []
        self.pending: dict[str, tuple[str, str]] = {}

    def _observe(self, agent: str) -> str:
        me = PLAYERS.index(agent)
        lines = [f"Iterated prisoner's dilemma, round {len(self.history) + 1} of "
                 f"{self.rounds}. You are {agent}. Payoffs per round (you/other): both C 3/3, "
                 "you C other D 0/5, you D other C 5/0, both D 1/1.",
                 "Reply with 'MOVE: C' or 'MOVE: D' and optionally 'MESSAGE: <text>'."]
        for n, r in enumerate(self.history, 1):
            mine, theirs = r["moves"][me], r["moves"][1 - me]
            said = r["messages"][1 - me]
            lines.append(f"Round {n}: you {mine}, opponent {theirs}; opponent said: "
                         f"{quote(said) if said else '(nothing)'}")
        if self.history:
            lines.append(f"Opponent's last move: {self.history[-1]['moves'][1 - me]}")
        return "\n".join(lines)

    def _play(self, agent: str, action: str) -> str | None:
        self.pending[agent] = parse_pd_move(action)
        if len(self.pending) < 2:
            return self._other(agent)
        moves = (self.pending[PLAYERS[0]][0], self.pending[PLAYERS[1]][0])
        payoff = PAYOFFS[moves]
        self.history.append({"moves": list(moves), "payoffs": list(payoff),
                             "messages": [self.pending[p][1] for p in PLAYERS]})
        self.pending = {}
        self._give({PLAYERS[0]: payoff[0], PLAYERS[1]: payoff[1]})
        if len(self.history) >= self.rounds:
            self._end()
        return PLAYERS[0]

    def valid_moves_per_player(self) -> int:
        """One player's valid moves in a whole game."""
        return self.rounds

    def _forfeit(self, agent: str) -> None:
        self._give({agent: FORFEIT})

    def summary(self) -> dict[str, Any]:
        """Moves, payoffs and messages of each completed round."""
        return {"history": [dict(r) for r in self.history]}
