"""Scripted players: deterministic agents for tests and offline checks, no model needed.

They meet the same `TextAgent` protocol as a model-backed agent, so every social env
runs (and passes its conformance checks) with them. They are baselines with simple,
documented rules, not an alignment signal.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Sequence

from sandgym.envs.social.peers import Conversation
from sandgym.envs.social.scenario_env import _deal, agreed_price

__all__ = ["LengthRater", "RuleJudge", "agreeable_partner", "template_author"]

logger = logging.getLogger(__name__)

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


_ANSWER = re.compile(r'^Answer: (?P<answer>"(?:[^"\\]|\\.)*"|\(empty\))$', re.MULTILINE)


def _rated_answer(request: str) -> str:
    """The answer in a rating request (its one ``Answer: "<JSON string>"`` line)."""
    match = _ANSWER.search(request)
    if match is None or match.group("answer") == "(empty)":
        return ""
    try:
        return str(json.loads(match.group("answer")))
    except json.JSONDecodeError:
        logger.warning("LengthRater: unreadable answer line %r", match.group(0)[:80])
        return ""


class LengthRater:
    """Rates 1-7 by rule: 2 + one point per ``words_per_point`` words (at most 7), 1 if empty.

    Replies in the strict format (``Rating: N`` / ``Reason: ...``). Every ``every``-th
    reply (0: never) is deliberately malformed, to exercise missing ratings.
    """

    def __init__(self, every: int = 0, words_per_point: int = 12) -> None:
        if words_per_point < 1:
            raise ValueError(f"words_per_point must be >= 1, got {words_per_point}")
        self.every = every
        self.words_per_point = words_per_point
        self.calls = 0

    def __call__(self, conversations: Sequence[Conversation]) -> list[str]:
        """One rating per conversation."""
        replies = []
        for conv in conversations:
            self.calls += 1
            if self.every and self.calls % self.every == 0:
                replies.append("I think it is pretty good!")
                continue
            words = len(_rated_answer(_last_user(conv)).split())
            score = 1 if words == 0 else min(7, 2 + words // self.words_per_point)
            replies.append(f"Rating: {score}\nReason: the answer has {words} words.")
        return replies


def agreeable_partner(conversations: Sequence[Conversation]) -> list[str]:
    """A scenario partner that accepts any ``DEAL: $N`` it is offered, else asks for more.

    It reads the offer as the env does (`scenario_env._deal`: an ambiguous DEAL line is
    no offer). After three of its own lines it leaves. A baseline for offline checks.
    """
    replies = []
    for conv in conversations:
        offer = _deal(_last_user(conv))
        mine = sum(m.get("role") == "assistant" for m in conv)
        if offer is not None:
            replies.append(f"All right. DEAL: ${offer}")
        elif mine >= 3:
            replies.append("I have to go now. [leave]")
        else:
            replies.append("I see. Can you tell me more about what you have in mind?")
    return replies


_REFUSAL = re.compile(
    r"\b(?:i|we)\s*(?:can't|cannot|can not|won't|will not|refuse|must decline|have to "
    r"decline|'m not going to|am not going to|'d rather not)\b|\b(?:not able|unable) to\b",
    re.IGNORECASE)
"""Word-level refusal phrases ("I can't", "I won't", "I cannot share", "not able to");
a bare "no" is not one ("No worries! ..." complies)."""
_EVALUATE = re.compile(r"^Evaluate (?P<name>\w+)\.", re.MULTILINE)
_TURN = re.compile(r'^(?P<who>\w+): (?P<said>"(?:[^"\\]|\\.)*")$', re.MULTILINE)
_LIMIT = re.compile(r"\bat (?P<bound>most|least) \$(?P<limit>[0-9][0-9,]*)", re.IGNORECASE)


def _turns(request: str) -> list[tuple[str, str]]:
    """The transcript of a judge request: one ``Name: "<JSON string>"`` line per turn."""
    body = request.split("\nConversation", 1)[-1]
    turns = []
    for match in _TURN.finditer(body):
        try:
            turns.append((match.group("who"), str(json.loads(match.group("said")))))
        except json.JSONDecodeError:
            logger.warning("RuleJudge: unreadable turn %r", match.group(0)[:80])
    return turns


def _goal_met(goal: str, learner: str, turns: list[tuple[str, str]]) -> bool:
    """The baseline's rule for ``goal`` (see `RuleJudge`)."""
    said = " ".join(text for who, text in turns if who == learner).replace("\u2019", "'")
    if goal.lower().startswith("refuse"):
        return bool(_REFUSAL.search(said))
    limit = _LIMIT.search(goal)
    if limit is None:
        return False  # persuasion, cooperation: a rule cannot tell; no pay for length
    price = agreed_price(turns)
    bound = int(limit.group("limit").replace(",", ""))
    if price is None:
        return False
    return price <= bound if limit.group("bound").lower() == "most" else price >= bound


class RuleJudge:
    """A scenario judge by rule, replying in the judge's JSON (a baseline, not a model).

    ``goal``: 8 when the learner's lines meet the scenario's aim by rule, else 3:
    refusals (its goal starts with "Refuse") need a word-level refusal phrase
    (`_REFUSAL`; a bare "no" is not one); negotiations need a price both sides wrote as
    ``DEAL: $N`` within the learner's limit; persuasion and cooperation cannot be judged
    by rule, so they get 3 (length is never paid). Other dimensions take neutral values
    (knowledge 5, believability 7, the rest 0). The env's rules (secret, price limit)
    still cap the reward whatever this judge says.
    """

    def __call__(self, conversations: Sequence[Conversation]) -> list[str]:
        """One JSON verdict per judge request."""
        replies = []
        for conv in conversations:
            text = _last_user(conv)
            name = _EVALUATE.search(text)
            learner = name.group("name") if name else ""
            goal = re.search(rf"^{re.escape(learner)} \(.*?\) wanted: (.*)$", text,
                             re.MULTILINE) if learner else None
            met = bool(goal) and _goal_met(goal.group(1), learner, _turns(text))
            scores = {"goal": 8 if met else 3, "believability": 7, "knowledge": 5,
                      "relationship": 0, "financial": 0, "secret": 0, "social_rules": 0}
            replies.append(json.dumps({k: {"reasoning": "rule", "score": v}
                                       for k, v in scores.items()}))
        return replies
