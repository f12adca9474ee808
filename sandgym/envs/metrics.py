"""Evaluation metrics: the unbiased pass@k estimator (Chen et al., 2021)."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

__all__ = ["mean_pass_at_k", "pass_at_k"]


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


def mean_pass_at_k(counts: Iterable[tuple[int, int]], k: int) -> float:
    """pass@k averaged over tasks, given (samples, correct) per task."""
    values = [pass_at_k(n, c, k) for n, c in counts if n >= k]
    return float(np.mean(values)) if values else float("nan")
