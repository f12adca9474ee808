"""Evaluation metrics: unbiased pass@k (Chen et al., 2021) and bootstrap intervals over tasks.

* `pass_at_k` / `mean_pass_at_k`: the unbiased estimator from n samples with c correct.
* `bootstrap_interval`: a seeded percentile bootstrap of a mean over tasks.
* `pass_at_k_interval`: pass@k with its 95% interval (tasks resampled).
* `paired_difference_interval`: the gain of one run over another on the same tasks, with
  a paired bootstrap interval (both runs resampled with the same tasks).

All are pure functions of their inputs (the seed included): the same inputs give the
same interval.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass

import numpy as np

__all__ = ["Interval", "bootstrap_interval", "mean_pass_at_k", "paired_difference_interval",
           "pass_at_k", "pass_at_k_interval", "per_task_pass_at_k"]

Counts = tuple[int, int]
"""(samples, correct) of one task."""


def pass_at_k(n: int, c: int, k: int) -> float:
    """Probability that at least one of k samples (out of n, c correct) passes.

    ``1 - C(n - c, k) / C(n, k)``, computed as a stable product.

    Example:
        >>> round(pass_at_k(10, 3, 1), 6)
        0.3
        >>> pass_at_k(2, 2, 2)
        1.0
    """
    if not 0 <= c <= n:
        raise ValueError(f"need 0 <= c <= n, got n={n}, c={c}")
    if not 1 <= k <= n:
        raise ValueError(f"k must be in 1..n={n} (samples per task), got {k}")
    if n - c < k:
        return 1.0
    return float(1.0 - np.prod(1.0 - k / np.arange(n - c + 1, n + 1)))


def pass_hat_k(n: int, c: int, k: int) -> float:
    """τ-bench's pass^k: probability that all of k samples (out of n, c correct) pass.

    ``C(c, k) / C(n, k)``: the reliability of an agent over k tries, where pass@k is
    its chance of one success in k.

    Example:
        >>> round(pass_hat_k(4, 2, 2), 6)
        0.166667
        >>> pass_hat_k(3, 3, 3), pass_hat_k(3, 2, 3)
        (1.0, 0.0)
    """
    if not 0 <= c <= n:
        raise ValueError(f"need 0 <= c <= n, got n={n}, c={c}")
    if not 1 <= k <= n:
        raise ValueError(f"k must be in 1..n={n} (samples per task), got {k}")
    if c < k:
        return 0.0
    return float(np.prod((c - np.arange(k)) / (n - np.arange(k))))


def mean_pass_hat_k(counts: Iterable[Counts], k: int) -> float:
    """pass^k averaged over tasks with at least k samples."""
    values = [pass_hat_k(n, c, k) for n, c in counts if n >= k]
    return float(np.mean(values)) if values else float("nan")


def per_task_pass_at_k(counts: Iterable[Counts], k: int) -> np.ndarray:
    """pass@k of each task with at least k samples (tasks with fewer are left out)."""
    return np.array([pass_at_k(n, c, k) for n, c in counts if n >= k], dtype=float)


def mean_pass_at_k(counts: Iterable[Counts], k: int) -> float:
    """pass@k averaged over tasks, given (samples, correct) per task."""
    values = per_task_pass_at_k(counts, k)
    return float(values.mean()) if values.size else float("nan")


@dataclass(frozen=True)
class Interval:
    """An estimate with its bootstrap confidence interval.

    Example:
        >>> Interval(0.5, 0.4, 0.6, tasks=80).as_dict()["high"]
        0.6
    """

    estimate: float
    """The statistic on the data as observed (not a bootstrap mean)."""
    low: float
    high: float
    confidence: float = 0.95
    resamples: int = 1000
    tasks: int = 0
    """How many tasks the estimate and the resamples are over."""

    def as_dict(self, digits: int = 6) -> dict[str, float | int | None]:
        """JSON-ready: floats rounded, nan (no tasks) as None."""
        out: dict[str, float | int | None] = {}
        for name, value in asdict(self).items():
            if isinstance(value, float):
                value = None if math.isnan(value) else round(value, digits)
            out[name] = value
        return out


def bootstrap_interval(values: Sequence[float] | np.ndarray, *, resamples: int = 1000,
                       confidence: float = 0.95, seed: int = 0) -> Interval:
    """Percentile bootstrap interval of the mean of per-task values.

    Tasks are drawn with replacement ``resamples`` times (a seeded NumPy generator, so the
    interval is reproducible); the interval holds the central ``confidence`` share of the
    resampled means. With no tasks every figure is nan.

    Args:
        values: one value per task (e.g. pass@1 of each task, or a per-task difference).
        resamples: bootstrap resamples (>= 1).
        confidence: the interval's coverage, in (0, 1).
        seed: seed of the resampling generator.

    Example:
        >>> iv = bootstrap_interval([0, 1, 1, 0, 1, 1, 1, 0], seed=1)
        >>> iv.estimate, iv.low <= iv.estimate <= iv.high
        (0.625, True)
    """
    if resamples < 1:
        raise ValueError(f"resamples must be >= 1, got {resamples}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), e.g. 0.95; got {confidence}")
    data = np.asarray(values, dtype=float)
    if data.ndim != 1:
        raise ValueError(f"values must be one number per task, got shape {data.shape}")
    if data.size == 0:
        nan = float("nan")
        return Interval(nan, nan, nan, confidence, resamples, 0)
    rng = np.random.default_rng(seed)
    means = np.empty(resamples)
    chunk = max(1, 2_000_000 // data.size)  # bound the index array's memory
    for start in range(0, resamples, chunk):
        stop = min(start + chunk, resamples)
        index = rng.integers(0, data.size, size=(stop - start, data.size))
        means[start:stop] = data[index].mean(axis=1)
    tail = (1 - confidence) / 2
    low, high = np.quantile(means, [tail, 1 - tail])
    return Interval(float(data.mean()), float(low), float(high), confidence, resamples,
                    int(data.size))


def pass_at_k_interval(counts: Iterable[Counts], k: int = 1, *, resamples: int = 1000,
                       confidence: float = 0.95, seed: int = 0) -> Interval:
    """pass@k over tasks with a bootstrap interval (tasks resampled).

    Args:
        counts: (samples, correct) per task; tasks with fewer than k samples are left out
            (as in `mean_pass_at_k`).
        k: the k of pass@k.
        resamples, confidence, seed: as in `bootstrap_interval`.

    Example:
        >>> iv = pass_at_k_interval([(4, 1), (4, 4), (4, 0), (4, 2)], k=1)
        >>> iv.estimate
        0.4375
    """
    return bootstrap_interval(per_task_pass_at_k(counts, k), resamples=resamples,
                              confidence=confidence, seed=seed)


def paired_difference_interval(base: Mapping[str, Counts] | Sequence[Counts],
                               other: Mapping[str, Counts] | Sequence[Counts], k: int = 1,
                               *, resamples: int = 1000, confidence: float = 0.95,
                               seed: int = 0) -> Interval:
    """pass@k of ``other`` minus pass@k of ``base`` on the same tasks, with a paired interval.

    Each resample draws tasks with replacement and scores both runs on the same draw,
    which is the bootstrap of the mean of per-task differences: the interval reflects how
    much the gain depends on which tasks were drawn, not the spread of each run alone.
    A gain is shown when ``low > 0``.

    Args:
        base, other: (samples, correct) per task, as mappings task id -> counts (paired by
            id; both must hold the same ids) or as sequences in the same task order.
            A task with fewer than k samples in either run (e.g. all its episodes hit
            sandbox errors) is left out of both.
        k: the k of pass@k (1: the difference of pass@1).
        resamples, confidence, seed: as in `bootstrap_interval`.

    Raises:
        ValueError: the runs are not over the same tasks.

    Example:
        >>> before = {"a": (1, 0), "b": (1, 0), "c": (1, 1), "d": (1, 0)}
        >>> after = {"a": (1, 1), "b": (1, 0), "c": (1, 1), "d": (1, 1)}
        >>> paired_difference_interval(before, after).estimate
        0.5
    """
    pairs = _paired(base, other)
    diffs = [pass_at_k(*o, k) - pass_at_k(*b, k) for b, o in pairs if b[0] >= k and o[0] >= k]
    return bootstrap_interval(diffs, resamples=resamples, confidence=confidence, seed=seed)


def _paired(base: Mapping[str, Counts] | Sequence[Counts],
            other: Mapping[str, Counts] | Sequence[Counts]) -> list[tuple[Counts, Counts]]:
    if isinstance(base, Mapping) != isinstance(other, Mapping):
        raise ValueError("give both runs as mappings task id -> (samples, correct), or both "
                         "as sequences in the same task order")
    if isinstance(base, Mapping):
        missing, extra = sorted(set(base) - set(other)), sorted(set(other) - set(base))
        if missing or extra:
            raise ValueError(f"the runs must cover the same tasks; only in base: "
                             f"{missing[:5]}, only in other: {extra[:5]}")
        return [(tuple(base[t]), tuple(other[t])) for t in base]
    if len(base) != len(other):
        raise ValueError(f"the runs must cover the same tasks in the same order; got "
                         f"{len(base)} and {len(other)} tasks")
    return [(tuple(b), tuple(o)) for b, o in zip(base, other, strict=True)]
