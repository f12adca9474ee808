"""Every social env with the real default model in the other seats (offline, CPU).

SmolLM2-135M-Instruct plays the raters, the partner and judge, an opponent and the
debate judge, with tiny token budgets: the point is the wiring and the conformance
checks (`check_env`, PettingZoo's `api_test`), whatever the small model writes.
"""

from __future__ import annotations

import warnings

import gymnasium as gym
import pytest
from gymnasium.utils.env_checker import check_env
from pettingzoo.test import api_test

import sandgym.envs  # noqa: F401 - registers the sandgym/ envs
from sandgym.envs.social.games import DebateGame


@pytest.fixture(scope="module")
def model_agent():
    from sandgym.agents import SamplingParams, TransformersPolicy, default_model_path

    with TransformersPolicy(default_model_path()) as policy:
        sampling = SamplingParams(max_new_tokens=12)

        def agent(conversations):
            return [g.text for g in policy.generate(conversations, sampling)]

        yield agent


@pytest.mark.parametrize("env_id, kwargs", [
    ("sandgym/Society-v0", lambda a: {"raters": a, "peers": 2}),
    ("sandgym/Scenario-v0", lambda a: {"partner": a, "judge": a, "max_turns": 2}),
    ("sandgym/PrisonersDilemma-v0", lambda a: {"opponents": {"smollm2": a}, "rounds": 1}),
    ("sandgym/Negotiation-v0", lambda a: {"opponents": {"smollm2": a}, "max_moves": 2}),
    ("sandgym/Debate-v0", lambda a: {"opponents": {"smollm2": a}, "judge": a, "rounds": 1}),
], ids=["society", "scenario", "prisoners-dilemma", "negotiation", "debate"])
def test_check_env_with_the_default_model(model_agent, env_id, kwargs):
    env = gym.make(env_id, **kwargs(model_agent))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_env(env.unwrapped)
    _, info = env.reset(seed=0)
    done = False
    while not done:
        # no "Rating: N" line: Society-v0 would rate it 1 by rule without asking the model
        _, reward, terminated, truncated, info = env.step("MOVE: C")
        done = terminated or truncated
    assert info["verdict"]["status"] in ("pass", "fail", "sandbox_error")
    env.close()


def test_debate_api_test_with_the_default_model_as_judge(model_agent):
    calls = []

    def judge(conversations):
        calls.append(len(conversations))
        return model_agent(conversations)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        api_test(DebateGame(judge=judge, rounds=1, max_invalid=4), num_cycles=30)
    game = DebateGame(judge=judge, rounds=1)
    game.reset(seed=0)
    game.step("ARGUMENT: it saves time.")
    game.step("ARGUMENT: it costs money.")
    assert calls and all(game.terminations.values())
    assert sum(game.returns.values()) == 0.0
