"""Offline alignment data from rollouts: SFT on successes, DPO on reward-ranked pairs.

Both read a rollout collection (`sandgym.rollouts.collect`'s Parquet) and write a
Hugging Face dataset with ``save_to_disk``, in the conversational formats TRL's
trainers take as they are:

* SFT (``SFTTrainer``): one ``messages`` column per successful episode, the whole
  chat the policy had (system, task, its replies and the env's feedback between them);
* DPO (``DPOTrainer``): ``prompt`` (the messages before the first reply), ``chosen``
  and ``rejected`` (the rest of two episodes of the same task whose rewards differ).

Episodes with a ``sandbox_error`` are never used: they say nothing about the model.
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sandgym.errors import SandgymError

if TYPE_CHECKING:
    from sandgym.agents.trajectory import Trajectory

logger = logging.getLogger(__name__)

__all__ = ["EmptyExportError", "ExportResult", "dpo_pairs", "export_dpo", "export_sft",
           "is_success", "save_rows", "sft_rows"]


class EmptyExportError(SandgymError):
    """Nothing qualified for an export; the message says why and what to change.

    Why an error and not an empty dataset: ``datasets.load_from_disk`` cannot load a
    dataset saved with no rows (IndexError), and an exit status of 0 let a pipeline go on
    to train on nothing. So nothing is written.
    """


@dataclass
class ExportResult:
    """What an export wrote."""

    kind: str
    out: Path
    rows: int
    episodes: int
    usable: int
    """Episodes without a sandbox error."""
    tasks: int


def _decode(records: Iterable[Any]) -> list[Trajectory]:
    """Each record decoded once (`Trajectory.from_record`); trajectories pass through."""
    from sandgym.agents.trajectory import Trajectory

    return [r if isinstance(r, Trajectory) else Trajectory.from_record(r) for r in records]


def _messages(traj: Trajectory) -> list[dict[str, Any]]:
    return [{"role": m["role"], "content": m.get("content") or ""} for m in traj.messages]


def _reward(traj: Trajectory) -> float | None:
    reward = traj.final_reward
    if traj.sandbox_error or reward is None or math.isnan(reward):
        return None
    return float(reward)


def is_success(record: Any, min_reward: float | None = None) -> bool:
    """Whether an episode (a record or a `Trajectory`) succeeded.

    With ``min_reward``: its return is at least that. Otherwise: its last verdict
    passed (every hidden test or check), or, for envs without a status, a return > 0.
    """
    traj = _decode([record])[0]
    reward = _reward(traj)
    if reward is None:
        return False
    if min_reward is not None:
        return reward >= min_reward
    verdict = traj.verdict
    return verdict.ok if verdict.status else reward > 0


@dataclass
class _SftCounts:
    """How `sft_rows` sorted the episodes (for a log line that adds up)."""

    passed: int = 0
    """Successful episodes (`is_success`)."""
    no_reply: int = 0
    """Successful episodes without an assistant message (nothing to imitate)."""
    duplicates: int = 0
    """Successful episodes dropped by ``dedupe`` (same conversation as a kept one)."""


def sft_rows(records: Iterable[Any], *, min_reward: float | None = None,
             dedupe: bool = True, counts: _SftCounts | None = None) -> list[dict[str, Any]]:
    """Rows ``{messages, task_id, env_id, episode_id, reward}`` of successful episodes.

    ``counts``, when given, is filled with how many passed and why some were not kept.
    """
    counts = counts if counts is not None else _SftCounts()
    rows, seen = [], set()
    for traj in _decode(records):
        if not is_success(traj, min_reward):
            continue
        counts.passed += 1
        messages = _messages(traj)
        if not any(m["role"] == "assistant" for m in messages):
            counts.no_reply += 1
            continue
        key = json.dumps(messages, sort_keys=True)
        if dedupe and key in seen:
            counts.duplicates += 1
            continue
        seen.add(key)
        rows.append({"messages": messages, "task_id": traj.task_id, "env_id": traj.env_id,
                     "episode_id": traj.episode_id, "reward": _reward(traj)})
    return rows


def _split(messages: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    first = next((i for i, m in enumerate(messages) if m["role"] == "assistant"), None)
    if first is None:
        return messages, []
    return messages[:first], messages[first:]


def dpo_pairs(records: Iterable[Any], *, max_pairs_per_task: int = 4,
              min_margin: float = 0.0, passed_over_failed: bool = False,
              rejected_first: Callable[[Trajectory], bool] | None = None,
              ) -> list[dict[str, Any]]:
    """Chosen/rejected pairs per task, ranked by episode return.

    Each task's episodes are sorted by reward; the best ones are paired with worse ones
    (reward margin above ``min_margin``, a different reply, the same prompt), at most
    ``max_pairs_per_task`` pairs per task, best-vs-worst first; replies that differ only
    in surrounding whitespace are not a pair. ``passed_over_failed``: only pairs whose
    chosen episode succeeded (`is_success`) and whose rejected one did not, so in an env
    with verdicts partial credit never makes a failed reply the one to imitate (without
    a verdict status, success is a return above 0). ``rejected_first``: a task's first
    pair is the best one whose rejected episode it holds for, when there is one (e.g.
    against the model's greedy reply, the one an evaluation would score); the others
    follow by margin as usual, so one reply is not pushed down by every pair.
    """
    by_task: dict[tuple[Any, Any], list[Trajectory]] = defaultdict(list)
    for traj in _decode(records):
        if _reward(traj) is not None and traj.task_id is not None:
            by_task[(traj.env_id, traj.task_id)].append(traj)
    pairs = []
    for (env_id, task_id), group in sorted(by_task.items(), key=lambda kv: str(kv[0])):
        ranked = sorted(group, key=lambda r: _reward(r), reverse=True)
        candidates = [(hi, lo) for hi in ranked for lo in reversed(ranked)
                      if _reward(hi) - _reward(lo) > min_margin
                      and (not passed_over_failed or (is_success(hi) and not is_success(lo)))]
        candidates.sort(key=lambda p: _reward(p[0]) - _reward(p[1]), reverse=True)
        if rejected_first is not None:
            first = next((p for p in candidates if rejected_first(p[1])), None)
            if first is not None:
                candidates.remove(first)
                candidates.insert(0, first)
        used: set[tuple[str, str]] = set()
        for hi, lo in candidates:
            if len(used) >= max_pairs_per_task:
                break
            prompt, chosen = _split(_messages(hi))
            rejected_prompt, rejected = _split(_messages(lo))
            if (not chosen or not rejected or prompt != rejected_prompt
                    or _stripped(chosen) == _stripped(rejected)):
                continue
            key = (json.dumps(chosen), json.dumps(rejected))
            if key in used:
                continue
            used.add(key)
            pairs.append({"prompt": prompt, "chosen": chosen, "rejected": rejected,
                          "task_id": task_id, "env_id": env_id,
                          "chosen_reward": _reward(hi), "rejected_reward": _reward(lo)})
    return pairs


def _stripped(messages: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(m["role"], m["content"].strip()) for m in messages]


def _records(source: str | os.PathLike[str]) -> list[Trajectory]:
    from sandgym.rollouts.errors import StorageError
    from sandgym.rollouts.storage import iter_records, parquet_sources

    if not parquet_sources(source):
        raise StorageError(f"no trajectories at {source}; collect some first with "
                           f"`sandgym rollout ... --out {source}`")
    return _decode(iter_records(source))


def save_rows(rows: list[dict[str, Any]], out: str | os.PathLike[str], *, kind: str,
              stats: dict[str, Any], why_empty: str = "no row qualified") -> Path:
    """Write rows as a Hugging Face dataset plus ``sandgym_export.json`` (the stats).

    The social family's exports are written here too. With no rows nothing is written
    and `EmptyExportError` says ``why_empty``: ``datasets.load_from_disk`` cannot load
    a dataset saved without rows.

    Raises:
        EmptyExportError: ``rows`` is empty.
    """
    from datasets import Dataset
    from datasets.utils import logging as ds_logging

    if not rows:
        raise EmptyExportError(f"nothing to export to {out}: {why_empty}")
    out = Path(out)
    dataset = Dataset.from_list(rows)
    bars = ds_logging.is_progress_bar_enabled()
    ds_logging.disable_progress_bar()  # a bar per small save is noise in CLI output
    try:
        dataset.save_to_disk(str(out))
    finally:
        if bars:
            ds_logging.enable_progress_bar()
    (out / "sandgym_export.json").write_text(json.dumps({"kind": kind, **stats}, indent=2))
    return out


def export_sft(source: str | os.PathLike[str], out: str | os.PathLike[str], *,
               min_reward: float | None = None, dedupe: bool = True) -> ExportResult:
    """Write the successful episodes of a collection as an SFT dataset (``messages``).

    Load it with ``datasets.load_from_disk(out)`` and pass it to ``SFTTrainer``.
    """
    records = _records(source)
    counts = _SftCounts()
    rows = sft_rows(records, min_reward=min_reward, dedupe=dedupe, counts=counts)
    usable = sum(_reward(r) is not None for r in records)
    stats = {"source": str(source), "episodes": len(records), "usable": usable,
             "passed": counts.passed, "duplicates": counts.duplicates, "rows": len(rows)}
    path = save_rows(rows, out, kind="sft", stats=stats,
                     why_empty=_why_no_sft(len(records), usable, counts, min_reward))
    logger.info("SFT export: %d of %d episodes passed, %d duplicates dropped, %d without a "
                "reply; %d rows written -> %s", counts.passed, len(records), counts.duplicates,
                counts.no_reply, len(rows), path)
    return ExportResult("sft", path, len(rows), len(records), usable,
                        len({r["task_id"] for r in rows}))


def _why_no_sft(episodes: int, usable: int, counts: _SftCounts,
                min_reward: float | None) -> str:
    """Why an SFT export has no row, and the option that would change it."""
    if not usable:
        return f"none of the {episodes} episodes was scored (all sandbox errors)"
    if not counts.passed:
        if min_reward is not None:
            return (f"no episode of {usable} scored reached --min-reward {min_reward:g}; "
                    "lower --min-reward")
        return (f"no episode of {usable} scored passed; pass --min-reward to keep "
                "episodes by return instead")
    return f"none of the {counts.passed} episodes that passed has an assistant reply"


def export_dpo(source: str | os.PathLike[str], out: str | os.PathLike[str], *,
               max_pairs_per_task: int = 4, min_margin: float = 0.0) -> ExportResult:
    """Write reward-ranked chosen/rejected pairs per task as a DPO dataset.

    Load it with ``datasets.load_from_disk(out)`` and pass it to ``DPOTrainer``. Tasks
    whose episodes all have the same reward give no pair (collect several samples per
    task with a temperature above 0).
    """
    records = _records(source)
    pairs = dpo_pairs(records, max_pairs_per_task=max_pairs_per_task, min_margin=min_margin)
    usable = sum(_reward(r) is not None for r in records)
    stats = {"source": str(source), "episodes": len(records), "usable": usable,
             "rows": len(pairs)}
    if usable:
        why = (f"no task had a better and a worse episode (a reward gap above --min-margin "
               f"{min_margin:g} with different replies); collect several samples per task "
               "with a temperature above 0, or lower --min-margin")
    else:
        why = f"none of the {len(records)} episodes was scored (all sandbox errors)"
    path = save_rows(pairs, out, kind="dpo", stats=stats, why_empty=why)
    logger.info("DPO export: %d pairs from %d episodes -> %s", len(pairs), len(records), path)
    return ExportResult("dpo", path, len(pairs), len(records), usable,
                        len({p["task_id"] for p in pairs}))
