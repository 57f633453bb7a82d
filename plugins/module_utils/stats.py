# Copyright: (c) 2026, phoenix.deploy maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Small statistics for health checks and canary judgement, in plain Python
so that modules need nothing installed on the hosts they run on."""

from __future__ import annotations

import math
from collections.abc import Sequence


def percentile(samples: Sequence[float], fraction: float) -> float | None:
    """The `fraction` quantile (0..1) by linear interpolation; None when empty."""
    if not samples:
        return None
    ordered = sorted(samples)
    position = (len(ordered) - 1) * fraction
    low = math.floor(position)
    high = math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def summarize(samples: Sequence[float]) -> dict[str, float | int | None]:
    """Count, mean, p50, p95 and max of latency samples."""
    return {
        "count": len(samples),
        "mean": sum(samples) / len(samples) if samples else None,
        "p50": percentile(samples, 0.50),
        "p95": percentile(samples, 0.95),
        "max": max(samples) if samples else None,
    }


def _ranks(values: Sequence[float]) -> tuple[list[float], list[int]]:
    """Average ranks (1-based) of values, and the sizes of tied groups."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0.0] * len(values)
    ties = []
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        average = (i + j) / 2 + 1
        for k in range(i, j + 1):
            ranks[order[k]] = average
        ties.append(j - i + 1)
        i = j + 1
    return ranks, ties


def mann_whitney_greater(sample: Sequence[float], baseline: Sequence[float]) -> dict[str, float]:
    """One-sided Mann-Whitney U test that `sample` tends to be larger than
    `baseline` (e.g. canary latencies slower than the baseline's).

    Uses the normal approximation with tie and continuity corrections, which
    is sound from about eight samples a side. Returns U for `sample`, z, the
    p-value, and the common-language effect size P(sample > baseline).
    """
    n1, n2 = len(sample), len(baseline)
    if n1 == 0 or n2 == 0:
        raise ValueError("both samples need at least one value")
    ranks, ties = _ranks(list(sample) + list(baseline))
    u1 = sum(ranks[:n1]) - n1 * (n1 + 1) / 2
    mean = n1 * n2 / 2
    n = n1 + n2
    tie_term = sum(t ** 3 - t for t in ties) / (n * (n - 1)) if n > 1 else 0.0
    variance = n1 * n2 / 12 * ((n + 1) - tie_term)
    if variance <= 0:
        # Every value is the same: no evidence either way.
        return {"u": u1, "z": 0.0, "p_value": 1.0, "effect": 0.5}
    z = (u1 - mean - 0.5) / math.sqrt(variance)
    p_value = 0.5 * math.erfc(z / math.sqrt(2))
    return {"u": u1, "z": z, "p_value": p_value, "effect": u1 / (n1 * n2)}
