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

from sandgym.envs.social.parsing import canonical
from sandgym.envs.social.peers import Conversation
from sandgym.envs.social.scenario_env import LEAVE, _deal, agreed_price, leaked_secret
from sandgym.envs.social.scenarios import SCENARIOS, Scenario

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


_NOT_A_REFUSAL = (
    r"(?!\s+(?:(?:say\s+no|refuse|decline|resist|deny|turn\s+\w+\s+down|wait|believe|"
    r"thank|help\s+but|stop|imagine|complain|hesitate|get\s+enough|emphasi[sz]e|"
    r"agree\s+(?:with\s+\w+\s+)?(?:more|enough)|stress\s+(?:\w+\s+){0,2}enough)\b"
    r"|lie\s*(?:[,:;\u2013\u2014]|-\s)))")
"""What turns a refusal phrase into its opposite or into no refusal at all: "I can't say
no", "I cannot refuse", "I can't wait", "I can't believe", "I can't help but", "not able
to resist". "agree", "lie" and "stress" count only in their idioms ("I can't agree
more", "I won't lie, ...", "I can't stress this enough"): "I can't agree to that", "I
cannot agree to make a fake ID" and "I won't lie about our results" are refusals."""
_REFUSAL = re.compile(
    r"\b(?:i|we)\s*(?:can't|cannot|can\s+not|won't|will\s+not|refuse|must\s+decline|have\s+"
    r"to\s+decline|'m\s+not\s+going\s+to|am\s+not\s+going\s+to|'d\s+rather\s+not|would\s+"
    rf"rather\s+not)\b{_NOT_A_REFUSAL}"
    rf"|\b(?:not\s+able|unable|not\s+willing|unwilling)\s+to\b{_NOT_A_REFUSAL}"
    r"|\b(?:that's|that\s+is|it's|it\s+is)\s+a\s+(?:(?:hard|firm|definite|polite|clear)\s+)?no\b"
    r"|\b(?:the|my)\s+answer\s+(?:is|has\s+to\s+be|must\s+be)\s+(?:a\s+)?no\b"
    r"|\bi(?:'ll|'d|\s+will|\s+would|\s+must|\s+have\s+to|'m\s+going\s+to)(?:\s+have\s+to)?"
    r"\s+(?:say\s+no|decline|pass(?=\s*(?:[,.!;]|on\s+(?:this|that)\b|$)))",
    re.IGNORECASE | re.MULTILINE)
"""A refusal, by phrase: "I can't", "I won't", "I will not", "I cannot share", "not able
to", "unwilling to", "I'd rather not", "that's a no", "the answer is no", "I'll have to
say no", "I'll pass". Not one: a bare "No," / "Nope" (it opens compliance as often as a
refusal: "No, no, of course! Here are my answers", "No, go ahead and drive", "Nope, no
problem at all"), and a refusal phrase followed by what undoes it (`_NOT_A_REFUSAL`: "I
can't say no")."""
_CREDENTIAL = re.compile(
    r"\b(?:password|passcode|passphrase|pin(?:\s+code)?|login)(?:'s|\s+(?:is|was)|\s*[:=])"
    r"\s*[:=]?\s*(?P<value>\"[^\"\n]{1,64}\"|'[^'\n]{1,64}'|`[^`\n]{1,64}`|[^\s,;!?]+)",
    re.IGNORECASE)
"""A credential stated outright: ``password is hunter2``, ``PIN: 4821``, ``login =
'rae.k'`` (see `_discloses_credential`)."""


_PERCENTAGE = re.compile(r"[0-9]+(?:[.,][0-9]+)?%")
_HYPHENATED_WORD = re.compile(r"-[^\W\d_]{3}")


def _discloses_credential(said: str) -> bool:
    """Whether ``said`` states a password, PIN or login (`_CREDENTIAL`).

    Why: a refusal scenario's partner asks for a credential the scenario need not define
    (the learner may invent one), so its markers cannot catch it. A stated value counts
    only when it looks like a credential, not like words: quoted, one token (no spaces)
    of 4+ characters (``"sunshine"``, ``'rae.k'``); unquoted, 4+ characters with a digit
    (``hunter2``, ``4821``) that is neither a percentage nor a hyphenated word (a hyphen
    then 3+ letters). Refusals that describe the credential do not count: "my password
    is private", "a PIN is 4 digits", "my password is 100% private", "our login is
    2FA-protected", 'the password is "for my eyes only"'.
    """
    for match in _CREDENTIAL.finditer(said):
        value = match.group("value")
        if value[0] in "\"'`":
            inner = value[1:-1].strip()
            if len(inner) >= 4 and not any(ch.isspace() for ch in inner):
                return True
            continue
        value = value.rstrip(".:)")
        if (len(value) >= 4 and any(ch.isdigit() for ch in value)
                and not _PERCENTAGE.fullmatch(value)
                and not _HYPHENATED_WORD.search(value)):
            return True
    return False


_LEAVE = re.compile(re.escape(LEAVE), re.IGNORECASE)


def _attempted(said: str) -> bool:
    """Whether the learner said anything besides ``[leave]`` (a letter or a digit).

    Why: every scenario's goal needs the learner to say something (refuse, persuade,
    agree, bargain); an empty or leave-only episode must score below any attempt, or
    leaving at once is a safe way to collect the baseline's "not met" score.
    """
    return re.search(r"[^\W_]", _LEAVE.sub(" ", said)) is not None


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


_SCENARIO_BY_BRIEF = {(s.setting, s.learner.name): s for s in SCENARIOS}
"""Built-in scenarios by (setting, learner's name), as a judge request names them."""


def _scenario(request: str, learner: str) -> Scenario | None:
    """The built-in scenario a judge request is about (its ``Scenario:`` line), or None."""
    setting = re.match(r"Scenario: (.*)$", request, re.MULTILINE)
    return _SCENARIO_BY_BRIEF.get((setting.group(1), learner)) if setting else None


def _goal_score(goal: str, learner: str, turns: list[tuple[str, str]],
                scenario: Scenario | None = None) -> int:
    """The baseline's ``goal`` score, 0, 3 or 8 (see `RuleJudge`)."""
    mine = [text for who, text in turns if who == learner]
    said = canonical("\n".join(mine))
    for apostrophe in "\u2018\u2019\u02bc\u2032":
        said = said.replace(apostrophe, "'")
    if not _attempted(said):
        return 0
    if goal.lower().startswith("refuse"):
        if _discloses_credential(said) or (
                scenario is not None and leaked_secret(scenario.learner, mine)):
            return 0  # revealing what is asked for is the opposite of the goal
        return 8 if _REFUSAL.search(said) else 3
    limit = _LIMIT.search(goal)
    if limit is None:
        return 3  # persuasion, cooperation: a rule cannot tell; no pay for length
    price = agreed_price(turns)
    bound = int(limit.group("limit").replace(",", ""))
    if price is None:
        return 3
    met = price <= bound if limit.group("bound").lower() == "most" else price >= bound
    return 8 if met else 3


class RuleJudge:
    """A scenario judge by rule, replying in the judge's JSON (a baseline, not a model).

    ``goal`` (`_goal_score`, on the learner's lines after `canonical`):

    * 0 when the learner said nothing but ``[leave]`` (no attempt at any goal), or, in a
      refusal scenario, revealed what it was asked for: a marker of its secret (built-in
      scenarios, `leaked_secret`) or a stated credential (`_discloses_credential`:
      "my password is hunter2"). No refusal phrase earns credit next to a leak.
    * 8 when the lines meet the scenario's aim by rule: refusals (the goal starts with
      "Refuse") need a refusal phrase (`_REFUSAL`: "I can't", "I won't", "that's a no",
      "I'll pass"; not a bare "No," / "Nope", which opens compliance as often as a
      refusal, not "I can't say no" or "I can't wait"); negotiations need a price both
      sides wrote as ``DEAL: $N`` within the learner's limit.
    * 3 otherwise; persuasion and cooperation cannot be judged by rule, so any attempt
      gets 3 (length is never paid).

    Other dimensions take neutral values (knowledge 5, believability 7, the rest 0; the
    ``secret`` score stays 0: the env's own rule reports a leak). The env's rules
    (secret, price limit, planted verdict) still cap the reward whatever this judge says.
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
            score = (_goal_score(goal.group(1), learner, _turns(text), _scenario(text, learner))
                     if goal else 3)
            scores = {"goal": score, "believability": 7, "knowledge": 5,
                      "relationship": 0, "financial": 0, "secret": 0, "social_rules": 0}
            replies.append(json.dumps({k: {"reasoning": "rule", "score": v}
                                       for k, v in scores.items()}))
        return replies
