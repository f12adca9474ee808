"""EvalReport: pass@k with its bootstrap interval, from per-task counts (no episodes)."""

from __future__ import annotations

from sandgym.rollouts.evaluation import EvalReport, TaskResult


def _report(counts: list[tuple[int, int]], samples: int) -> EvalReport:
    tasks = [TaskResult(task_id=f"t{i}", episodes=n, passed=c, rewards=[1.0] * c + [0.0] * (n - c))
             for i, (n, c) in enumerate(counts)]
    return EvalReport(env="sandgym/X-v0", policy="p", samples=samples, tasks=tasks)


def test_each_pass_at_k_has_an_interval_around_it():
    report = _report([(4, 0), (4, 1), (4, 4), (4, 2)] * 10, samples=4).to_dict()
    assert set(report["pass@k_interval"]) == set(report["pass@k"]) == {"pass@1", "pass@4"}
    for name, interval in report["pass@k_interval"].items():
        assert interval["estimate"] == report["pass@k"][name]
        assert interval["low"] <= interval["estimate"] <= interval["high"]
        assert interval["tasks"] == 40 and interval["confidence"] == 0.95
    assert report["pass@k"]["pass@1"] == 0.4375


def test_the_interval_is_seeded_and_narrows_with_more_tasks():
    few = _report([(1, 1), (1, 0)] * 5, samples=1).to_dict()["pass@k_interval"]["pass@1"]
    again = _report([(1, 1), (1, 0)] * 5, samples=1).to_dict()["pass@k_interval"]["pass@1"]
    many = _report([(1, 1), (1, 0)] * 200, samples=1).to_dict()["pass@k_interval"]["pass@1"]
    assert few == again
    assert many["high"] - many["low"] < few["high"] - few["low"]
