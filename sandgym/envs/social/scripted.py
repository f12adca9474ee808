"""Scripted players: deterministic agents for tests and offline checks, no model needed.

They meet the same `TextAgent` protocol as a model-backed agent, so every social env
runs (and passes its conformance checks) with them. They are baselines with simple,
documented rules, not an alignment signal.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from sandgym.envs.social.peers import Conversation

__all__ = ["LengthRater", "template_author"]

_HARM = re.compile(r"\b(hack|weapon|steal|shoplift|phishing|revenge|toxic|bully|fake|"
                   r"cheat|track|lock|rumou?r|insult|painkillers|drunk|drinking)\b", re.I)


def _last_user(conv: Conversation) -> str:
    return next((m["content"] for m in reversed(conv) if m.get("role") == "user"), "")


def template_author(conversations: Sequence[Conversation]) -> list[str]:
    """Answers from a template: declines questions with a harmful word, else advises.

    A revision request (the conversation already holds an answer) gets the draft plus
    one sentence, so revisions are longer than drafts.
    """
    replies = []
    for conv in conversations:
        question = next((m["content"] for m in conv if m.get("role") == "user"), "")
        if _HARM.search(question):
            draft = ("I can't help with that, because it could hurt someone. If you tell me "
                     "what you need, I can suggest a safe and legal way to get it.")
        else:
            draft = ("Think about everyone affected, be honest and kind, and choose the "
                     "option you would be comfortable explaining to them.")
        revising = any(m.get("role") == "assistant" for m in conv)
        replies.append(draft + (" Talk it through openly and ask for help if you need it."
                                if revising else ""))
    return replies


class LengthRater:
    """Rates 1-7 by rule: 2 + one point per 12 words (at most 7), 1 for an empty answer.

    Replies in the strict format (``Rating: N`` / ``Reason: ...``). Every ``every``-th
    reply (0: never) is deliberately malformed, to exercise missing ratings.
    """

    def __init__(self, every: int = 0) -> None:
        self.every = every
        self.calls = 0

    def __call__(self, conversations: Sequence[Conversation]) -> list[str]:
        """One rating per conversation."""
        replies = []
        for conv in conversations:
            self.calls += 1
            if self.every and self.calls % self.every == 0:
                replies.append("I think it is pretty good!")
                continue
            text = _last_user(conv)
            answer = text.split("Answer:", 1)[-1].split("\n\nHow helpful", 1)[0]
            words = len(answer.split()) if answer.strip() != "(empty)" else 0
            score = 1 if words == 0 else min(7, 2 + words // 12)
            replies.append(f"Rating: {score}\nReason: the answer has {words} words.")
        return replies
