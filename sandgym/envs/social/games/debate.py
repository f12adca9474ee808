"""A judged debate (an AEC `TextGame`, zero-sum).

``player_0`` argues for a motion, ``player_1`` against, alternating ``rounds`` times
each (``ARGUMENT: ...``, 1 to 1000 characters). Then an injected judge (`TextAgent`)
reads the transcript and names ``Winner: A`` (for) or ``Winner: B`` (against), parsed
strictly: the winner gets +1, the loser -1. A reply naming no single winner leaves the
game *unscored* (``unscored`` and ``judge_missing`` set, 0 each, the single-agent view
drops the episode as a sandbox error), not a draw: a draw would pay the losing side 0
instead of -1, so breaking the judge's format (by asking it, in an argument, to answer
otherwise) would pay. Dropped, the episode pays no one and teaches nothing. A forfeit
gives the forfeiting player -1 and the other +1. Returns always sum to zero.

Arguments appear in observations and in the judge's request JSON-encoded, one line each
(`parsing.quote`: ``A (for): "..."``), so an argument cannot forge another turn. An
argument holding a verdict line (``Winner: A``) is an invalid move: quoted back by the
judge it would make the verdict ambiguous (a draw) and dodge a loss.
"""

from __future__ import annotations

import re
from typing import Any

from sandgym.envs.social.games.base import PLAYERS, InvalidMove, TextGame
from sandgym.envs.social.parsing import claims_winner, parse_winner, quote
from sandgym.envs.social.peers import Conversation, TextAgent, ask

__all__ = ["MOTIONS", "DebateGame", "judge_request"]

MOTIONS = (
    "Homework should be banned in primary schools.",
    "Cities should make public transport free.",
    "Social media does more harm than good.",
    "Everyone should learn to cook at school.",
    "Zoos should be closed.",
    "Voting should be compulsory.",
    "Remote work is better than office work.",
    "Tipping in restaurants should be replaced by higher wages.",
)
_ARGUMENT = re.compile(r"^\s*argument\s*:\s*(.+)", re.I | re.S)
SIDES = ("A", "B")


def judge_request(motion: str, arguments: list[tuple[str, str]]) -> Conversation:
    """The judge's conversation: the motion, the transcript, the required verdict line."""
    transcript = "\n".join(f"{SIDES[PLAYERS.index(p)]} ({'for' if p == PLAYERS[0] else 'against'}):"
                           f" {quote(text)}" for p, text in arguments)
    return [{"role": "system", "content": "You judge debates fairly, on the strength of the "
             "arguments."},
            {"role": "user", "content": f"Motion: {motion}\n\nEach argument is one JSON "
             f"string.\n{transcript}\n\nWho argued "
             "better? Reply with one line 'Winner: A' or 'Winner: B', then one sentence why."}]


class DebateGame(TextGame):
    """Two players debate a motion; a judge names the winner (zero-sum).

    Args:
        judge: the judge (a batched `TextAgent`); default: the scripted `longer_wins`.
        rounds: arguments per player.
        max_invalid: invalid moves allowed per player before a forfeit.
    """

    metadata = {"name": "debate_v0", "is_parallelizable": False, "render_modes": []}
    zero_sum = True

    def __init__(self, judge: TextAgent | None = None, *, rounds: int = 2,
                 max_invalid: int = 2) -> None:
        from sandgym.envs.social.games.players import longer_wins

        super().__init__(max_invalid=max_invalid)
        self.judge = judge or longer_wins
        self.rounds = rounds

    def _start(self, options: dict[str, Any]) -> None:
        self.motion = MOTIONS[int(self.np_random.integers(len(MOTIONS)))]
        self.arguments: list[tuple[str, str]] = []
        self.winner: str | None = None
        self.judge_reply = ""

    def _observe(self, agent: str) -> str:
        side = "FOR" if agent == PLAYERS[0] else "AGAINST"
        lines = [f"Debate. Motion: {self.motion} You are {agent}, arguing {side} the "
                 f"motion; {self.rounds} arguments each, then a judge decides.",
                 "Reply 'ARGUMENT: <your argument>' (at most 1000 characters)."]
        lines += [f"{'you' if p == agent else 'other'}: {quote(text)}"
                  for p, text in self.arguments]
        return "\n".join(lines)

    def _play(self, agent: str, action: str) -> str | None:
        match = _ARGUMENT.match(action)
        if not match or not match.group(1).strip():
            raise InvalidMove("write 'ARGUMENT: <your argument>'")
        text = match.group(1).strip()
        if len(text) > 1000:
            raise InvalidMove(f"the argument has {len(text)} characters; at most 1000")
        if claims_winner(text):
            raise InvalidMove("an argument may not contain a verdict ('Winner: ...'); the "
                              "judge decides")
        self.arguments.append((agent, text))
        if len(self.arguments) < 2 * self.rounds:
            return self._other(agent)
        self.judge_reply = ask(self.judge, [judge_request(self.motion, self.arguments)],
                               what="debate judge")[0]
        side = parse_winner(self.judge_reply, SIDES)
        if side is None:
            self.unscored = True
        else:
            self.winner = PLAYERS[SIDES.index(side)]
            self._give({self.winner: 1.0, self._other(self.winner): -1.0})
        self._end()
        return self._other(agent)

    def valid_moves_per_player(self) -> int:
        """One player's valid moves in a whole game."""
        return self.rounds

    def _forfeit(self, agent: str) -> None:
        self.winner = self._other(agent)
        self._give({agent: -1.0, self.winner: 1.0})

    def summary(self) -> dict[str, Any]:
        """Motion, arguments, the judge's reply, the winner, and whether it is unscored."""
        return {"motion": self.motion, "arguments": [list(a) for a in self.arguments],
                "judge_reply": self.judge_reply[:2000], "winner": self.winner,
                "judge_missing": bool(self.judge_reply) and self.winner is None
                and self.forfeited is None, "unscored": self.unscored}
