"""`sandgym report`: the HTML report's data, and the page as a real browser renders it.

The browser tests open the file in Debian's headless Chromium (installed by
scripts/setup.sh), read the DOM after the page's script ran (``--dump-dom``) and save a
screenshot next to the test's files.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sandgym.agents import Trajectory
from sandgym.cli import app
from sandgym.rollouts import StorageError, TrajectoryStore
from sandgym.rollouts.report import build_report, load_report_data, reward_histogram

HOSTILE = '</script><img src=x onerror="document.title=\'pwned\'"><b id="inj">x</b>'


def _record(task: str, k: int, status: str, reward: float | None, **extra) -> dict:
    sandbox_error = status == "sandbox_error"
    verdict = {"status": status, "outcome": f"{status}_outcome", "passed": int(status == "pass"),
               "total": 1}
    traj = Trajectory(
        episode_id=f"env|{task}|{k}", env_id="env", task_id=task, policy="scripted",
        messages=[{"role": "system", "content": "You write Python."},
                  {"role": "user", "content": f"Solve {task}"},
                  {"role": "assistant", "content": f"answer {task} {k}"},
                  {"role": "user", "content": "tests ran"},
                  {"role": "assistant", "content": HOSTILE if k == 1 else "second try"}],
        actions=[f"answer {task} {k}", "second"], rewards=[0.0, reward if reward is not None
                                                         else float("nan")],
        verdicts=[{"status": "fail", "outcome": "failing_tests"}, verdict],
        reward_components=[{"mode": "binary", "value": 0.0},
                           {"mode": "binary", "value": reward, "marker": f"comp-{task}-{k}"}],
        final_reward=None if sandbox_error else reward, sandbox_error=sandbox_error,
        num_turns=2, final_observation=f"final obs {task} {k}").to_record()
    traj.update(sample_index=k, attempts=1, worker="h:1", finished_at=0.0)
    traj.update(extra)
    return traj


PLAN = [("t1", 0, "pass", 1.0), ("t1", 1, "fail", 0.0), ("t1", 2, "pass", 1.0),
        ("t2", 0, "timeout", 0.0), ("t2", 1, "error", 0.0), ("t2", 2, "sandbox_error", None),
        ("t3", 0, "fail", 0.25), ("t3", 1, "pass", 1.0)]


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    """A run directory: a collection and a training run's metrics.jsonl."""
    run = tmp_path / "run"
    with TrajectoryStore(run / "rollouts.parquet") as store:
        for task, k, status, reward in PLAN:
            store.append(_record(task, k, status, reward))
    (run / "grpo").mkdir()
    rows = [{"step": s, "reward/mean": -1 + 0.4 * s, "verdict/pass_rate": 0.1 * s,
             "loss": 0.5 / s, "time/step_s": float("nan")} for s in range(1, 5)]
    (run / "grpo" / "metrics.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return run


def test_summaries_count_every_episode_and_leave_sandbox_errors_unscored(run_dir):
    data = load_report_data(run_dir)
    assert data.total == 8
    assert data.statuses == {"pass": 3, "fail": 2, "timeout": 1, "error": 1, "sandbox_error": 1}
    assert data.tasks == {"t1": [2, 3, 3], "t2": [0, 2, 3], "t3": [1, 2, 2]}
    assert data.pass_rate == pytest.approx(3 / 7)
    assert sorted(data.rewards) == [0.0, 0.0, 0.0, 0.25, 1.0, 1.0, 1.0]
    assert list(data.curves) == ["grpo"] and len(data.curves["grpo"]) == 4
    assert all("time/step_s" not in row for row in data.curves["grpo"])  # NaN dropped
    limited = load_report_data(run_dir / "rollouts.parquet", max_episodes=3)
    assert limited.total == 8 and len(limited.shown) == 3 and not limited.curves


def test_reward_histogram_bars_per_value_or_bins():
    assert reward_histogram([0.0, 1.0, 1.0]) == [("0", 1), ("1", 2)]
    bins = reward_histogram([i / 100 for i in range(100)], bins=4)
    assert [n for _, n in bins] == [25, 25, 25, 25]
    assert reward_histogram([]) == []


def test_nothing_to_report_is_a_clear_error(tmp_path):
    with pytest.raises(StorageError, match="nothing to report"):
        load_report_data(tmp_path)
    with pytest.raises(StorageError, match="does not exist"):
        load_report_data(tmp_path / "missing.parquet")


def test_train_dir_adds_curves_and_a_wrong_one_is_an_error(run_dir, tmp_path):
    collection = run_dir / "rollouts.parquet"
    data = load_report_data(collection, train_dir=run_dir / "grpo")
    assert len(data.curves) == 1 and data.total == 8
    with pytest.raises(StorageError, match="no metrics.jsonl there"):
        load_report_data(collection, train_dir=tmp_path / "nope")


def test_hostile_text_cannot_end_the_data_block(run_dir, tmp_path):
    page = build_report(run_dir / "rollouts.parquet", tmp_path / "r.html").out.read_text()
    assert "</script><img" not in page
    assert page.count("<script") == 2 and "http://" not in page and "https://" not in page


# ------------------------------------------------------------------ real browser

def _chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.fail("chromium is not installed; run scripts/setup.sh (apt-get install chromium)")
    return path


def _browser(page: Path, profile: Path, *args: str, fragment: str = "") -> str:
    cmd = [_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
           "--disable-extensions", f"--user-data-dir={profile}", *args,
           page.resolve().as_uri() + fragment]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "HOME": str(profile)})
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def _matching(dom: str) -> int:
    found = re.search(r'id="count"[^>]*data-matching="(\d+)"', dom)
    assert found, "the page's script did not render the episode list"
    return int(found.group(1))


def test_report_renders_in_headless_chromium(run_dir, tmp_path):
    result = CliRunner().invoke(app, ["report", str(run_dir), "--out",
                                      str(tmp_path / "report.html")])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output.strip().splitlines()[-1])
    assert summary["episodes"] == 8 and summary["curves"] == 1
    page, profile = Path(summary["out"]), tmp_path / "profile"

    dom = _browser(page, profile, "--dump-dom")
    assert 'data-rendered="1"' in dom and _matching(dom) == 8
    assert dom.count('class="ep"') == 8
    assert "8 episodes · pass rate 42.9% · 1 sandbox errors" in dom
    assert re.search(r'<tr data-task="t1"><td>t1</td><td>3</td><td>2/3</td>', dom)
    assert 'data-label="pass" data-count="3"' in dom  # verdict plot
    assert 'data-key="reward/mean" data-points="4"' in dom  # training curve
    assert '<b id="inj"' not in dom and "<title>pwned" not in dom  # model text stays text

    assert _matching(_browser(page, profile, "--dump-dom", fragment="#verdict=fail")) == 2
    assert _matching(_browser(page, profile, "--dump-dom", fragment="#task=t2")) == 3
    assert _matching(_browser(page, profile, "--dump-dom", fragment="#min=0.2&max=0.5")) == 1
    one = _browser(page, profile, "--dump-dom", fragment="#text=env%7Ct1%7C1")
    assert _matching(one) == 1
    assert "comp-t1-1" in one and "reward components" in one  # opened: components shown
    assert "final obs t1 1" in one and "&lt;/script&gt;&lt;img" in one and '<b id="inj"' not in one

    shot = tmp_path / "report.png"
    _browser(page, profile, f"--screenshot={shot}", "--window-size=1280,1800")
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000
    artifacts = os.environ.get("SANDGYM_TEST_ARTIFACTS")
    if artifacts:  # CI keeps the screenshot
        Path(artifacts).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(artifacts) / "report.png")
