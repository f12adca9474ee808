"""The games' single-agent views as registered Gymnasium envs, with default opponent pools.

``opponents=`` replaces the pool (name -> batched `TextAgent`, e.g. a policy wired in);
without it, the game's scripted players fill the other seat.
"""

from __future__ import annotations

import functools
from typing import Any

from sandgym.envs.social.games.debate import DebateGame
from sandgym.envs.social.games.negotiation import NegotiationGame
from sandgym.envs.social.games.players import (
    always_cooperate,
    always_defect,
    fair_negotiator,
    stock_debater,
    tit_for_tat,
)
from sandgym.envs.social.games.prisoners import PrisonersDilemmaGame
from sandgym.envs.social.games.view import GameEnv
from sandgym.envs.social.peers import TextAgent, as_agent

__all__ = ["DebateEnv", "NegotiationEnv", "PrisonersDilemmaEnv"]


class PrisonersDilemmaEnv(GameEnv):
    """Iterated prisoner's dilemma with messages against an opponent pool."""

    def __init__(self, opponents: dict[str, Any] | None = None, *, rounds: int = 5,
                 max_invalid: int = 2, **kwargs: Any) -> None:
        pool = opponents or {"tit_for_tat": as_agent(tit_for_tat),
                             "always_defect": as_agent(always_defect),
                             "always_cooperate": as_agent(always_cooperate)}
        super().__init__(functools.partial(PrisonersDilemmaGame, rounds=rounds,
                                           max_invalid=max_invalid), pool, **kwargs)


class NegotiationEnv(GameEnv):
    """Split items with private valuations against an opponent pool."""

    def __init__(self, opponents: dict[str, Any] | None = None, *, max_moves: int = 6,
                 max_invalid: int = 2, **kwargs: Any) -> None:
        pool = opponents or {"fair_negotiator": as_agent(fair_negotiator)}
        super().__init__(functools.partial(NegotiationGame, max_moves=max_moves,
                                           max_invalid=max_invalid), pool, **kwargs)


class DebateEnv(GameEnv):
    """A judged debate (zero-sum) against an opponent pool; ``judge=`` is injected too."""

    def __init__(self, opponents: dict[str, Any] | None = None, *,
                 judge: TextAgent | None = None, rounds: int = 2, max_invalid: int = 2,
                 **kwargs: Any) -> None:
        pool = opponents or {"stock_debater": as_agent(stock_debater)}
        super().__init__(functools.partial(DebateGame, judge, rounds=rounds,
                                           max_invalid=max_invalid), pool, **kwargs)
        self.scripted_grader: str | None = None if judge else (
            "the scripted longer_wins judge (the longer argument wins)")
