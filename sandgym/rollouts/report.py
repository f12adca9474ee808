"""`build_report`: one static HTML file to look at what the agents did.

``sandgym report runs/X.parquet --out report.html`` reads a collection (and, given a run
directory, its training ``metrics.jsonl``) and writes a single self-contained HTML file:
no CDN, no network, plots as inline SVG, episodes and filters driven by a small inline
script. It opens from disk in any browser, on a machine with no network (CI).

This module gathers the data (summaries over every episode, the episodes to show);
`sandgym.rollouts.report_html` turns it into the page.
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from sandgym.rollouts.errors import StorageError
from sandgym.rollouts.storage import parquet_sources
from sandgym.verdict import Verdict

__all__ = ["ReportData", "ReportResult", "build_report", "load_report_data"]

logger = logging.getLogger(__name__)

_COLUMNS = ("episode_id", "env_id", "task_id", "policy", "messages", "actions", "rewards",
            "verdicts", "reward_components", "final_reward", "sandbox_error", "num_turns",
            "final_observation", "error", "attempts", "worker")
MAX_TEXT = 20_000
"""Longest message text embedded per message; longer ones are cut visibly."""


@dataclass
class ReportData:
    """Everything the page shows: summaries over all episodes, and the episodes kept."""

    title: str
    sources: list[str]
    total: int = 0
    shown: list[dict[str, Any]] = field(default_factory=list)
    rewards: list[float] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)
    tasks: dict[str, list[int]] = field(default_factory=dict)  # task -> [passed, scored, n]
    curves: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    @property
    def pass_rate(self) -> float | None:
        """Passed episodes over scored ones (sandbox errors are not scored)."""
        scored = sum(s for _, s, _ in self.tasks.values())
        return sum(p for p, _, _ in self.tasks.values()) / scored if scored else None


@dataclass(frozen=True)
class ReportResult:
    """Where the report went and what it holds."""

    out: Path
    episodes: int
    shown: int
    curves: int


def build_report(source: str | os.PathLike[str], out: str | os.PathLike[str] | None = None, *,
                 train_dir: str | os.PathLike[str] | None = None,
                 max_episodes: int = 2000) -> ReportResult:
    """Write the HTML report of a collection or a run directory.

    Args:
        source: a ``.parquet`` collection, or a run directory: every collection under it
            is read, and every ``metrics.jsonl`` under it becomes training curves.
        out: the HTML file (default: ``SOURCE.html`` beside a file, ``report.html`` in a
            directory).
        train_dir: another directory whose ``metrics.jsonl`` files are plotted.
        max_episodes: most episodes embedded for browsing (summaries count all).

    Returns:
        The `ReportResult`.

    Raises:
        StorageError: nothing to report at ``source``.

    Example:
        >>> build_report("runs/demo.parquet").out                     # doctest: +SKIP
        PosixPath('runs/demo.parquet.html')
    """
    from sandgym.rollouts.report_html import render_html

    source = Path(source)
    data = load_report_data(source, train_dir=train_dir, max_episodes=max_episodes)
    if out is None:
        out = source / "report.html" if source.is_dir() else source.with_name(source.name + ".html")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(render_html(data), encoding="utf-8")
    os.replace(tmp, out)
    logger.info("report of %d episodes (%d shown, %d curve files) written to %s", data.total,
                len(data.shown), len(data.curves), out)
    return ReportResult(out=out, episodes=data.total, shown=len(data.shown),
                        curves=len(data.curves))


def load_report_data(source: str | os.PathLike[str], *,
                     train_dir: str | os.PathLike[str] | None = None,
                     max_episodes: int = 2000) -> ReportData:
    """Read the episodes and curves of ``source`` (see `build_report`)."""
    source = Path(source)
    if not source.exists() and not parquet_sources(source):
        raise StorageError(f"{source} does not exist; give a .parquet from `sandgym rollout` "
                           "or a run directory")
    collections = _collections(source)
    extra: list[Path] = []
    if train_dir is not None:
        extra = _metric_files(Path(train_dir))
        if not extra:  # asked for curves: a wrong path must not give a report without them
            raise StorageError(f"--train-dir {train_dir}: no metrics.jsonl there (give the "
                               "output directory of `sandgym train grpo|rft`)")
    metric_files = _metric_files(source) + extra
    if not collections and not metric_files:
        raise StorageError(f"nothing to report in {source}: no .parquet collection and no "
                           "metrics.jsonl (from `sandgym rollout` / `sandgym train grpo`)")
    data = ReportData(title=f"sandgym report: {source.name}",
                      sources=[str(p) for p in collections + metric_files])
    for record in _records(collections):
        _add_episode(data, record, max_episodes)
    for path in metric_files:
        rows = _read_metrics(path)
        if rows:
            data.curves[_label(path, source)] = rows
    return data


def _collections(source: Path) -> list[Path]:
    """The collections at ``source``: the file itself, or every one under a directory."""
    if not source.is_dir():
        return [source]
    found = []
    for path in sorted(source.rglob("*.parquet")):
        if any(part.endswith(".parts") for part in path.parts):
            continue  # leftover parts are read through their collection
        found.append(path)
    for parts in sorted(source.rglob("*.parquet.parts")):
        collection = parts.with_name(parts.name[:-len(".parts")])
        if collection not in found:
            found.append(collection)
    return found


def _metric_files(directory: Path) -> list[Path]:
    return sorted(directory.rglob("metrics.jsonl")) if directory.is_dir() else []


def _label(path: Path, source: Path) -> str:
    try:
        return str(path.parent.relative_to(source)) if source.is_dir() else str(path.parent)
    except ValueError:
        return str(path.parent)


def _records(collections: Sequence[Path]) -> Iterator[dict[str, Any]]:
    """Rows with only the columns the report reads (token ids stay on disk)."""
    for collection in collections:
        for part in parquet_sources(collection):
            file = pq.ParquetFile(part)
            columns = [c for c in _COLUMNS if c in file.schema_arrow.names]
            for i in range(file.num_row_groups):
                yield from file.read_row_group(i, columns=columns).to_pylist()


def _read_metrics(path: Path) -> list[dict[str, Any]]:
    rows = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            logger.warning("%s:%d is not JSON; skipped", path, n)
            continue
        if isinstance(row, dict) and "step" in row:
            rows.append({k: v for k, v in row.items() if _finite_number(v)})
    return rows


def _finite_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _json_list(text: Any) -> list[Any]:
    if isinstance(text, list):
        return text
    try:
        value = json.loads(text or "[]")
    except (TypeError, json.JSONDecodeError):
        return []
    return value if isinstance(value, list) else []


def episode_status(record: dict[str, Any]) -> str:
    """The word an episode is filtered by: its last verdict's status, or sandbox_error."""
    if record.get("sandbox_error"):
        return "sandbox_error"
    verdicts = _json_list(record.get("verdicts"))
    status = Verdict.of(verdicts[-1] if verdicts and isinstance(verdicts[-1], dict) else None)
    return status.status or "none"


def _passed(record: dict[str, Any], status: str) -> bool:
    """As `Trajectory.passed`: a pass verdict, or a positive return for status-less envs."""
    reward = record.get("final_reward")
    if record.get("sandbox_error") or reward is None:
        return False
    return status == "pass" if status != "none" else reward > 0


def _add_episode(data: ReportData, record: dict[str, Any], max_episodes: int) -> None:
    status = episode_status(record)
    task = str(record.get("task_id") or "(none)")
    reward = record.get("final_reward")
    data.total += 1
    data.statuses[status] += 1
    counts = data.tasks.setdefault(task, [0, 0, 0])
    counts[2] += 1
    if reward is not None and not record.get("sandbox_error"):
        data.rewards.append(float(reward))
        counts[1] += 1
        counts[0] += _passed(record, status)
    if len(data.shown) < max_episodes:
        data.shown.append(_episode_view(record, status, task))


def _cut(text: Any) -> str:
    text = "" if text is None else str(text)
    if len(text) > MAX_TEXT:
        return f"{text[:MAX_TEXT]}... [truncated {len(text) - MAX_TEXT} chars]"
    return text


def _episode_view(record: dict[str, Any], status: str, task: str) -> dict[str, Any]:
    """The compact JSON an episode is browsed from."""
    messages = [{"role": str(m.get("role", "?")), "content": _cut(m.get("content"))}
                for m in _json_list(record.get("messages")) if isinstance(m, dict)]
    rewards = [r if _finite_number(r) else None for r in (record.get("rewards") or [])]
    return {"id": record.get("episode_id"), "task": task, "status": status,
            "reward": record.get("final_reward"),
            "sandbox_error": bool(record.get("sandbox_error")),
            "error": record.get("error"), "turns": record.get("num_turns"),
            "policy": record.get("policy"), "worker": record.get("worker"),
            "messages": messages, "actions": [_cut(a) for a in record.get("actions") or []],
            "rewards": rewards, "verdicts": _json_list(record.get("verdicts")),
            "components": _json_list(record.get("reward_components")),
            "final_observation": _cut(record.get("final_observation"))}


def reward_histogram(rewards: Iterable[float], bins: int = 10) -> list[tuple[str, int]]:
    """Counts per reward: one bar per value when there are few, else equal-width bins."""
    values = sorted(rewards)
    if not values:
        return []
    distinct = sorted(set(values))
    if len(distinct) <= bins:
        counts = Counter(values)
        return [(_fmt(v), counts[v]) for v in distinct]
    low, high = values[0], values[-1]
    width = (high - low) / bins
    hist = defaultdict(int)
    for v in values:
        hist[min(int((v - low) / width), bins - 1)] += 1
    return [(f"{_fmt(low + i * width)}–{_fmt(low + (i + 1) * width)}", hist[i])
            for i in range(bins)]


def _fmt(value: float) -> str:
    return f"{value:.3g}"
