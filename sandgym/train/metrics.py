"""Per-step training metrics: ``metrics.jsonl``, ``reward_curve.png`` and a summary.

`MetricsCallback` is a ``transformers.TrainerCallback``. It times every optimizer step,
reads how much of that time the reward sources spent in sandboxes (their
``grading_s_total`` counters), and on each TRL log writes one JSON line with prefixed
names: ``reward/mean``, ``reward/std``, ``verdict/pass_rate``, ``sandbox/grading_s``,
``sandbox/grading_share``, ``time/step_s``, then TRL's own metrics unchanged. At the end
of training it draws the reward curve and writes ``summary.json``.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

logger = logging.getLogger(__name__)

__all__ = ["MetricsCallback", "json_safe", "load_metrics", "plot_reward_curve", "summarize"]


class MetricsCallback(TrainerCallback):
    """Write ``metrics.jsonl`` per step and ``reward_curve.png`` + ``summary.json`` at the end.

    Args:
        out_dir: run directory.
        timers: objects with a ``grading_s_total`` attribute (seconds spent in
            sandboxes so far): the execution reward, the environment factory.
        closers: objects with ``close()`` to call when training ends (TRL never closes
            environments or reward functions: this releases their sandboxes).
        title: the reward curve's title.
        resume_at: a resumed run's checkpoint step: the file keeps its rows up to that
            step (later ones, of an aborted step, are dropped) and the summary counts them.
    """

    def __init__(self, out_dir: str | Path, timers: Iterable[Any] = (),
                 closers: Iterable[Any] = (), title: str | None = None,
                 resume_at: int | None = None) -> None:
        self.out_dir = Path(out_dir)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.path = self.out_dir / "metrics.jsonl"
        self.rows: list[dict[str, Any]] = []
        if resume_at is not None and self.path.exists():
            from sandgym.train.checkpoints import trim_jsonl

            trim_jsonl(self.path, resume_at)
            self.rows = load_metrics(self.path)
        else:
            self.path.write_text("")
        self.timers = list(timers)
        self.closers = list(closers)
        self.title = title
        self._step_started = 0.0
        self._grading_at_start = 0.0
        self._timing: dict[int, tuple[float, float]] = {}

    def _grading_total(self) -> float:
        return sum(float(getattr(t, "grading_s_total", 0.0)) for t in self.timers)

    def on_step_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        """Start timing an optimizer step (generation, grading, backward, update)."""
        self._step_started = time.perf_counter()
        self._grading_at_start = self._grading_total()

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        """Record the step's wall time and the sandbox time spent within it."""
        step_s = time.perf_counter() - self._step_started
        grading_s = self._grading_total() - self._grading_at_start
        self._timing[state.global_step] = (step_s, grading_s)

    def on_log(self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None,
               **kwargs: Any) -> None:
        """Append one line per training log (TRL logs every ``logging_steps``)."""
        logs = logs or {}
        if "reward" not in logs:
            return  # the end-of-training summary or an eval log
        step = state.global_step
        step_s, grading_s = self._timing.pop(step, (math.nan, math.nan))
        row: dict[str, Any] = {
            "step": step,
            "reward/mean": logs.get("reward"),
            "reward/std": logs.get("reward_std"),
            "verdict/pass_rate": logs.get("verdict/pass"),
            "sandbox/grading_s": grading_s,
            "sandbox/grading_share": grading_s / step_s if step_s and step_s > 0 else None,
            "time/step_s": step_s,
        }
        for key, value in logs.items():
            if key not in row and isinstance(value, (int, float)) and not isinstance(value, bool):
                row[key] = value
        self.rows.append(row)
        with self.path.open("a") as f:
            f.write(json.dumps(json_safe(row)) + "\n")
        logger.info("step %d: reward %.3f, pass rate %s, %.1f s (sandbox %.1f%%)", step,
                    row["reward/mean"] if row["reward/mean"] is not None else math.nan,
                    row["verdict/pass_rate"], step_s,
                    100 * (row["sandbox/grading_share"] or 0.0))

    def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        """Draw the curve, write the summary, release sandboxes."""
        try:
            if self.rows:
                plot_reward_curve(self.rows, self.out_dir / "reward_curve.png", self.title)
            (self.out_dir / "summary.json").write_text(
                json.dumps(json_safe(summarize(self.rows)), indent=2) + "\n")
        finally:
            for closer in self.closers:
                try:
                    closer.close()
                except Exception:  # noqa: BLE001 - release the others too
                    logger.warning("closing %r at the end of training failed", closer,
                                   exc_info=True)


def json_safe(value: Any) -> Any:
    """JSON-safe: NaN becomes null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [json_safe(v) for v in value]
    return value


def load_metrics(path: str | Path) -> list[dict[str, Any]]:
    """Rows of a ``metrics.jsonl`` (a run directory or the file itself)."""
    path = Path(path)
    if path.is_dir():
        path = path / "metrics.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _mean(values: Sequence[Any]) -> float | None:
    nums = [float(v) for v in values if isinstance(v, (int, float)) and math.isfinite(v)]
    return sum(nums) / len(nums) if nums else None


def summarize(rows: Sequence[dict[str, Any]], window: int = 5) -> dict[str, Any]:
    """Headline figures of a run: first vs last ``window`` steps, grading share.

    The grading share is total sandbox seconds over total step seconds (not a mean of
    per-step ratios, which would over-weight short steps).
    """
    rewards = [r.get("reward/mean") for r in rows]
    passes = [r.get("verdict/pass_rate") for r in rows]
    step_s = [r.get("time/step_s") for r in rows]
    grading = [r.get("sandbox/grading_s") for r in rows]
    total_step = sum(v for v in step_s if isinstance(v, (int, float)) and math.isfinite(v))
    total_grading = sum(v for v in grading if isinstance(v, (int, float)) and math.isfinite(v))
    first, last = _mean(rewards[:window]), _mean(rewards[-window:])
    return {
        "steps": len(rows),
        "reward_per_step": rewards,
        "pass_rate_per_step": passes,
        "reward_first": first,
        "reward_last": last,
        "reward_delta": None if first is None or last is None else last - first,
        "pass_rate_first": _mean(passes[:window]),
        "pass_rate_last": _mean(passes[-window:]),
        "window": window,
        "step_s_mean": _mean(step_s),
        "grading_s_total": total_grading,
        "step_s_total": total_step,
        "grading_share": total_grading / total_step if total_step > 0 else None,
    }


LENGTH_KEYS = ("completion/mean_length", "completions/mean_length")
"""Mean completion length per step: ours (RFT) or TRL's (GRPO)."""
TRUNCATED_KEYS = ("completion/truncated_share", "completions/clipped_ratio")
"""Share of completions cut by the token budget per step: ours (RFT) or TRL's (GRPO)."""


def _first_of(row: dict[str, Any], keys: Sequence[str]) -> float:
    return next((_nan(row[k]) for k in keys if k in row), math.nan)


def plot_reward_curve(rows: Sequence[dict[str, Any]], path: str | Path,
                      title: str | None = None, x_label: str = "GRPO step") -> Path:
    """The run's curves as one PNG, two panels sharing the x axis.

    Top: mean reward per step, its 5-step moving average and the pass rate. Bottom: the
    mean completion length (tokens) and the share of completions cut by the budget; a
    reward that falls while the truncated share rises means the budget, not the task,
    is what the model is failing.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    steps = [r["step"] for r in rows]
    rewards = [_nan(r.get("reward/mean")) for r in rows]
    passes = [_nan(r.get("verdict/pass_rate")) for r in rows]
    lengths = [_first_of(r, LENGTH_KEYS) for r in rows]
    truncated = [_first_of(r, TRUNCATED_KEYS) for r in rows]
    fig, (ax, low) = plt.subplots(2, 1, figsize=(7, 6), dpi=100, sharex=True,
                                  gridspec_kw={"height_ratios": [3, 2]})
    ax.plot(steps, rewards, marker="o", ms=3, lw=1, alpha=0.6, label="mean reward")
    if len(rewards) >= 5:
        smooth = [_nanmean(rewards[max(0, i - 4):i + 1]) for i in range(len(rewards))]
        ax.plot(steps, smooth, lw=2, label="mean reward (5-step avg)")
    if any(math.isfinite(p) for p in passes):
        ax.plot(steps, passes, lw=1, ls="--", marker=".", label="pass rate")
    ax.set_ylabel("reward / pass rate")
    ax.set_title(title or "GRPO on execution rewards")
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize=8)
    low.plot(steps, lengths, color="tab:purple", marker=".", lw=1,
             label="mean completion length")
    low.set_ylabel("tokens")
    low.set_xlabel(x_label)
    low.grid(alpha=0.3)
    share = low.twinx()
    share.plot(steps, truncated, color="tab:red", ls=":", marker=".", lw=1,
               label="truncated share")
    share.set_ylim(-0.05, 1.05)
    share.set_ylabel("truncated share")
    handles = low.get_legend_handles_labels()[0] + share.get_legend_handles_labels()[0]
    low.legend(handles, [h.get_label() for h in handles], loc="best", fontsize=8)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path)
    plt.close(fig)
    return path


def _nan(value: Any) -> float:
    return float(value) if isinstance(value, (int, float)) else math.nan


def _nanmean(values: Sequence[float]) -> float:
    finite = [v for v in values if math.isfinite(v)]
    return sum(finite) / len(finite) if finite else math.nan
