"""Progress of a collection: a live rich bar on a terminal, log lines elsewhere.

The bar shows what tells a user whether a run is healthy: episodes done, episodes/s,
mean reward (is the policy doing anything?), sandbox step latency (is the engine
keeping up?), retries and worker restarts (is the cluster failing?).
"""

from __future__ import annotations

import logging
import math
import sys
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

    from sandgym.rollouts.result import CollectResult, CollectStats

__all__ = ["LogProgress", "NullProgress", "RichProgress", "make_progress", "summary_table"]

logger = logging.getLogger(__name__)


def _fmt(value: float, spec: str) -> str:
    return "-" if value is None or (isinstance(value, float) and math.isnan(value)) \
        else format(value, spec)


class NullProgress:
    """Shows nothing."""

    def start(self, stats: CollectStats, label: str) -> None:
        """Begin showing a collection."""

    def update(self, stats: CollectStats) -> None:
        """Refresh from the counters."""

    def stop(self) -> None:
        """End the display (idempotent)."""


class LogProgress(NullProgress):
    """Logs a progress line every ``interval_s`` (for files, CI logs, --json)."""

    def __init__(self, interval_s: float = 10.0) -> None:
        self.interval_s = interval_s
        self._last = 0.0
        self._label = ""

    def start(self, stats: CollectStats, label: str) -> None:
        self._label = label
        self._last = time.monotonic()
        logger.info("%s: %d episodes to play (%d already stored)", label, stats.total,
                    stats.skipped)

    def update(self, stats: CollectStats) -> None:
        if time.monotonic() - self._last >= self.interval_s:
            self._last = time.monotonic()
            logger.info("%s: %d/%d episodes, %s ep/s, mean reward %s, step %s ms, "
                        "%d retries", self._label, stats.done, stats.total,
                        _fmt(stats.episodes_per_s, ".2f"), _fmt(stats.mean_reward, ".3f"),
                        _fmt(stats.step_latency_s * 1e3, ".0f"), stats.retries)


class RichProgress(NullProgress):
    """A rich progress bar with rollout-specific columns."""

    def __init__(self, console: Console | None = None) -> None:
        self._console = console
        self._progress: Any = None
        self._task: Any = None

    def start(self, stats: CollectStats, label: str) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        self._progress = Progress(
            TextColumn("[bold]{task.description}"), BarColumn(bar_width=24),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]} ep/s"),
            TextColumn("reward {task.fields[reward]}"),
            TextColumn("step {task.fields[latency]} ms"),
            TextColumn("{task.fields[health]}"),
            TimeElapsedColumn(), console=self._console, transient=False)
        self._progress.start()
        self._task = self._progress.add_task(label, total=stats.total, **self._fields(stats))

    @staticmethod
    def _fields(stats: CollectStats) -> dict[str, str]:
        health = []
        if stats.retries:
            health.append(f"{stats.retries} retries")
        if stats.worker_restarts:
            health.append(f"{stats.worker_restarts} restarts")
        if stats.sandbox_errors:
            health.append(f"{stats.sandbox_errors} sandbox errors")
        return {"rate": _fmt(stats.episodes_per_s, ".2f"),
                "reward": _fmt(stats.mean_reward, ".3f"),
                "latency": _fmt(stats.step_latency_s * 1e3, ".0f"),
                "health": ", ".join(health)}

    def update(self, stats: CollectStats) -> None:
        if self._progress is not None:
            self._progress.update(self._task, completed=stats.done, **self._fields(stats))

    def stop(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None


def make_progress(show: bool | None = None) -> NullProgress:
    """A rich bar when ``show`` (default: stderr is a terminal), else log lines."""
    if show is None:
        show = sys.stderr.isatty()
    return RichProgress() if show else LogProgress()


def summary_table(result: CollectResult) -> Table:
    """The end-of-run table the CLI and the demo print."""
    from rich.table import Table

    table = Table(title=f"rollouts: {result.env_id} with {result.policy}", show_header=False)
    table.add_column("metric", style="bold")
    table.add_column("value", justify="right")
    rows = [
        ("episodes written", str(result.episodes)),
        ("already stored (skipped)", str(result.skipped)),
        ("pass rate", _fmt(result.pass_rate, ".1%")),
        ("mean reward", _fmt(result.mean_reward, ".3f")),
        ("sandbox errors", str(result.sandbox_errors)),
        ("retries", str(result.retries)),
        ("worker restarts", str(result.worker_restarts)),
        ("workers", str(result.num_workers)),
        ("wall time", f"{result.wall_s:.1f} s"),
        ("episodes/s", _fmt(result.episodes_per_s, ".2f")),
        ("sandbox step latency", f"{_fmt(result.step_latency_s * 1e3, '.0f')} ms"),
    ]
    if result.completion_tokens:
        rows += [("generated tokens/s", _fmt(result.tokens_per_s, ".1f")),
                 ("time in environment", _fmt(result.env_share, ".0%"))]
    rows.append(("output", result.out + (" (interrupted)" if result.interrupted else "")))
    for name, value in rows:
        table.add_row(name, value)
    return table
