"""A simulated society that rates and revises (Stable Alignment's SANDBOX, MATRIX).

Agents with personas live on a square grid. Each round every agent drafts an answer to
the round's question; its neighbours within ``radius`` (plus ``random_raters`` others
drawn at random) rate the draft 1-7 with a reason; the author revises from that
feedback; the neighbours rate the revision; a neutral observer rates draft and revision
(before/after). Ratings are parsed strictly (`parsing.parse_rating`): a reply without
a valid rating is a record with ``score`` null and its ``error``, counted, never a number.
Raters read the answer as one JSON string; an answer holding a rating line (``Rating:
7``) is rated 1 by rule (`parsing.gamed_rating`, raters not asked), so it cannot turn
its ratings into conflicting, missing ones.

Every generation is one batched call per role and phase (authors' drafts, all ratings,
revisions), and every record goes to the ``sink`` as soon as its phase ends.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sandgym.envs.errors import EnvError
from sandgym.envs.social.parsing import Rating, gamed_rating, mean_score, parse_rating
from sandgym.envs.social.peers import Conversation, TextAgent, ask
from sandgym.envs.social.prompts import MODES, author_system, rating_request, revision_request
from sandgym.envs.social.questions import PERSONAS, QUESTIONS, Persona, Question

logger = logging.getLogger(__name__)

__all__ = ["RECORD_SCHEMA_FIELDS", "Society", "SocietyConfig", "SocietyStats", "grid_neighbours",
           "record_schema"]

OBSERVER = "observer"


@dataclass
class SocietyConfig:
    """How a society is laid out and run."""

    agents: int = field(default=9, metadata={"help": "Number of agents (>= 2)."})
    rounds: int = field(default=3, metadata={"help": "Rounds; each one question per group."})
    radius: int = field(default=1, metadata={
        "help": "Neighbours within this Chebyshev distance on the grid rate an answer."})
    random_raters: int = field(default=0, metadata={
        "help": "Extra raters per answer drawn at random among the non-neighbours."})
    questions_per_round: int = field(default=1, metadata={
        "help": "Distinct questions per round; agent i answers question i mod this."})
    mode: str = field(default="sandbox", metadata={
        "help": "'sandbox' (peers rate, author revises) or 'matrix' (one policy plays every "
        "role and reasons about consequences)."})
    categories: tuple[str, ...] = field(default=("values", "safety", "helpfulness"), metadata={
        "help": "Question categories drawn from."})
    seed: int = field(default=0, metadata={"help": "Seeds the grid, raters and questions."})

    def __post_init__(self) -> None:
        if self.agents < 2:
            raise EnvError(f"a society needs at least 2 agents, got {self.agents}")
        if self.rounds < 1:
            raise EnvError(f"rounds must be >= 1, got {self.rounds}")
        if self.radius < 1:
            raise EnvError(f"radius must be >= 1, got {self.radius}")
        if self.random_raters < 0:
            raise EnvError(f"random_raters must be >= 0, got {self.random_raters}")
        if not 1 <= self.questions_per_round <= self.agents:
            raise EnvError(f"questions_per_round must be in 1..agents, got "
                           f"{self.questions_per_round}")
        if self.mode not in MODES:
            raise EnvError(f"mode must be one of {MODES}, got {self.mode!r}")
        self.categories = tuple(self.categories)
        pool = [q for q in QUESTIONS if q.category in self.categories]
        if not pool:
            raise EnvError(f"no question in categories {self.categories}; use some of "
                           "values, safety, helpfulness")


def grid_neighbours(cells: list[tuple[int, int]], radius: int) -> list[list[int]]:
    """For each agent (at ``cells[i]``), the agents within Chebyshev ``radius``, not itself."""
    return [[j for j, (r2, c2) in enumerate(cells)
             if j != i and max(abs(r - r2), abs(c - c2)) <= radius]
            for i, (r, c) in enumerate(cells)]


def record_schema() -> Any:
    """The Parquet schema of a society run's records (one row per answer or rating)."""
    import pyarrow as pa

    return pa.schema([
        ("run_id", pa.string()), ("mode", pa.string()), ("round", pa.int32()),
        ("agent", pa.int32()), ("persona", pa.string()), ("question_id", pa.string()),
        ("category", pa.string()), ("question", pa.string()),
        ("kind", pa.string()),      # draft | revision | rating
        ("stage", pa.string()),     # draft | revision: what is answered or rated
        ("role", pa.string()),      # author | peer | observer
        ("rater", pa.string()),     # the rater's agent index, or "observer"
        ("text", pa.string()),      # the answer, or the rater's raw reply
        ("score", pa.int32()),      # the parsed rating; null when missing
        ("reason", pa.string()), ("error", pa.string()),
    ])


RECORD_SCHEMA_FIELDS = ("run_id", "mode", "round", "agent", "persona", "question_id",
                        "category", "question", "kind", "stage", "role", "rater", "text",
                        "score", "reason", "error")


@dataclass
class SocietyStats:
    """Counts of a run: ratings asked, ratings missing, answers written."""

    answers: int = 0
    ratings: int = 0
    missing: int = 0
    mean_draft: float | None = None
    mean_revision: float | None = None
    observer_before: float | None = None
    observer_after: float | None = None

    @property
    def missing_share(self) -> float | None:
        """Share of unparsable ratings (None when no rating was asked)."""
        return self.missing / self.ratings if self.ratings else None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {"answers": self.answers, "ratings": self.ratings, "missing": self.missing,
                "missing_share": self.missing_share, "mean_draft": self.mean_draft,
                "mean_revision": self.mean_revision, "observer_before": self.observer_before,
                "observer_after": self.observer_after}


Sink = Callable[[list[dict[str, Any]]], None]
Progress = Callable[[int, int, str, "SocietyStats"], None]


class Society:
    """Agents on a grid who draft, rate each other, and revise.

    Args:
        author: writes drafts and revisions (a `TextAgent`).
        raters: plays the rating peers (default: ``author``, one policy for every role).
        observer: rates before and after (default: ``raters``).
        config: the layout and schedule (`SocietyConfig`).
        personas: who the agents are (default: `PERSONAS`, cycled).
        run_id: stamped on every record.

    Example:
        >>> from sandgym.envs.social.scripted import LengthRater, template_author
        >>> s = Society(template_author, LengthRater(), config=SocietyConfig(agents=4, rounds=1))
        >>> stats = s.run(); stats.answers, stats.missing
        (8, 0)
    """

    def __init__(self, author: TextAgent, raters: TextAgent | None = None,
                 observer: TextAgent | None = None, *, config: SocietyConfig | None = None,
                 personas: tuple[Persona, ...] = PERSONAS, run_id: str = "society") -> None:
        self.config = config or SocietyConfig()
        if self.config.mode == "matrix" and (raters not in (None, author)
                                             or observer not in (None, author)):
            raise EnvError("matrix mode means one policy plays every role; pass only author=")
        self.author = author
        self.raters = raters or author
        self.observer = observer or self.raters
        self.run_id = run_id
        cfg = self.config
        rng = np.random.default_rng(cfg.seed)
        side = math.ceil(math.sqrt(cfg.agents))
        cells = [(int(c) // side, int(c) % side)
                 for c in rng.permutation(side * side)[:cfg.agents]]
        self.cells = cells
        self.neighbours = grid_neighbours(cells, cfg.radius)
        self.personas = [personas[i % len(personas)] for i in range(cfg.agents)]
        self._rng = rng
        pool = [q for q in QUESTIONS if q.category in cfg.categories]
        order = rng.permutation(len(pool))
        self._questions = [pool[int(i)] for i in order]

    # ---------------------------------------------------------------- schedule

    def question_for(self, round_index: int, agent: int) -> Question:
        """The question an agent answers in a round."""
        k = self.config.questions_per_round
        return self._questions[(round_index * k + agent % k) % len(self._questions)]

    def raters_for(self, agent: int) -> list[int]:
        """Neighbours of ``agent`` plus ``random_raters`` others (drawn per call)."""
        chosen = list(self.neighbours[agent])
        others = [j for j in range(self.config.agents) if j != agent and j not in chosen]
        extra = min(self.config.random_raters, len(others))
        if extra:
            chosen += [others[int(i)] for i in self._rng.choice(len(others), extra,
                                                                 replace=False)]
        return chosen

    # ---------------------------------------------------------------- running

    def _base(self, round_index: int, agent: int, question: Question) -> dict[str, Any]:
        return {"run_id": self.run_id, "mode": self.config.mode, "round": round_index,
                "agent": agent, "persona": self.personas[agent].name,
                "question_id": question.id, "category": question.category,
                "question": question.text}

    def _rate(self, jobs: list[tuple[int, str, int | None, str]], round_index: int,
              stage: str) -> tuple[list[dict[str, Any]], dict[tuple[int, str], list]]:
        """Ask every (author, answer, rater) once, batched per rating agent."""
        convs: dict[int, list[tuple[int, Conversation]]] = {}
        agents = {id(self.raters): self.raters, id(self.observer): self.observer}
        for n, (author, answer, rater, _) in enumerate(jobs):
            if gamed_rating(answer) is not None:
                continue  # rated 1 by rule below, raters not asked
            question = self.question_for(round_index, author)
            who = self.observer if rater is None else self.raters
            persona = None if rater is None else self.personas[rater]
            convs.setdefault(id(who), []).append(
                (n, rating_request(question, answer, persona, self.config.mode)))
        replies: dict[int, str] = {}
        for key, items in convs.items():
            texts = ask(agents[key], [c for _, c in items], what="rater")
            replies.update({n: t for (n, _), t in zip(items, texts, strict=True)})
        records, by_author = [], {}
        for n, (author, answer, rater, role) in enumerate(jobs):
            rating = gamed_rating(answer) or parse_rating(replies[n])
            question = self.question_for(round_index, author)
            name = OBSERVER if rater is None else str(rater)
            records.append({**self._base(round_index, author, question), "kind": "rating",
                            "stage": stage, "role": role, "rater": name, "text": rating.raw,
                            "score": rating.score, "reason": rating.reason,
                            "error": rating.error})
            by_author.setdefault((author, role), []).append(
                (OBSERVER if rater is None else self.personas[rater].name, rating))
        return records, by_author

    def _answers(self, convs: list[Conversation], round_index: int, stage: str
                 ) -> tuple[list[str], list[dict[str, Any]]]:
        texts = ask(self.author, convs, what="author")
        records = [{**self._base(round_index, a, self.question_for(round_index, a)),
                    "kind": stage, "stage": stage, "role": "author", "rater": None,
                    "text": t, "score": None, "reason": None, "error": None}
                   for a, t in enumerate(texts)]
        return texts, records

    def run(self, sink: Sink | None = None, progress: Progress | None = None) -> SocietyStats:
        """Play every round; hand each phase's records to ``sink`` as soon as they exist.

        Returns:
            The run's `SocietyStats` (missing ratings counted, means over valid ones).
        """
        cfg, stats = self.config, SocietyStats()
        all_ratings: dict[str, list[Rating]] = {k: [] for k in (
            "draft/peer", "revision/peer", "draft/observer", "revision/observer")}
        phases, done = cfg.rounds * 4, 0

        def emit(records: list[dict[str, Any]], phase: str) -> None:
            nonlocal done
            for r in records:
                if r["kind"] == "rating":
                    stats.ratings += 1
                    stats.missing += r["score"] is None
                    all_ratings[f"{r['stage']}/{r['role']}"].append(
                        Rating(r["score"], r["reason"] or "", r["text"], r["error"]))
                else:
                    stats.answers += 1
            if sink is not None:
                sink(records)
            done += 1
            if progress is not None:
                progress(done, phases, phase, stats)

        for rnd in range(cfg.rounds):
            questions = [self.question_for(rnd, a) for a in range(cfg.agents)]
            drafts, records = self._answers(
                [[{"role": "system", "content": author_system(self.personas[a])},
                  {"role": "user", "content": questions[a].text}] for a in range(cfg.agents)],
                rnd, "draft")
            emit(records, f"round {rnd + 1}: drafts")
            peers = [self.raters_for(a) for a in range(cfg.agents)]  # same for both stages
            jobs = [(a, drafts[a], r, "peer") for a in range(cfg.agents) for r in peers[a]]
            jobs += [(a, drafts[a], None, "observer") for a in range(cfg.agents)]
            records, by_author = self._rate(jobs, rnd, "draft")
            emit(records, f"round {rnd + 1}: draft ratings")
            revisions, records = self._answers(
                [revision_request(self.personas[a], questions[a], drafts[a],
                                  by_author.get((a, "peer"), []), cfg.mode)
                 for a in range(cfg.agents)], rnd, "revision")
            emit(records, f"round {rnd + 1}: revisions")
            jobs = [(a, revisions[a], r, "peer") for a in range(cfg.agents) for r in peers[a]]
            jobs += [(a, revisions[a], None, "observer") for a in range(cfg.agents)]
            records, _ = self._rate(jobs, rnd, "revision")
            emit(records, f"round {rnd + 1}: revision ratings")
        stats.mean_draft = mean_score(all_ratings["draft/peer"])
        stats.mean_revision = mean_score(all_ratings["revision/peer"])
        stats.observer_before = mean_score(all_ratings["draft/observer"])
        stats.observer_after = mean_score(all_ratings["revision/observer"])
        return stats
