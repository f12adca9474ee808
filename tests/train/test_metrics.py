"""Metrics of a run: summary figures and the reward-curve PNG (no training needed)."""

from __future__ import annotations

import json
import math

import pytest

from sandgym.train.metrics import json_safe, load_metrics, plot_reward_curve, summarize


def rows(rewards: list[float], step_s: float = 10.0, grading_s: float = 0.2) -> list[dict]:
    return [{"step": i + 1, "reward/mean": r, "verdict/pass_rate": max(0.0, r),
             "time/step_s": step_s, "sandbox/grading_s": grading_s}
            for i, r in enumerate(rewards)]


def test_summary_compares_first_and_last_steps_and_shares_time():
    summary = summarize(rows([0.0] * 5 + [0.5] * 5))
    assert summary["reward_first"] == 0.0 and summary["reward_last"] == 0.5
    assert summary["reward_delta"] == 0.5
    assert summary["grading_share"] == pytest.approx(0.02)
    assert summary["steps"] == 10


def test_nan_and_missing_values_are_skipped_and_json_safe():
    data = rows([math.nan, 1.0])
    data[1]["time/step_s"] = None
    summary = summarize(data)
    assert summary["reward_first"] == 1.0
    text = json.dumps(json_safe(summary))
    assert "NaN" not in text


def test_reward_curve_png(tmp_path):
    path = plot_reward_curve(rows([0.1 * i for i in range(8)]), tmp_path / "curve.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    (tmp_path / "metrics.jsonl").write_text("\n".join(json.dumps(r) for r in rows([1.0])))
    assert load_metrics(tmp_path)[0]["reward/mean"] == 1.0
