"""The social family: peers who rate and revise, goal/secret scenarios, text games.

* `Society` / `SocietyConfig`: a simulated society (Stable Alignment's SANDBOX, MATRIX).
* `SocietyEnv` (``sandgym/Society-v0``): the learner answers, reads its peers'
  feedback, revises; reward = the peers' mean rating of the revision, normalised.
* `TextAgent`: the protocol of every injected peer, rater, judge or opponent.
* `parse_rating`, `parse_judge`: strict parsing; a missing score is never invented.

Names load lazily, so registering the family (`registry`) imports nothing heavy.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["DIMENSIONS", "PERSONAS", "QUESTIONS", "JudgeScores", "ParquetSink", "Rating",
           "Society", "SocietyConfig", "SocietyEnv", "SocietyStats", "TextAgent", "as_agent",
           "mean_score", "parse_judge", "parse_rating", "parse_winner", "read_records",
           "record_schema"]

_LAZY = {
    "DIMENSIONS": "parsing", "JudgeScores": "parsing", "Rating": "parsing",
    "mean_score": "parsing", "parse_judge": "parsing", "parse_rating": "parsing",
    "parse_winner": "parsing", "PERSONAS": "questions", "QUESTIONS": "questions",
    "ParquetSink": "storage", "read_records": "storage", "Society": "society",
    "SocietyConfig": "society", "SocietyStats": "society", "record_schema": "society",
    "SocietyEnv": "society_env", "TextAgent": "peers", "as_agent": "peers",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
