"""Two-player text games on PettingZoo's AEC API, and their single-agent view.

* `PrisonersDilemmaGame`: iterated prisoner's dilemma with messages;
* `NegotiationGame`: split items with private valuations (Deal or No Deal);
* `DebateGame`: a judged debate (zero-sum);
* `GameEnv`: one seat as a Gymnasium env, the other filled from an opponent pool;
* `players`: scripted players (tit-for-tat, a fair negotiator, a stock debater...).
"""

from __future__ import annotations

from sandgym.envs.social.games.base import PLAYERS, InvalidMove, TextGame
from sandgym.envs.social.games.debate import DebateGame
from sandgym.envs.social.games.negotiation import NegotiationGame
from sandgym.envs.social.games.prisoners import PrisonersDilemmaGame
from sandgym.envs.social.games.view import GameEnv

__all__ = ["PLAYERS", "DebateGame", "GameEnv", "InvalidMove", "NegotiationGame",
           "PrisonersDilemmaGame", "TextGame"]
