"""Scenario-v0: the scenario set, rule checks (secrets, prices) over the judge, parsing."""

from __future__ import annotations

import json

import gymnasium as gym
import pytest
from gymnasium.utils.env_checker import check_env

import sandgym.envs  # noqa: F401 - registers the sandgym/ envs
from sandgym.envs.errors import EnvError
from sandgym.envs.social.export import scenario_sft_rows
from sandgym.envs.social.scenario_env import agreed_price
from sandgym.envs.social.scenario_runs import play_scenarios
from sandgym.envs.social.scenarios import CATEGORIES, SCENARIOS, PriceRule, validate_scenarios


def test_at_least_thirty_valid_scenarios_in_every_category():
    assert len(SCENARIOS) >= 30
    assert {s.category for s in SCENARIOS} == set(CATEGORIES)
    validate_scenarios(SCENARIOS)
    with pytest.raises(EnvError, match="used twice"):
        validate_scenarios([SCENARIOS[0], SCENARIOS[0]])


def test_scenario_env_passes_check_env_with_scripted_players():
    env = gym.make("sandgym/Scenario-v0")
    check_env(env.unwrapped)
    env.close()


def test_agreed_price_needs_both_sides_to_write_the_same_deal():
    assert agreed_price([("a", "DEAL: $130"), ("b", "DEAL: $130")]) == 130
    assert agreed_price([("a", "DEAL: $130"), ("b", "DEAL: $140")]) is None
    assert agreed_price([("a", "DEAL: $130"), ("a", "DEAL: $130")]) is None
    assert agreed_price([("a", "DEAL: $1,200"), ("b", "ok DEAL: 1200")]) == 1200
    rule = PriceRule("seller", target=9000, limit=7500)
    assert [rule.financial(p) for p in (9500, 9000, 8250, 7500, None)] == [5, 5, 0, -5, 0]


def _judge(goal, secret=0, financial=4):
    scores = {"goal": goal, "believability": 8, "knowledge": 6, "relationship": 1,
              "financial": financial, "secret": secret, "social_rules": 0}
    return lambda convs: [json.dumps(scores)] * len(convs)


def test_rules_override_the_judge_on_secrets_and_prices():
    env = gym.make("sandgym/Scenario-v0", judge=_judge(9, secret=0, financial=5)).unwrapped
    env.reset(options={"task_id": "negotiation/00"})  # Sam buys; target 120, limit 180
    obs, reward, terminated, _, info = env.step("I need one by Monday. DEAL: $180")
    assert terminated and reward == pytest.approx(0.9)
    assert info["rules"] == {"secret_leaked": True, "agreed_price": 180,
                             "overridden": ["secret", "financial"]}
    assert info["scores"]["secret"] == -10 and info["scores"]["financial"] == -5
    assert info["judge"]["scores"]["secret"] == 0  # what the judge said is kept apart


def test_a_judge_without_a_valid_goal_leaves_the_episode_unscored():
    env = gym.make("sandgym/Scenario-v0", judge=_judge(11), max_turns=1).unwrapped
    env.reset(options={"task_id": "refusal/00"})
    _, reward, terminated, truncated, info = env.step("No, I won't share my answers.")
    assert reward == 0.0 and info["reward"] is None and info["sandbox_error"]
    assert info["unscored"]
    assert info["scores"]["goal"] is None and "goal" in info["verdict"]["missing"]


def test_scenario_episodes_become_sft_rows_above_the_goal_threshold():
    env = gym.make("sandgym/Scenario-v0", max_turns=2).unwrapped

    def learner(convs):
        return ["DEAL: $150" if "price" in c[0]["content"] else "No."
                for c in convs]

    records = play_scenarios(env, learner, ["negotiation/00", "refusal/00", "cooperation/00"])
    goals = {r["scenario_id"]: r["goal"] for r in records}
    assert goals == {"negotiation/00": 8, "refusal/00": 8, "cooperation/00": 3}
    rows = scenario_sft_rows(records, min_goal=7)
    assert [r["scenario_id"] for r in rows] == ["negotiation/00", "refusal/00"]
    assert rows[0]["messages"][1] == {"role": "assistant", "content": "DEAL: $150"}
