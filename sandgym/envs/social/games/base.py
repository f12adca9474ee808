"""`TextGame`: a two-player, turn-based text game on PettingZoo's AEC API.

Every game here shares the AEC bookkeeping (agents, rewards, terminations, dead
steps), text spaces, and the *invalid-move allowance*: a move the rules reject is not
played; the player keeps the turn, sees why, and may try again, up to ``max_invalid``
invalid moves per game; one more and it forfeits (`forfeit`); a player that stops
playing before the game is over forfeits too (`concede`). Games implement
`_start`, `_observe`, `_play` (apply a valid move or raise `InvalidMove`) and `_forfeit`.
``returns`` holds every player's total reward so far, which the single-agent view and
the checks of reward sums read. ``unscored`` is set by a game whose outcome could not be
read (a debate judge naming no single winner): nobody is paid, ``infos`` say
``unscored: True``, and the single-agent view drops the episode (see `GameEnv`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pettingzoo import AECEnv

from sandgym.envs.errors import EnvError
from sandgym.envs.spaces import AnyText

__all__ = ["GameText", "InvalidMove", "PLAYERS", "TextGame"]

PLAYERS = ("player_0", "player_1")


class GameText(str):
    """An observation: a plain ``str`` that also carries the Text space's ``dtype``.

    PettingZoo's ``api_test`` compares ``observation.dtype`` with the space's dtype, which
    a bare ``str`` lacks; everything else sees an ordinary string.
    """

    __slots__ = ()
    dtype = np.dtype(str)


class InvalidMove(EnvError):  # noqa: N818 - a move, not a program error
    """A move the rules reject; its message is shown to the player."""


class TextGame(AECEnv):
    """Base of the two-player text games (see the module docstring).

    Args:
        max_invalid: invalid moves a player may make per game before it forfeits.
    """

    metadata = {"name": "text_game_v0", "is_parallelizable": False, "render_modes": []}
    zero_sum = False
    """Whether the players' returns always sum to zero (checked in tests)."""

    def __init__(self, *, max_invalid: int = 2) -> None:
        super().__init__()
        if max_invalid < 0:
            raise EnvError(f"max_invalid must be >= 0, got {max_invalid}")
        self.max_invalid = max_invalid
        self.possible_agents = list(PLAYERS)
        self._spaces = {a: AnyText() for a in self.possible_agents}
        self.render_mode = None
        self.np_random = np.random.default_rng()
        self.agents: list[str] = []

    def observation_space(self, agent: str) -> AnyText:
        """Text (the same space object every call)."""
        return self._spaces[agent]

    def action_space(self, agent: str) -> AnyText:
        """Text (the same space object every call)."""
        return self._spaces[agent]

    # ------------------------------------------------------------------ AEC API

    def reset(self, seed: int | None = None, options: dict[str, Any] | None = None) -> None:
        """Start a game; ``seed`` draws its private state (valuations, topic...)."""
        if seed is not None:
            self.np_random = np.random.default_rng(seed)
        self.agents = list(self.possible_agents)
        self.rewards = {a: 0.0 for a in self.agents}
        self._cumulative_rewards = {a: 0.0 for a in self.agents}
        self.terminations = {a: False for a in self.agents}
        self.truncations = {a: False for a in self.agents}
        self.infos: dict[str, dict[str, Any]] = {a: {} for a in self.agents}
        self.returns = {a: 0.0 for a in self.possible_agents}
        self.invalid = {a: 0 for a in self.possible_agents}
        self.last_error = {a: "" for a in self.possible_agents}
        self.forfeited: str | None = None
        self.unscored = False
        self.agent_selection = self.possible_agents[0]
        self._start(options or {})

    def observe(self, agent: str) -> str:
        """What ``agent`` knows now: the rules, its private state, the public history."""
        text = self._observe(agent)
        if self.last_error.get(agent):
            text += f"\n\nYour last move was invalid: {self.last_error[agent]} " \
                    f"({self.max_invalid - self.invalid[agent]} invalid moves left)."
        return GameText(text)

    def step(self, action: Any) -> None:
        """Play ``action`` for ``agent_selection`` (None after the agent is done)."""
        agent = self.agent_selection
        if self.terminations[agent] or self.truncations[agent]:
            self._was_dead_step(action)
            return
        self._cumulative_rewards[agent] = 0.0
        self.rewards = {a: 0.0 for a in self.agents}
        try:
            if not isinstance(action, str):
                raise InvalidMove(f"a move is text, got {type(action).__name__}")
            next_agent = self._play(agent, action)
            self.last_error[agent] = ""
        except InvalidMove as e:
            self.invalid[agent] += 1
            self.last_error[agent] = str(e)
            next_agent = agent
            if self.invalid[agent] > self.max_invalid:
                self._forfeit_and_end(agent)
        self.agent_selection = next_agent if next_agent is not None else agent
        self._settle()

    def concede(self, agent: str) -> None:
        """``agent`` stops playing a game that is not over: scored as its forfeit.

        Giving up must never pay more than playing on. A game that pays only at its end
        (a debate) would otherwise leave a player who stops before its last move with 0,
        better than the loss it was heading for, and the other player without its win.
        """
        if all(self.terminations.values()):
            return
        self._cumulative_rewards[agent] = 0.0
        self.rewards = {a: 0.0 for a in self.agents}
        self._forfeit_and_end(agent)
        self._settle()

    def _forfeit_and_end(self, agent: str) -> None:
        self.forfeited = agent
        self._forfeit(agent)
        self._end()

    def _settle(self) -> None:
        """Add this step's rewards to the returns (and the AEC accumulators)."""
        for a, r in self.rewards.items():
            self.returns[a] += r
        self._accumulate_rewards()
        if all(self.terminations.values()):
            self.infos = {a: self._final_info(a) for a in self.agents}

    # ------------------------------------------------------------------ for games

    def _give(self, rewards: dict[str, float]) -> None:
        for a, r in rewards.items():
            self.rewards[a] = self.rewards.get(a, 0.0) + float(r)

    def _end(self) -> None:
        self.terminations = {a: True for a in self.agents}

    def _other(self, agent: str) -> str:
        return PLAYERS[1] if agent == PLAYERS[0] else PLAYERS[0]

    def _final_info(self, agent: str) -> dict[str, Any]:
        return {"returns": dict(self.returns), "forfeited": self.forfeited,
                "invalid": dict(self.invalid), "unscored": self.unscored, **self.summary()}

    def summary(self) -> dict[str, Any]:
        """The game's public record (history, outcome), JSON-ready."""
        return {}

    def valid_moves_per_player(self) -> int | None:
        """The most valid moves one player can make in a game (None: no fixed bound)."""
        return None

    def moves_per_player(self) -> int | None:
        """The most moves one player can make, invalid ones included (None: unbounded).

        Each player may make ``max_invalid`` invalid moves; the next one forfeits.
        """
        valid = self.valid_moves_per_player()
        return None if valid is None else valid + self.max_invalid + 1

    def _start(self, options: dict[str, Any]) -> None:
        raise NotImplementedError

    def _observe(self, agent: str) -> str:
        raise NotImplementedError

    def _play(self, agent: str, action: str) -> str | None:
        """Apply a valid move (set rewards, maybe `_end`); return who moves next."""
        raise NotImplementedError

    def _forfeit(self, agent: str) -> None:
        """Rewards when ``agent`` forfeits."""
        raise NotImplementedError

    def close(self) -> None:
        """Nothing to release."""
