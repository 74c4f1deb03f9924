"""Ratio benchmarks: each compares the app with a named baseline in one run.

Every module ``benchmarks/bench_*.py`` defines ``run(quick: bool) -> list[Result]``.
``python -m benchmarks`` (or ``make bench``) runs them all and prints one table.
These machines are noisy: only ratios measured in the same run are meaningful.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Result:
    name: str  # what was measured
    value: float  # the app's figure
    unit: str  # e.g. "events/s", "µs/event", "queries/request"
    baseline: float | None = None  # the baseline's figure in the same run
    goal: str = ""  # e.g. ">= 0.9"
    goal_min_ratio: float | None = None

    @property
    def ratio(self) -> float | None:
        if self.baseline in (None, 0):
            return None
        return self.value / self.baseline  # type: ignore[operator]

    @property
    def met(self) -> str:
        if self.goal_min_ratio is None or self.ratio is None:
            return ""
        return "yes" if self.ratio >= self.goal_min_ratio else "NO"
