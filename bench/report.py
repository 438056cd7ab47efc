"""Printing benchmark figures as one table."""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from rich.console import Console
from rich.table import Table


@dataclass(frozen=True)
class Figure:
    """One measured figure."""

    workload: str
    system: str
    value: str
    note: str = ""


def percentile(samples: list[float], p: float) -> float:
    """The p-th percentile (0..100) by nearest rank."""
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))
    return ordered[index]


def latency_summary(samples_ms: list[float]) -> str:
    """p50 / p99 / max of millisecond samples."""
    return (
        f"p50 {statistics.median(samples_ms):.3f} ms · p99 {percentile(samples_ms, 99):.3f} ms"
        f" · max {max(samples_ms):.3f} ms"
    )


def print_table(figures: list[Figure]) -> None:
    """Print the figures."""
    table = Table(title="Baton benchmarks")
    for column in ("workload", "system", "figure", "note"):
        table.add_column(column)
    for f in figures:
        table.add_row(f.workload, f.system, f.value, f.note)
    Console().print(table)
