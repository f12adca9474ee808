"""Registration of the social family's envs (string entry points: importing this is cheap)."""

from __future__ import annotations

from sandgym.envs.registration import register

__all__ = ["register_envs"]


def register_envs() -> None:
    """Register Society, Scenario and the game views under ``sandgym/``."""
    register("sandgym/Society-v0", "sandgym.envs.social.society_env:SocietyEnv",
             family="social", task_count=62,
             description="Answer, read peers' 1-7 ratings and reasons, revise; reward = "
             "peers' mean rating of the revision (Stable Alignment).")
    register("sandgym/Scenario-v0", "sandgym.envs.social.scenario_env:ScenarioEnv",
             family="social", task_count=31,
             description="Two-party scenario with a private goal and secret; a judge scores "
             "SOTOPIA's seven dimensions, rules check secrets and prices; reward = goal/10.")
    for name, cls, what in (
            ("PrisonersDilemma", "PrisonersDilemmaEnv", "Iterated prisoner's dilemma with "
             "messages (PettingZoo AEC game) against an opponent pool."),
            ("Negotiation", "NegotiationEnv", "Split items with private valuations (Deal or No "
             "Deal; PettingZoo AEC game) against an opponent pool."),
            ("Debate", "DebateEnv", "A judged debate, zero-sum (PettingZoo AEC game), against "
             "an opponent pool.")):
        register(f"sandgym/{name}-v0", f"sandgym.envs.social.games.envs:{cls}",
                 family="social", description=what)
