"""`policy:SPEC` env kwargs: another party of the episode played by a sandgym policy."""

from __future__ import annotations

import pytest

from sandgym.agents import ScriptedPolicy
from sandgym.rollouts.injected import InjectedPolicies, PolicyAgent

RETAIL = "sandgym/Tau2Retail-v0"


def test_policy_agent_answers_one_conversation_or_a_batch():
    seen: list[list[dict]] = []

    def echo(messages):
        seen.append(messages)
        return "re: " + messages[-1]["content"]

    agent = PolicyAgent(ScriptedPolicy(echo))
    assert agent([{"role": "user", "content": "hi"}]) == "re: hi"
    batch = [[{"role": "user", "content": "a"}], [{"role": "user", "content": "b"}]]
    assert agent(batch) == ["re: a", "re: b"]
    assert agent.calls == 2 and len(seen) == 3


def test_policy_agent_calls_take_turns_across_threads():
    """Envs of a batch step in threads and share one injected agent: the policy must
    never be inside ``generate`` twice at once."""
    import threading
    import time
    from concurrent.futures import ThreadPoolExecutor

    inside, overlaps = [0], []
    guard = threading.Lock()

    def slow(messages):
        with guard:
            inside[0] += 1
            overlaps.append(inside[0])
        time.sleep(0.01)
        with guard:
            inside[0] -= 1
        return messages[-1]["content"]

    agent = PolicyAgent(ScriptedPolicy(slow))
    with ThreadPoolExecutor(8) as pool:
        replies = list(pool.map(lambda i: agent([{"role": "user", "content": str(i)}]),
                                range(32)))
    assert replies == [str(i) for i in range(32)]
    assert max(overlaps) == 1 and agent.calls == 32
    with pytest.raises(ValueError, match="empty"):
        agent([])


def test_only_policy_values_are_resolved_and_bad_specs_are_refused():
    injected = InjectedPolicies()
    kwargs = {"reward_mode": "fraction", "tasks": "policy.jsonl", "limit": 3}
    assert injected.resolve(kwargs) == kwargs
    with pytest.raises(ValueError, match="names no policy"):
        injected.resolve({"user": "policy:  "})
    with pytest.raises(ValueError, match="cannot be injected"):
        injected.resolve({"user": "policy:canonical"})
    injected.close()


def test_the_default_model_plays_the_simulated_user_of_a_retail_episode():
    """The agent first asks the customer something, then does the task; the customer's
    answer comes from the bundled model through ``user="policy:default"``."""
    from sandgym.rollouts.evaluation import EpisodeBatches
    from sandgym.rollouts.policies import build_policy

    question = "Before I start: could you confirm which order this is about?"
    with EpisodeBatches(RETAIL, env_kwargs={"user": "policy:default"}, batch_size=1) as batches:
        canonical = build_policy("canonical", env=batches.first_env)

        def agent(messages):
            if not any(m["role"] == "assistant" for m in messages):
                return question
            return canonical.generate([messages])[0].text

        [trajectory] = batches.play(ScriptedPolicy(agent), batches.task_ids[:1], max_turns=4)
        user = batches.first_env.unwrapped._user
        assert type(user).__name__ == "LLMUser" and isinstance(user.model, PolicyAgent)
        assert user.model.calls >= 1
    roles = [m["role"] for m in trajectory.messages]
    asked = roles.index("assistant")
    assert trajectory.messages[asked]["content"] == question
    answer = trajectory.messages[asked + 1]
    assert answer["role"] == "user" and answer["content"].strip()
    assert trajectory.final_reward == 1.0  # the gold calls came after the exchange
