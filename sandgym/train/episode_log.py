"""``episodes.jsonl``: every episode a GRPO step graded, one line each, written at step end.

The reward sources keep what they graded in memory (`ExecutionReward.history`,
`EnvironmentFactory.episodes`, `RayRolloutFunc.history`); this callback appends the
new entries when an optimizer step ends, tagged with that step. Writing only whole
steps is what makes the file trustworthy after Ctrl-C: a step that was aborted wrote
nothing, a step that finished wrote all its episodes, and a resumed run (which trims
the file back to its checkpoint first) never writes a step twice.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

logger = logging.getLogger(__name__)

__all__ = ["EpisodeLog", "episode_rows"]

_KEYS = ("episode_id", "task_id", "reward", "final_reward", "status", "statuses",
         "sandbox_error", "error", "finished_by_adapter")


def _safe(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (list, tuple)):
        return [_safe(v) for v in value]
    return value if isinstance(value, (str, int, float, bool, type(None))) else str(value)


def episode_rows(entry: Any) -> list[dict[str, Any]]:
    """The episodes of one history entry: a graded batch, an episode dict, or a list of
    rollout records."""
    if isinstance(entry, dict):
        return [{k: _safe(entry[k]) for k in _KEYS if k in entry}]
    if isinstance(entry, list):
        return [row for item in entry for row in episode_rows(item)]
    if hasattr(entry, "task_ids") and hasattr(entry, "rewards"):  # GradedBatch
        return [{"task_id": t, "reward": _safe(r), "status": s}
                for t, r, s in zip(entry.task_ids, entry.rewards, entry.statuses, strict=True)]
    raise TypeError(f"no episodes in a {type(entry).__name__}")


def _history(source: Any) -> list[Any] | None:
    """The source's record list, oldest first (None: it keeps none)."""
    for name in ("history", "episodes"):
        value = getattr(source, name, None)
        if isinstance(value, list):
            return value
    return None


class EpisodeLog(TrainerCallback):
    """Append each step's new episodes to ``out_dir/episodes.jsonl``.

    Args:
        out_dir: run directory.
        sources: the reward sources whose histories hold the graded episodes.
        append: keep the file's lines (a resumed run, trimmed to its checkpoint) instead of
            starting it empty.
    """

    def __init__(self, out_dir: str | Path, sources: Iterable[Any], append: bool = False) -> None:
        self.path = Path(out_dir) / "episodes.jsonl"
        if not append or not self.path.exists():
            self.path.write_text("")
        self.sources = list(sources)
        # The last entry seen per source, by identity: histories drop their oldest entries,
        # so a count would drift; the object itself stays put while it is in the list.
        self._last: list[Any] = [None] * len(self.sources)
        self.written = 0

    def _new_entries(self, i: int) -> list[Any]:
        history = _history(self.sources[i])
        if history is None:
            return []
        entries = list(history)
        last = self._last[i]
        start = 0
        if last is not None:
            start = next((j + 1 for j in range(len(entries) - 1, -1, -1)
                          if entries[j] is last), 0)
        if entries:
            self._last[i] = entries[-1]
        return entries[start:]

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        """Write the episodes graded during the step that just ended."""
        rows = [row for i in range(len(self.sources)) for entry in self._new_entries(i)
                for row in episode_rows(entry)]
        if not rows:
            return
        with self.path.open("a") as f:
            for index, row in enumerate(rows):
                f.write(json.dumps({"step": state.global_step, "index": index, **row}) + "\n")
        self.written += len(rows)
