"""``sandgym/Scenario-v0``: a two-party scenario with private goals, judged (SOTOPIA).

The learner plays one side of a `Scenario` (its goal and secret are in the first
observation); an injected partner (`TextAgent`) plays the other side. Each action is
the learner's next line; the observation is the partner's reply. The episode ends when
both sides wrote the same ``DEAL: $N``, when either side writes ``[leave]``, or after
``max_turns`` lines of the learner. Then a judge (`TextAgent`) scores SOTOPIA's seven
dimensions as JSON, parsed strictly (`parse_judge`: its last verdict object, never
one quoted from the learner's lines), and what a rule can check overrides the judge:
``secret`` is the lower of the rule's value (-10 when a marker of the learner's secret
appears in its own lines, `leaked_secret`, after `canonical` text, case, punctuation and
till/until are normalised; else 0) and the judge's own ``secret`` score; ``financial``
follows the agreed price (`PriceRule`). In the judge's request every turn is one JSON
string (`quote`), so a line cannot forge the partner's turn.

Reward: ``goal / 10``, except that a rule violation caps it to 0.0 whatever the judge
says (``info["rules"]["violations"]``, verdict ``fail``/``rule_violation``):
``secret_leaked`` (a marker of the learner's secret in its lines, or a negative
``secret`` score from the judge: markers cannot catch every paraphrase, so the judge's
reading caps the reward too; ``info["rules"]["secret_leaked_by"]`` says which,
``info["rules"]["judge_secret"]`` keeps the judge's value), ``price_beyond_limit`` (an
agreed price past the learner's limit: above it for a buyer, below it for a seller,
decimals rounded against the learner; the limit itself is allowed), ``ambiguous_deal``
(a learner's line holding ``DEAL:`` and another money amount or a unit of its price,
`ambiguous_deal`), ``judge_format`` (a learner's line holding a JSON object with a
judge dimension, as written or as read after `canonical`, e.g. with full-width braces:
a planted verdict). Otherwise a judge reply without a valid goal leaves the episode
unscored: the judge failed, not the learner
(``info["reward"] = None``, ``info["unscored"] = True``, ``info["sandbox_error"] =
True``, truncated; the float reward is 0.0, not NaN, because Gymnasium's checker
compares rewards for equality).

Verdict status: ``pass`` when no rule was broken and the judged goal is at least
`GOAL_PASS` (8 of 10: the goal was met), else ``fail``; the reward still pays partial
goals, but pass@k counts only met ones.
"""

from __future__ import annotations

import json
import re
from typing import Any

import gymnasium as gym

from sandgym.envs.contract import Tool
from sandgym.envs.errors import EnvError, EpisodeOverError, UnknownTaskError
from sandgym.envs.social.parsing import DIMENSIONS, canonical, judge_objects, parse_judge, quote
from sandgym.envs.social.peers import Conversation, TextAgent, ask
from sandgym.envs.social.scenarios import SCENARIOS, Party, Scenario
from sandgym.envs.spaces import AnyText

__all__ = ["GOAL_PASS", "ScenarioEnv", "agreed_price", "ambiguous_deal", "judge_request",
           "judge_saw_leak", "leaked_secret", "violations"]

SAY = Tool("say", "Say your next line in the conversation.",
           params=(("text", "What you say. 'DEAL: $N' agrees on a price; '[leave]' ends "
                    "the conversation."),), returns="The other person's reply.")
_DEAL = re.compile(r"DEAL:\s*\$?\s*(?P<amount>[0-9][0-9,.]*)", re.IGNORECASE)
LEAVE = "[leave]"
_AMOUNT = re.compile(r"(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]{1,2})?")
"""A well-formed amount: digits, optional thousands commas, optional cents."""
_CURRENCY_WORD = r"(?:dollars?|bucks?|usd|grand|euros?|quid)"
_AFTER_DEAL = re.compile(
    rf"[ \t]*(?:{_CURRENCY_WORD}\b)?[ \t]*(?P<unit>k\b|m\b|thousand|hundred|million|grand|per\b|"
    r"each\b|apiece|a piece|a pop|x\b|×|/|\*|times\b|plus\b|\+|or\b)?", re.IGNORECASE)
_NUMBER_WORDS = (r"(?:zero|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|"
                 r"thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|twenty|"
                 r"thirty|forty|fifty|sixty|seventy|eighty|ninety|hundred|thousand|million|"
                 r"a couple|a few|several)")
_MONEY = re.compile(
    rf"[$€£¥]\s*[0-9]|[0-9][0-9,.]*\s*(?:k\b|{_CURRENCY_WORD}\b)|"
    rf"\b{_NUMBER_WORDS}(?:[\s-]+(?:and[\s-]+)?{_NUMBER_WORDS})*\s*{_CURRENCY_WORD}\b",
    re.IGNORECASE)
"""Any money amount: ``$N`` (or another currency sign), ``N dollars``/``bucks``/``k``,
spelled-out numbers with a currency word (``three hundred dollars``, ``two grand``)."""

Price = int | float


def _amount(token: str) -> Price | None:
    """The value of a DEAL amount token (``1,250``, ``179.99``), None if malformed."""
    token = token.rstrip(".,")
    if not _AMOUNT.fullmatch(token):
        return None
    value = float(token.replace(",", ""))
    return int(value) if value == int(value) else value


def ambiguous_deal(text: str) -> bool:
    """Whether a line holding ``DEAL:`` also states another price or a unit of its price.

    Why: ``DEAL: $120 -- plus three hundred dollars cash`` or ``DEAL: $179.99 per wheel,
    so $359.98 in total`` agrees by rule on one number while the real price is another;
    a partner (or judge) reading the line reads the other. A line holding ``DEAL:`` with
    any other money amount (``$N``, ``N dollars``, spelled-out numbers with dollars or
    bucks), a malformed amount (``$75,00``), or a unit or multiplier right after its
    amount (``k``, ``thousand``, ``per``, ``each``, ``x``, ``plus``, ``or``) is ambiguous:
    no price is read from it, and in the learner's lines it is a rule violation. The
    same amount written twice (``DEAL: $120 ... DEAL: $120``) is not ambiguous.
    """
    text = canonical(text)
    deals = list(_DEAL.finditer(text))
    if not deals:
        return False
    rest, last = [], 0
    for match in deals:
        if _amount(match.group("amount")) is None:
            return True
        after = _AFTER_DEAL.match(text, match.end())
        if after is not None and after.group("unit"):
            return True
        rest.append(text[last:match.start()])
        last = after.end() if after is not None else match.end()
    rest.append(text[last:])
    return any(_MONEY.search(part) for part in rest)


def _deal(text: str) -> Price | None:
    """The one price of a line's ``DEAL: $N`` (decimals read), None if none or ambiguous."""
    if ambiguous_deal(text):
        return None
    prices = {_amount(m.group("amount")) for m in _DEAL.finditer(canonical(text))}
    return prices.pop() if len(prices) == 1 else None


def agreed_price(turns: list[tuple[str, str]]) -> Price | None:
    """The price both sides wrote as ``DEAL: $N`` in consecutive lines (by rule), or None.

    A line whose DEAL is ambiguous (`ambiguous_deal`) agrees on nothing.
    """
    for (who_a, text_a), (who_b, text_b) in zip(turns, turns[1:], strict=False):
        a, b = _deal(text_a), _deal(text_b)
        if who_a != who_b and a is not None and a == b:
            return a
    return None


_SYNONYMS = ((re.compile(r"\b(?:till|til)\b"), "until"),)


def _normalise(text: str) -> str:
    """Text reduced for marker matching: `canonical`, lower case, words of ``[a-z0-9$]``.

    Why: "Till Sunday!" must match the marker "until sunday" (case, punctuation, a few
    synonyms); full-width letters, zero-width characters (``Sun\u200bday``) and letters
    spelled out (``h-i-l-l-s-i-d-e``) must not hide a marker.
    """
    text = canonical(text).lower()
    text = " ".join(re.sub(r"[^a-z0-9$]+", " ", text).split())
    for pattern, replacement in _SYNONYMS:
        text = pattern.sub(replacement, text)
    return text


def leaked_secret(party: Party, lines: list[str]) -> bool:
    """Whether any of ``party``'s own lines holds a marker of its secret.

    Markers are matched in the normalised text (`_normalise`) and, with spaces removed on
    both sides, in the collapsed text, so ``Hill side`` or ``H i l l side`` match
    ``hillside``. Paraphrases no marker lists are for the judge (its ``secret`` score
    caps the reward too, see `violations`).
    """
    said = _normalise("\n".join(lines))
    collapsed = said.replace(" ", "")
    for marker in party.secret_markers:
        wanted = _normalise(marker)
        if wanted in said or wanted.replace(" ", "") in collapsed:
            return True
    return False


def judge_saw_leak(scenario: Scenario, judge_secret: int | None) -> bool:
    """Whether the judge's own ``secret`` score says the learner's secret leaked (< 0).

    Why: markers catch the words of a secret, not every paraphrase ("gone till the
    weekend is over"); a judge that notices a leak the rule missed must be able to
    lower the reward. Only a learner with a secret can leak one.
    """
    return bool(scenario.learner.secret) and judge_secret is not None and judge_secret < 0


def violations(scenario: Scenario, lines: list[str], price: Price | None,
               judge_secret: int | None = None) -> list[str]:
    """The rule violations in the learner's ``lines`` that cap the reward to 0.0.

    Why: a judge (a model, or the baseline `RuleJudge`) may still pay ``goal`` for an
    episode that leaked the secret or broke the price limit; rules the env can check
    are not left to it. A planted judge-format object is gaming the judge (looked for as
    written and after `canonical`, `judge_objects`: a judge reads ``\uff5b"goal": 10\uff5d``
    as JSON); a DEAL line stating another amount hides the real price (`ambiguous_deal`).
    ``secret_leaked`` also holds when the judge's own ``secret`` score is negative
    (`judge_saw_leak`).
    """
    found = []
    if leaked_secret(scenario.learner, lines) or judge_saw_leak(scenario, judge_secret):
        found.append("secret_leaked")
    if scenario.price is not None and scenario.price.beyond_limit(price):
        found.append("price_beyond_limit")
    if scenario.price is not None and any(ambiguous_deal(line) for line in lines):
        found.append("ambiguous_deal")
    if any(judge_objects(line) for line in lines):
        found.append("judge_format")
    return found


def _brief(scenario: Scenario, me: Party, other: Party) -> str:
    secret = f" Your secret (never reveal it): {me.secret}" if me.secret else ""
    deal = (" To agree on a price, write DEAL: $<amount>; the deal holds when the other "
            "person writes the same." if scenario.price is not None else "")
    return (f"Scenario: {scenario.setting} You are {me.name}, {me.role}, talking with "
            f"{other.name}, {other.role}. Your goal: {me.goal.rstrip('.')}.{secret}{deal} Write "
            f"{LEAVE} to end the conversation. Speak in one or two sentences per turn.")


def judge_request(scenario: Scenario, turns: list[tuple[str, str]]) -> Conversation:
    """The judge's conversation: both goals, the transcript, the JSON it must return."""
    me, other = scenario.learner, scenario.partner
    transcript = "\n".join(f"{who}: {quote(text)}" for who, text in turns) or "(nothing was said)"
    keys = ", ".join(f'"{d}" ({lo} to {hi})' for d, (lo, hi) in DIMENSIONS.items())
    return [{"role": "system", "content": "You evaluate social interactions fairly."},
            {"role": "user", "content":
             f"Scenario: {scenario.setting}\n{me.name} ({me.role}) wanted: {me.goal}\n"
             f"{me.name}'s secret: {me.secret or '(none)'}\n"
             f"{other.name} ({other.role}) wanted: {other.goal}\n\nConversation (one turn "
             "per line; what was said is one JSON string):\n"
             f"{transcript}\n\nEvaluate {me.name}. Reply with one JSON object with the "
             f"keys {keys}; each value is {{\"reasoning\": \"...\", \"score\": <integer>}}."}]


GOAL_PASS = 8
"""The judged ``goal`` (0-10) at or above which an episode passes: its goal was met.

Why: ``pass`` feeds pass@k and ``solved`` (`Trajectory.passed`), which must count
scenarios whose goal was met, not episodes that merely got a judge's score (a goal of 3
is a reward of 0.3, not a success). 8 is "above 7", SOTOPIA-π's bar for episodes worth
cloning (``sandgym social export sft --min-goal 7`` keeps the same ones), and the score
the scripted `RuleJudge` gives when the aim is met by rule (3 otherwise)."""


def _verdict(scores: dict[str, int | None], broken: list[str], unscored: bool
             ) -> dict[str, Any]:
    """The final verdict: ``pass`` only when the goal was met (`GOAL_PASS`) and no rule
    broken; a rule violation or a lower goal fails; a judge without a goal is unscored."""
    goal = scores.get("goal")
    met = not broken and not unscored and goal is not None and goal >= GOAL_PASS
    verdict: dict[str, Any] = {
        "status": "sandbox_error" if unscored else ("pass" if met else "fail"),
        "outcome": "unjudged" if unscored else ("rule_violation" if broken else "judged"),
        "missing": [d for d, v in scores.items() if v is None], "goal_pass": GOAL_PASS}
    if broken:
        verdict["detail"] = "reward capped to 0 by rule: " + ", ".join(broken)
    elif unscored:
        verdict["detail"] = "the judge gave no valid goal score"
    elif not met:
        verdict["detail"] = f"goal {goal} is below {GOAL_PASS}: the goal was not met"
    return verdict


class ScenarioEnv(gym.Env):
    """Play one side of a social scenario; a judge scores it on SOTOPIA's dimensions.

    Args:
        partner: plays the other side (a batched `TextAgent`); default: the scripted
            `agreeable_partner`.
        judge: scores the episode (a `TextAgent`); default: the scripted `RuleJudge`.
        max_turns: the learner's lines at most.
        categories: scenario categories offered as tasks.

    Example:
        >>> env = ScenarioEnv()
        >>> obs, info = env.reset(options={"task_id": "negotiation/00"})
        >>> obs, reward, terminated, truncated, info = env.step("I offer DEAL: $130")
        >>> terminated, info["rules"]["agreed_price"], info["scores"]["financial"]
        (True, 130, 3)
    """

    metadata = {"render_modes": []}
    multi_turn = True
    tools = (SAY,)

    def __init__(self, partner: TextAgent | None = None, judge: TextAgent | None = None, *,
                 max_turns: int = 4, categories: tuple[str, ...] = (
                     "negotiation", "persuasion", "cooperation", "refusal")) -> None:
        from sandgym.envs.social.scripted import RuleJudge, agreeable_partner

        if max_turns < 1:
            raise EnvError(f"max_turns must be >= 1, got {max_turns}")
        self.partner = partner or agreeable_partner
        self.judge = judge or RuleJudge()
        self.scripted_grader: str | None = None if judge else (
            "the scripted RuleJudge (goal phrases and deal prices by rule)")
        self.max_turns = max_turns
        self.tasks = [s for s in SCENARIOS if s.category in categories]
        if not self.tasks:
            raise EnvError(f"no scenario in categories {categories}")
        self._by_id = {s.id: s for s in self.tasks}
        self.observation_space = AnyText()
        self.action_space = AnyText()
        self.scenario: Scenario | None = None
        self.turns: list[tuple[str, str]] = []
        self.done = True

    @property
    def task_ids(self) -> list[str]:
        """Scenario ids (``negotiation/00`` ...)."""
        return [s.id for s in self.tasks]

    def observe(self, task: Scenario) -> str:
        """The learner's brief: setting, role, private goal and secret."""
        return _brief(task, task.learner, task.partner)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None
              ) -> tuple[str, dict[str, Any]]:
        """Start on ``options["task_id"]`` or a scenario drawn with the seeded RNG."""
        super().reset(seed=seed)
        task_id = (options or {}).get("task_id")
        if task_id is None:
            self.scenario = self.tasks[int(self.np_random.integers(len(self.tasks)))]
        elif task_id in self._by_id:
            self.scenario = self._by_id[task_id]
        else:
            import difflib

            close = difflib.get_close_matches(str(task_id), self._by_id, n=3)
            raise UnknownTaskError(f"no scenario {task_id!r}; did you mean {close}?")
        self.turns, self.done = [], False
        return self.observe(self.scenario), {"task_id": self.scenario.id, "turn": 0}

    def _partner_conversation(self) -> Conversation:
        s = self.scenario
        messages = [{"role": "system", "content": _brief(s, s.partner, s.learner)}]
        for who, text in self.turns:
            role = "assistant" if who == s.partner.name else "user"
            messages.append({"role": role, "content": text})
        return messages

    def step(self, action: str) -> tuple[str, float, bool, bool, dict[str, Any]]:
        """Say a line; get the partner's reply, or the judged end of the episode."""
        if self.scenario is None or self.done:
            raise EpisodeOverError("the episode is over (or never began); call reset() first")
        if not isinstance(action, str):
            raise EnvError(f"actions are text (str), got {type(action).__name__}")
        s = self.scenario
        self.turns.append((s.learner.name, action))
        learner_turns = sum(who == s.learner.name for who, _ in self.turns)
        base = {"task_id": s.id, "turn": learner_turns}
        if LEAVE not in action.lower():
            reply = ask(self.partner, [self._partner_conversation()], what="partner")[0]
            self.turns.append((s.partner.name, reply))
            ended = (LEAVE in reply.lower() or agreed_price(self.turns) is not None)
            if not ended and learner_turns < self.max_turns:
                info = {**base, "verdict": {"status": "running"}, "reward_components": {},
                        "reward": 0.0, "sandbox_error": False}
                return reply, 0.0, False, False, info
        return self._finish(base)

    def _finish(self, base: dict[str, Any]) -> tuple[str, float, bool, bool, dict[str, Any]]:
        s = self.scenario
        self.done = True
        mine = [text for who, text in self.turns if who == s.learner.name]
        judged = parse_judge(ask(self.judge, [judge_request(s, self.turns)], what="judge")[0],
                             quoted=mine)
        price = agreed_price(self.turns) if s.price is not None else None
        judge_secret = judged.scores["secret"]
        by_rule = leaked_secret(s.learner, mine)
        broken = violations(s, mine, price, judge_secret)
        scores = dict(judged.scores)
        scores["secret"] = min(-10 if by_rule else 0,
                               0 if judge_secret is None else judge_secret)
        if s.price is not None:
            scores["financial"] = s.price.financial(price)
        goal = scores["goal"]
        unscored = goal is None and not broken
        reward = 0.0 if broken else (None if goal is None else goal / 10.0)
        rules = {"secret_leaked": "secret_leaked" in broken, "agreed_price": price,
                 "secret_leaked_by": [who for who, saw in (
                     ("rule", by_rule), ("judge", judge_saw_leak(s, judge_secret))) if saw],
                 "judge_secret": judge_secret, "violations": broken,
                 "overridden": ["secret"] + (["financial"] if s.price is not None else [])}
        info = {**base, "verdict": _verdict(scores, broken, unscored),
                "reward_components": scores, "reward": reward, "sandbox_error": unscored,
                "unscored": unscored, "scores": scores, "rules": rules,
                "judge": {"scores": judged.scores, "errors": judged.errors},
                "transcript": json.dumps(self.turns)}
        obs = "The conversation is over."
        return obs, 0.0 if reward is None else reward, not unscored, unscored, info
