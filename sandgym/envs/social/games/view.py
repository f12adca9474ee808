"""A single-agent Gymnasium view of a two-player `TextGame`: the other seat from a pool.

The learner plays one seat; the other is filled from an opponent pool (named
`TextAgent`s: model policies wired in by the caller, or scripted players). Tasks are
``OPPONENT/N`` (the opponent and the game's seed), so episodes are planned and
reproducible per opponent. Each action is the learner's move; the opponents move until
it is the learner's turn again; the observation is the learner's view of the game; the
reward is what the learner earned in between. The last ``info["reward_components"]``
holds every seat's return, the sum, and the game's public record, so reward sums can
be checked against the game's rules. A game left unscored (``game.unscored``: a debate
judge named no single winner) ends the episode as Scenario-v0 and Society-v0 do when
their judges fail: ``info["reward"] = None``, ``info["unscored"] = True``,
``info["sandbox_error"] = True``, truncated, so the episode loop records no return.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gymnasium as gym

from sandgym.envs.contract import Tool
from sandgym.envs.errors import EnvError, EpisodeOverError, UnknownTaskError
from sandgym.envs.social.games.base import PLAYERS, TextGame
from sandgym.envs.social.peers import TextAgent, ask
from sandgym.envs.spaces import AnyText

__all__ = ["GameEnv"]

MOVE = Tool("move", "Make your move in the game.",
            params=(("move", "The move, in the format the game's rules give."),),
            returns="The game as you see it after the other player's move.")


class GameEnv(gym.Env):
    """One seat of a two-player text game; the other seat is played by an opponent pool.

    Args:
        game: a zero-argument factory of the `TextGame`.
        opponents: name -> `TextAgent` (batched; wrap a one-conversation scripted player
            with `as_agent`).
        seat: ``player_0`` or ``player_1`` (the learner's seat).
        games_per_opponent: tasks per opponent (seeds ``0..N-1``).
        max_moves: learner moves per episode at most (truncation beyond).
    """

    metadata = {"render_modes": []}
    multi_turn = True
    tools = (MOVE,)

    def __init__(self, game: Callable[[], TextGame],
                 opponents: dict[str, TextAgent], *,
                 seat: str = PLAYERS[0], games_per_opponent: int = 4, max_moves: int = 30
                 ) -> None:
        if seat not in PLAYERS:
            raise EnvError(f"seat must be one of {PLAYERS}, got {seat!r}")
        if not opponents:
            raise EnvError("the opponent pool is empty; give at least one opponent")
        self.game = game()
        self.opponents = dict(opponents)
        self.seat = seat
        self.max_moves = max_moves
        self.task_ids = [f"{name}/{n}" for name in self.opponents
                         for n in range(games_per_opponent)]
        self.observation_space = AnyText()
        self.action_space = AnyText()
        self.opponent: str | None = None
        self.moves = 0
        self.done = True

    @property
    def max_episode_turns(self) -> int:
        """The learner's moves at most: the game's bound (its valid moves and invalid-move
        allowance), within ``max_moves``. A trainer or eval capping an episode below it
        would cut games the env lets run, and a cut game is finished as conceded."""
        bound = self.game.moves_per_player()
        return self.max_moves if bound is None else min(self.max_moves, bound)

    @property
    def system_prompt(self) -> str:
        """How to play."""
        return "You play a text game. Answer with a move in exactly the format the rules give."

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None
              ) -> tuple[str, dict[str, Any]]:
        """Start a game against ``options["task_id"]``'s opponent (else a seeded draw)."""
        super().reset(seed=seed)
        task_id = (options or {}).get("task_id")
        if task_id is None:
            task_id = self.task_ids[int(self.np_random.integers(len(self.task_ids)))]
        if task_id not in self.task_ids:
            import difflib

            close = difflib.get_close_matches(str(task_id), self.task_ids, n=3)
            raise UnknownTaskError(f"no task {task_id!r}; did you mean {close}?")
        self.task_id = task_id
        self.opponent, game_seed = task_id.rsplit("/", 1)
        self.game.reset(seed=int(game_seed))
        self.moves, self.done = 0, False
        self._advance()
        return str(self.game.observe(self.seat)), {"task_id": task_id, "turn": 0}

    def _over(self) -> bool:
        return all(self.game.terminations.get(a, True) for a in PLAYERS) or not self.game.agents

    def _advance(self) -> None:
        """Let the opponent move until it is the learner's turn or the game is over."""
        while not self._over() and self.game.agent_selection != self.seat:
            agent = self.game.agent_selection
            conv = [{"role": "system", "content": self.system_prompt},
                    {"role": "user", "content": self.game.observe(agent)}]
            move = ask(self.opponents[self.opponent], [conv], what="opponent")[0]
            self.game.step(move)

    def step(self, action: str) -> tuple[str, float, bool, bool, dict[str, Any]]:
        """The learner's move, then the opponent's; reward = the learner's gain."""
        if self.done:
            raise EpisodeOverError("the episode is over (or never began); call reset() first")
        if not isinstance(action, str):
            raise EnvError(f"actions are text (str), got {type(action).__name__}")
        before = self.game.returns[self.seat]
        self.moves += 1
        self.game.step(action)
        self._advance()
        return self._result(before)

    def finish(self) -> tuple[str, float, bool, bool, dict[str, Any]] | None:
        """End a game the learner stopped playing: it concedes (the game's forfeit).

        A trainer's tool loop ends when the model stops calling ``move``; without this,
        a debate (paid only at its end) abandoned before the last argument kept 0 instead
        of the loss it was heading for, so a model would learn to quit losing games. A cap
        on turns cannot tell stopping from being stopped, so harnesses cap at
        `max_episode_turns` (``max_moves``), where the env truncates the game itself.
        """
        if self.done:
            return None
        before = self.game.returns[self.seat]
        self.game.concede(self.seat)
        return self._result(before)

    def _result(self, before: float) -> tuple[str, float, bool, bool, dict[str, Any]]:
        """The step's tuple: the learner's gain since ``before``, verdict and components."""
        reward = self.game.returns[self.seat] - before
        unscored = self._over() and self.game.unscored
        terminated = self._over() and not unscored
        truncated = unscored or (not terminated and self.moves >= self.max_moves)
        self.done = terminated or truncated
        returns = dict(self.game.returns)
        outcome = self._outcome(returns) if terminated else (
            "unjudged" if unscored else "running")
        verdict = {"status": "running" if not self.done else (
            "sandbox_error" if unscored else "fail" if outcome == "forfeit" else "pass"),
            "outcome": outcome, "invalid_moves": self.game.invalid[self.seat]}
        components = {"returns": returns, "sum": sum(returns.values()),
                      "seat": self.seat, "opponent": self.opponent,
                      "forfeited": self.game.forfeited, **(self.game.summary()
                                                          if self.done else {})}
        info = {"task_id": self.task_id, "turn": self.moves, "verdict": verdict,
                "reward_components": components, "reward": None if unscored else reward,
                "sandbox_error": unscored, "unscored": unscored}
        return str(self.game.observe(self.seat)), float(reward), terminated, truncated, info

    def _outcome(self, returns: dict[str, float]) -> str:
        """The learner's outcome of a finished, scored game."""
        other = PLAYERS[1 - PLAYERS.index(self.seat)]
        return ("forfeit" if self.game.forfeited == self.seat else
                "win" if returns[self.seat] > returns[other] else
                "loss" if returns[self.seat] < returns[other] else "draw")
