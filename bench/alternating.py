"""Timing several cases in turns, so that load coming and going on a shared machine hits
them all alike, and the figures the benches print of them."""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable, Mapping
from typing import TypeVar

K = TypeVar("K")


def alternate(
    cases: Mapping[K, Callable[[], object]], *, runs: int, warm: int = 20
) -> dict[K, list[float]]:
    """Seconds each case took, ``runs`` times each, taken in turns after ``warm`` untimed
    turns (caches, pooled connections)."""
    samples: dict[K, list[float]] = {key: [] for key in cases}
    for turn in range(warm + runs):
        for key, case in cases.items():
            begun = time.perf_counter()
            case()
            if turn >= warm:
                samples[key].append(time.perf_counter() - begun)
    return samples


def p99(samples: list[float]) -> float:
    """The 99th percentile (the slowest sample when there are fewer than 100)."""
    ordered = sorted(samples)
    return ordered[min(len(ordered), math.ceil(len(ordered) * 0.99)) - 1]


def in_ms(samples: list[float], *, width: int = 6, digits: int = 2) -> str:
    """``median X ms (p99 Y)``, in milliseconds."""
    median = statistics.median(samples) * 1000
    return f"{median:{width}.{digits}f} ms (p99 {p99(samples) * 1000:{width}.{digits}f})"


def ratio(slow: list[float], fast: list[float]) -> float:
    """Median over median."""
    return statistics.median(slow) / statistics.median(fast)
