"""pass@k (unbiased estimator) and the seeded bootstrap intervals over tasks."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from sandgym.envs.metrics import (
    Interval,
    bootstrap_interval,
    mean_pass_at_k,
    paired_difference_interval,
    pass_at_k,
    pass_at_k_interval,
    per_task_pass_at_k,
)


def test_pass_at_k_equals_the_combinatorial_formula():
    for n in range(1, 11):
        for c in range(n + 1):
            for k in range(1, n + 1):
                exact = 1 - math.comb(n - c, k) / math.comb(n, k)
                assert pass_at_k(n, c, k) == pytest.approx(exact, abs=1e-12), (n, c, k)


def test_pass_at_k_is_unbiased_for_the_true_pass_at_k():
    # E[estimator] over c ~ Binomial(n, p) is exactly 1 - (1 - p)^k (Chen et al., 2021).
    n, k = 10, 3
    for p in (0.0, 0.1, 0.37, 0.9):
        expected = sum(math.comb(n, c) * p**c * (1 - p) ** (n - c) * pass_at_k(n, c, k)
                       for c in range(n + 1))
        assert expected == pytest.approx(1 - (1 - p) ** k, abs=1e-12)


def test_mean_pass_at_k_leaves_out_tasks_with_too_few_samples():
    assert mean_pass_at_k([(4, 1), (4, 4), (1, 1)], 2) == pytest.approx((0.5 + 1.0) / 2)
    assert math.isnan(mean_pass_at_k([(1, 0)], 2))
    assert per_task_pass_at_k([(2, 1), (0, 0)], 1).tolist() == [0.5]


def test_bootstrap_is_reproducible_with_a_seed_and_brackets_the_estimate():
    values = np.random.default_rng(7).integers(0, 2, size=150)
    first = bootstrap_interval(values, seed=3)
    assert first == bootstrap_interval(values, seed=3)
    assert first != bootstrap_interval(values, seed=4)
    assert first.estimate == pytest.approx(values.mean())
    assert first.low < first.estimate < first.high
    assert (first.confidence, first.resamples, first.tasks) == (0.95, 1000, 150)


def test_bootstrap_width_matches_the_standard_error():
    # 400 tasks, half solved: standard error 0.025, so a 95% interval about 0.098 wide.
    values = np.array([0, 1] * 200)
    interval = bootstrap_interval(values, resamples=2000, seed=0)
    assert 0.08 < interval.high - interval.low < 0.12
    wider = bootstrap_interval(values, resamples=2000, confidence=0.99, seed=0)
    assert wider.low <= interval.low and wider.high >= interval.high


def test_bootstrap_of_constant_values_is_a_point_and_of_nothing_is_nan():
    assert bootstrap_interval([1.0] * 5) == Interval(1.0, 1.0, 1.0, tasks=5)
    empty = bootstrap_interval([])
    assert math.isnan(empty.estimate) and empty.tasks == 0
    assert empty.as_dict()["estimate"] is None


def test_bootstrap_arguments_are_checked():
    with pytest.raises(ValueError, match=re.escape("resamples must be >= 1, got 0")):
        bootstrap_interval([1.0], resamples=0)
    with pytest.raises(ValueError, match=re.escape("confidence must be in (0, 1)")):
        bootstrap_interval([1.0], confidence=95)
    with pytest.raises(ValueError, match="one number per task"):
        bootstrap_interval([[1.0, 0.0]])


def test_pass_at_k_interval_is_centred_on_mean_pass_at_k():
    counts = [(5, c) for c in (0, 1, 2, 3, 4, 5)] * 10
    for k in (1, 3):
        interval = pass_at_k_interval(counts, k, seed=1)
        assert interval.estimate == pytest.approx(mean_pass_at_k(counts, k))
        assert interval.low < interval.estimate < interval.high
        assert interval.tasks == 60
    as_json = pass_at_k_interval(counts, 1).as_dict(digits=3)
    assert set(as_json) == {"estimate", "low", "high", "confidence", "resamples", "tasks"}
    assert as_json["estimate"] == 0.5


def test_paired_difference_of_identical_runs_is_zero():
    runs = {f"t{i}": (1, i % 2) for i in range(40)}
    assert paired_difference_interval(runs, dict(runs)) == Interval(0.0, 0.0, 0.0, tasks=40)


def test_paired_interval_is_narrower_than_either_run_alone():
    # 200 tasks; the trained run solves everything the base did plus 30 more.
    rng = np.random.default_rng(0)
    base = rng.random(200) < 0.3
    other = base.copy()
    other[np.flatnonzero(~base)[:30]] = True
    before = {f"t{i}": (1, int(b)) for i, b in enumerate(base)}
    after = {f"t{i}": (1, int(o)) for i, o in enumerate(other)}
    gain = paired_difference_interval(before, after, seed=0)
    assert gain.estimate == pytest.approx(30 / 200)
    assert 0 < gain.low < gain.estimate < gain.high
    alone = pass_at_k_interval(before.values(), 1, seed=0)
    assert gain.high - gain.low < alone.high - alone.low


def test_pairing_is_by_task_id_not_by_order():
    before = {"a": (2, 0), "b": (2, 1), "c": (2, 2), "d": (2, 0)}
    after = {"d": (2, 2), "c": (2, 2), "b": (2, 2), "a": (2, 1)}
    by_id = paired_difference_interval(before, after, seed=5)
    aligned = paired_difference_interval(list(before.values()),
                                         [after[t] for t in before], seed=5)
    assert by_id == aligned
    assert by_id.estimate == pytest.approx((0.5 + 0.5 + 0 + 1) / 4)


def test_paired_difference_supports_pass_at_k_and_drops_unsampled_tasks():
    before = [(4, 0), (4, 1), (0, 0)]
    after = [(4, 1), (4, 1), (4, 4)]  # the third task had no graded episode before
    gain = paired_difference_interval(before, after, k=2)
    assert gain.tasks == 2
    assert gain.estimate == pytest.approx((pass_at_k(4, 1, 2) - 0) / 2)


def test_paired_difference_refuses_runs_over_different_tasks():
    with pytest.raises(ValueError, match=re.escape("only in base: ['b'], only in other: ['c']")):
        paired_difference_interval({"a": (1, 0), "b": (1, 1)}, {"a": (1, 0), "c": (1, 1)})
    with pytest.raises(ValueError, match=re.escape("got 2 and 1 tasks")):
        paired_difference_interval([(1, 0), (1, 1)], [(1, 0)])
    with pytest.raises(ValueError, match="give both runs as mappings"):
        paired_difference_interval({"a": (1, 0)}, [(1, 0)])
