"""GRPO's tool-call cap comes from the env: a game cut short is finished as conceded."""

from __future__ import annotations

import logging

import pytest

from sandgym.train.grpo import GRPORunConfig, _turn_limit


@pytest.mark.parametrize("env_id, limit", [("sandgym/PrisonersDilemma-v0", 8),
                                           ("sandgym/Debate-v0", 5),
                                           ("sandgym/Negotiation-v0", 6)])
def test_the_default_cap_is_the_games_own_bound(env_id, limit):
    # 5 rounds of the dilemma (2 of debate) plus the invalid-move allowance: the old
    # fixed cap of 3 cut every dilemma short, and a cut game concedes (-5).
    assert _turn_limit(GRPORunConfig(env_id=env_id, mode="tools"), {}) == limit


def test_an_env_without_a_declared_limit_keeps_three():
    assert _turn_limit(GRPORunConfig(env_id="sandgym/PythonRepair-v0", mode="tools"), {}) == 3


def test_a_cap_below_the_envs_limit_is_kept_but_warned_about(caplog):
    config = GRPORunConfig(env_id="sandgym/PrisonersDilemma-v0", mode="tools", max_turns=3)
    with caplog.at_level(logging.WARNING, logger="sandgym.train.grpo"):
        assert _turn_limit(config, {}) == 3
    assert "counts as conceded" in caplog.text
    with pytest.raises(ValueError, match="max_turns must be >= 1"):
        GRPORunConfig(max_turns=0)
