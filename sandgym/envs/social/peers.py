"""The protocol every other agent of a social env meets: conversations in, text out.

Social envs need other agents (peers who rate, a partner in a scenario, a judge, game
opponents), but `envs` never imports `agents` (DESIGN.md, layering). So they take
*injected* callables meeting `TextAgent`: a batch of chat conversations in, one reply
text per conversation out. A batch lets a model-backed agent answer many prompts in one
``generate`` call; a scripted agent answers them one by one. The CLI (and tests) wrap a
sandgym `Policy` with one line::

    agent = lambda convs: [g.text for g in policy.generate(convs, sampling)]

`as_agent` adapts a function of one conversation (or a plain string → string function)
to the batched protocol.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Protocol, runtime_checkable

from sandgym.envs.errors import EnvError

logger = logging.getLogger(__name__)

__all__ = ["AgentError", "Conversation", "TextAgent", "as_agent", "ask", "user"]

Conversation = list[dict[str, str]]
"""Chat messages ``{"role": "system" | "user" | "assistant", "content": str}``, oldest first."""


class AgentError(EnvError):
    """An injected agent broke the protocol (wrong number of replies, not text)."""


@runtime_checkable
class TextAgent(Protocol):
    """Any callable mapping a batch of conversations to one reply text each."""

    def __call__(self, conversations: Sequence[Conversation]) -> list[str]:
        """One reply per conversation, in order."""
        ...


def as_agent(fn: Callable[[Conversation], str], *, batched: bool = False) -> TextAgent:
    """Wrap a one-conversation function (``batched=False``) as a `TextAgent`.

    Example:
        >>> echo = as_agent(lambda conv: conv[-1]["content"].upper())
        >>> echo([[{"role": "user", "content": "hi"}]])
        ['HI']
    """
    if batched:
        return fn  # type: ignore[return-value]

    def agent(conversations: Sequence[Conversation]) -> list[str]:
        return [fn(list(c)) for c in conversations]

    agent.__name__ = getattr(fn, "__name__", "agent")
    return agent


def user(text: str, system: str | None = None) -> Conversation:
    """A one-question conversation (with an optional system message)."""
    messages = [{"role": "system", "content": system}] if system else []
    return messages + [{"role": "user", "content": text}]


def ask(agent: TextAgent, conversations: Sequence[Conversation], *, what: str = "agent"
        ) -> list[str]:
    """Call ``agent`` once on the whole batch and check it kept the protocol.

    Raises:
        AgentError: the agent returned a different number of replies, or a non-string.
    """
    if not conversations:
        return []
    replies = agent([list(c) for c in conversations])
    if not isinstance(replies, (list, tuple)) or len(replies) != len(conversations):
        got = len(replies) if isinstance(replies, (list, tuple)) else type(replies).__name__
        raise AgentError(f"the {what} answered {got} replies to {len(conversations)} "
                         "conversations; a TextAgent returns one str per conversation")
    bad = [r for r in replies if not isinstance(r, str)]
    if bad:
        raise AgentError(f"the {what} returned {type(bad[0]).__name__}, not str; a TextAgent "
                         "returns reply texts")
    return list(replies)
