"""Ratio benchmarks: each compares the app with a named baseline in one run.

Every module ``benchmarks/bench_*.py`` defines ``run(quick: bool) -> list[Result]``.
``python -m benchmarks`` (or ``make bench``) runs them all, on SQLite and on
PostgreSQL, prints one table and writes ``benchmarks/RESULTS.md``.
These machines are noisy: only ratios measured in the same run are meaningful, so
a benchmark measures interleaved pairs (baseline, app; app, baseline; ...) and
reports the median of the pairs' ratios (:func:`interleaved`, :meth:`Result.of_pairs`).
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field


@dataclass
class Result:
    name: str  # what was measured
    value: float  # the app's figure
    unit: str  # e.g. "events/s", "µs/event", "queries/request"
    baseline: float | None = None  # the baseline's figure in the same run
    goal: str = ""  # e.g. ">= 0.9"
    goal_min_ratio: float | None = None
    # Added for the report (all optional: older rows stay valid).
    goal_max_value: float | None = None  # an absolute goal: met when value <= this (e.g. ms)
    db: str = ""  # the database it ran on ("" : filled in by the runner)
    repeats: int = 0  # interleaved pairs measured (0: not said)
    pair_ratios: list[float] = field(default_factory=list)  # app/baseline of each pair
    op: str = ""  # what one operation is ("batch", "save"), for the counts below
    statements: float | None = None  # SQL statements per operation, app
    commits: float | None = None  # commits per operation, app
    baseline_statements: float | None = None
    baseline_commits: float | None = None

    @property
    def ratio(self) -> float | None:
        """The median of the pairs' ratios when pairs were measured, else value/baseline."""
        if self.pair_ratios:
            return statistics.median(self.pair_ratios)
        if self.baseline in (None, 0):
            return None
        return self.value / self.baseline  # type: ignore[operator]

    @property
    def met(self) -> str:
        if self.goal_max_value is not None:
            return "yes" if self.value <= self.goal_max_value else "NO"
        if self.goal_min_ratio is None or self.ratio is None:
            return ""
        return "yes" if self.ratio >= self.goal_min_ratio else "NO"

    @classmethod
    def of_pairs(
        cls, name: str, unit: str, app: Sequence[float], base: Sequence[float], **kwargs: object
    ) -> Result:
        """A row from interleaved pairs of rates (higher is better): the medians as
        value and baseline, and the median of the pairs' ratios as the ratio."""
        return cls(
            name,
            statistics.median(app),
            unit,
            baseline=statistics.median(base),
            repeats=len(app),
            pair_ratios=[a / b for a, b in zip(app, base, strict=True) if b],
            **kwargs,  # type: ignore[arg-type]
        )


def interleaved(
    pairs: int, app: Callable[[], float], base: Callable[[], float]
) -> tuple[list[float], list[float]]:
    """Measure ``pairs`` pairs of (app, baseline) figures, alternating which goes
    first (so a drift of the machine hits both sides alike)."""
    app_figures: list[float] = []
    base_figures: list[float] = []
    for i in range(pairs):
        if i % 2:
            app_figures.append(app())
            base_figures.append(base())
        else:
            base_figures.append(base())
            app_figures.append(app())
    return app_figures, base_figures
