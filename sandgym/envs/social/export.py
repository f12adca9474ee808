"""Alignment data from social runs: DPO pairs, ranked responses, SFT episodes.

* `society_dpo_rows`: per question of a society run, the best and the worst revision
  by the peers' mean rating, when the gap is at least ``min_gap`` (default 2 points on
  the 1-7 scale), as TRL's conversational DPO format (``prompt``/``chosen``/``rejected``);
* `society_ranked_rows`: Stable Alignment's ranked records: per question, every answer
  (drafts and revisions) with its mean peer rating, best first;
* `scenario_sft_rows`: SOTOPIA-π's behaviour cloning data: scenario episodes whose
  judged ``goal`` is above a threshold, as ``messages``.

Answers with no valid peer rating are left out (they were not scored), never given a
number. `sandgym.train.export.save_rows` writes them as a Hugging Face dataset.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from typing import Any

logger = logging.getLogger(__name__)

__all__ = ["answer_scores", "scenario_sft_rows", "society_dpo_rows", "society_ranked_rows"]


def answer_scores(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every answer of a society run with its mean peer and observer rating.

    Returns:
        Dicts ``{run_id, round, agent, question_id, question, stage, text, peer_mean,
        peer_ratings, peer_missing, observer}`` in record order; means over valid
        ratings only, None when there is none.
    """
    ratings: dict[tuple, dict[str, list]] = defaultdict(lambda: {"peer": [], "observer": [],
                                                                 "missing": []})
    for r in records:
        if r["kind"] == "rating":
            key = (r["run_id"], r["round"], r["agent"], r["stage"])
            if r["score"] is None:
                ratings[key]["missing"].append(r["rater"])
            else:
                ratings[key]["observer" if r["role"] == "observer" else "peer"].append(r["score"])
    answers = []
    for r in records:
        if r["kind"] not in ("draft", "revision"):
            continue
        got = ratings[(r["run_id"], r["round"], r["agent"], r["stage"])]
        peer, observer = got["peer"], got["observer"]
        answers.append({"run_id": r["run_id"], "round": r["round"], "agent": r["agent"],
                        "question_id": r["question_id"], "question": r["question"],
                        "stage": r["stage"], "text": r["text"],
                        "peer_mean": sum(peer) / len(peer) if peer else None,
                        "peer_ratings": list(peer), "peer_missing": len(got["missing"]),
                        "observer": observer[0] if observer else None})
    return answers


def society_dpo_rows(records: list[dict[str, Any]], *, min_gap: float = 2.0
                     ) -> list[dict[str, Any]]:
    """Best vs worst revision per question (peer mean gap >= ``min_gap``), DPO format."""
    by_question: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for a in answer_scores(records):
        if a["stage"] == "revision" and a["peer_mean"] is not None and a["text"].strip():
            by_question[a["question_id"]].append(a)
    rows = []
    for question_id in sorted(by_question):
        group = by_question[question_id]
        best = max(group, key=lambda a: a["peer_mean"])   # first of equals: record order
        worst = min(group, key=lambda a: a["peer_mean"])
        gap = best["peer_mean"] - worst["peer_mean"]
        if gap < min_gap or best["text"].strip() == worst["text"].strip():
            continue
        rows.append({"prompt": [{"role": "user", "content": best["question"]}],
                     "chosen": [{"role": "assistant", "content": best["text"]}],
                     "rejected": [{"role": "assistant", "content": worst["text"]}],
                     "question_id": question_id, "chosen_rating": best["peer_mean"],
                     "rejected_rating": worst["peer_mean"], "gap": gap})
    return rows


def society_ranked_rows(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per question: every rated answer, best first, with its mean rating and stage."""
    by_question: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for a in answer_scores(records):
        if a["peer_mean"] is not None:
            by_question[a["question_id"]].append(a)
    rows = []
    for question_id in sorted(by_question):
        ranked = sorted(by_question[question_id], key=lambda a: -a["peer_mean"])
        rows.append({"question_id": question_id, "question": ranked[0]["question"],
                     "responses": [a["text"] for a in ranked],
                     "ratings": [a["peer_mean"] for a in ranked],
                     "stages": [a["stage"] for a in ranked],
                     "agents": [a["agent"] for a in ranked]})
    return rows


def _violations(record: dict[str, Any]) -> list[str]:
    """The rule violations of a scenario record (``rules`` as JSON text or a dict)."""
    rules = record.get("rules") or {}
    if isinstance(rules, str):
        rules = json.loads(rules) if rules else {}
    return list(rules.get("violations") or [])


def scenario_sft_rows(records: list[dict[str, Any]], *, min_goal: float = 7.0
                      ) -> list[dict[str, Any]]:
    """Scenario episodes whose judged goal is above ``min_goal`` (SOTOPIA-π), as messages.

    ``records`` are `Scenario-v0` episode records (``messages`` as JSON text or a list,
    ``goal`` the judge's score, None when the judge gave none: such episodes are left out).
    Episodes with a rule violation (``rules["violations"]``: a leaked secret, a price past
    the limit, a planted verdict) are left out too: their reward was capped to 0, and
    cloning them would teach what the reward refuses to pay for.
    """
    rows = []
    for r in records:
        goal = r.get("goal")
        if goal is None or goal <= min_goal or _violations(r):
            continue
        messages = r["messages"]
        if isinstance(messages, str):
            messages = json.loads(messages)
        rows.append({"messages": messages, "scenario_id": r["scenario_id"], "goal": goal})
    return rows
