"""Env kwargs that name a policy: ``KEY=policy:SPEC`` becomes an agent the env calls.

Families take the other agents of an episode (a simulated user, raters, a judge, an
opponent) as injected text-in/text-out callables, because ``envs`` never imports
``agents`` (DESIGN.md, layering). A callable cannot be written on a command line or
shipped in a Ray config, so a string value ``"policy:SPEC"`` names a sandgym policy
instead (any spec `build_policy` takes: ``default``, a model directory,
``openai:URL#MODEL``). This layer, which may import both, builds the policy where the
envs are made and passes a `PolicyAgent` in its place; one policy per spec per process,
shared by every env of a batch, closed with them.

Example:
    ``sandgym eval --env sandgym/Tau2Retail-v0 --policy default --env-arg user=policy:default``
    plays the agent and the simulated customer with the bundled model.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import Any

__all__ = ["POLICY_PREFIX", "InjectedPolicies", "PolicyAgent"]

logger = logging.getLogger(__name__)

POLICY_PREFIX = "policy:"
"""An env kwarg's string value that starts with this names a policy to inject."""

DEFAULT_MAX_NEW_TOKENS = 128
"""Tokens per injected reply: a user turn, a rating or a move is short."""


class PolicyAgent:
    """A sandgym policy as the text agent families inject.

    Called with one conversation (a list of ``{"role", "content"}`` messages) it returns
    the reply's text, as `sandgym.envs.tools.UserModel` expects; called with a batch of
    conversations it returns one text each, as the social family's ``TextAgent`` does
    (one batched ``generate`` call).

    Args:
        policy: the `sandgym.agents.Policy` that writes the replies.
        sampling: its `SamplingParams` (None: greedy, `DEFAULT_MAX_NEW_TOKENS`).
    """

    def __init__(self, policy: Any, sampling: Any = None) -> None:
        from sandgym.agents import SamplingParams

        self.policy = policy
        self.sampling = sampling or SamplingParams(temperature=0.0,
                                                   max_new_tokens=DEFAULT_MAX_NEW_TOKENS)
        self.calls = 0
        # Envs of a batch are stepped from several threads (run_episodes) and share this
        # agent; a local model is not safe to call concurrently, so calls take turns.
        self._lock = threading.Lock()

    def __call__(self, conversations: Sequence[Any]) -> Any:
        """One conversation -> its reply's text; a batch of conversations -> texts."""
        if not conversations:
            raise ValueError("PolicyAgent needs a conversation (a list of messages) or a "
                             "batch of them, got an empty list")
        single = isinstance(conversations[0], dict)
        batch = [list(conversations)] if single else [list(c) for c in conversations]
        with self._lock:
            self.calls += 1
            texts = [g.text for g in self.policy.generate(batch, self.sampling)]
        return texts[0] if single else texts


class InjectedPolicies:
    """Builds the policies env kwargs name, once per spec, and closes them.

    Example:
        >>> injected = InjectedPolicies()
        >>> injected.resolve({"reward_mode": "binary", "timeout_s": 3})
        {'reward_mode': 'binary', 'timeout_s': 3}
        >>> injected.close()
    """

    def __init__(self, **policy_options: Any) -> None:
        self._options = policy_options
        self._agents: dict[str, PolicyAgent] = {}

    def resolve(self, env_kwargs: dict[str, Any]) -> dict[str, Any]:
        """``env_kwargs`` with every ``"policy:SPEC"`` value replaced by its `PolicyAgent`."""
        return {key: self._agent(value) if _names_policy(value) else value
                for key, value in env_kwargs.items()}

    def _agent(self, value: str) -> PolicyAgent:
        spec = value[len(POLICY_PREFIX):].strip()
        if not spec:
            raise ValueError(f"{value!r} names no policy; write e.g. 'policy:default'")
        if spec not in self._agents:
            from sandgym.rollouts.policies import CANONICAL, build_policy

            if spec == CANONICAL:
                raise ValueError("'policy:canonical' cannot be injected: reference answers "
                                 "belong to the agent's side of a task, not another party")
            logger.info("injecting policy %r into the env", spec)
            self._agents[spec] = PolicyAgent(build_policy(spec, **self._options))
        return self._agents[spec]

    def close(self) -> None:
        """Close every policy built; calling it twice is harmless."""
        agents, self._agents = self._agents, {}
        for agent in agents.values():
            try:
                agent.policy.close()
            except Exception:  # noqa: BLE001 - closing the rest matters more
                logger.debug("closing an injected policy failed", exc_info=True)


def _names_policy(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(POLICY_PREFIX)
