"""`DelayedPolicy`: a policy that answers after a fixed delay, like a remote server.

At scale a rollout worker's policy is usually a client of an inference server: each
turn's batched ``generate`` call waits on the network and the server, not on this
machine's CPU. Wrapping a cheap policy (scripted, canonical) in a delay reproduces that
shape without a server, so benchmarks and tests can check that workers overlap their
waits (``sandgym bench rollouts`` measures 1→2→4 workers this way).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from sandgym.agents.base import Conversation, Generation, Policy, SamplingParams

__all__ = ["DelayedPolicy"]


class DelayedPolicy(Policy):
    """Forward to ``inner`` after sleeping ``delay_s`` per ``generate`` call.

    The delay is per call, not per conversation: a server answers a batch in about
    the time of one request, which is what batching episodes per turn relies on.

    Args:
        inner: the policy that writes the replies.
        delay_s: seconds each call waits before answering (>= 0).

    Example:
        >>> from sandgym.agents import ScriptedPolicy
        >>> policy = DelayedPolicy(ScriptedPolicy(["ok"]), delay_s=0.01)
        >>> policy.generate([[{"role": "user", "content": "?"}]])[0].text
        'ok'
    """

    def __init__(self, inner: Policy, delay_s: float) -> None:
        if not delay_s >= 0:
            raise ValueError(f"delay_s must be >= 0 seconds, got {delay_s!r}")
        self.inner = inner
        self.delay_s = float(delay_s)
        self.name = inner.name

    @property
    def tokenizer(self) -> Any | None:
        """The inner policy's tokenizer."""
        return self.inner.tokenizer

    def generate(self, conversations: Sequence[Conversation],
                 sampling: SamplingParams | None = None) -> list[Generation]:
        """Wait ``delay_s``, then return the inner policy's replies."""
        time.sleep(self.delay_s)
        return self.inner.generate(conversations, sampling)

    def close(self) -> None:
        """Close the inner policy."""
        self.inner.close()
