"""The report of a benchmark run: the machine, and one table of every row of every
database pass (``benchmarks/RESULTS.md``, and the same table on the terminal)."""

from __future__ import annotations

import json
import os
import platform
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from benchmarks import Result

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Pass:
    """One database pass of the run: its rows, seconds per benchmark, failures."""

    db: str  # "sqlite" or "postgresql"
    db_version: str  # e.g. "PostgreSQL 15.20 (CONN_MAX_AGE=600)"
    rows: list[Result]
    seconds: dict[str, float]
    errors: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> str:
        data = asdict(self)
        data["rows"] = [asdict(r) for r in self.rows]
        return json.dumps(data)

    @classmethod
    def from_json(cls, text: str) -> Pass:
        data = json.loads(text)
        data["rows"] = [Result(**row) for row in data["rows"]]
        return cls(**data)


def _package_version(name: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def _soketi_version() -> str:
    package = ROOT / "node_modules" / "@soketi" / "soketi" / "package.json"
    try:
        return str(json.loads(package.read_text())["version"])
    except (OSError, ValueError, KeyError):
        return "not installed"


def machine() -> dict[str, str]:
    """What the figures were measured on (the databases are in each pass)."""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "?"
    return {
        "cores": f"{os.cpu_count()} ({usable} usable)",
        "CPU": platform.processor() or platform.machine(),
        "OS": f"{platform.system()} {platform.release()}",
        "Python": platform.python_version(),
        "Django": _package_version("django"),
        "pusher": _package_version("pusher"),
        "soketi": _soketi_version(),
        "load average at start": load,
    }


def _num(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:,.2f}" if abs(value) < 10 else f"{value:,.1f}"


def _counts(statements: float | None, commits: float | None) -> str:
    parts = []
    if statements is not None:
        parts.append(f"{statements:.3g} stmt")
    if commits is not None:
        parts.append(f"{commits:.3g} commit")
    return ", ".join(parts) or "-"


def per_op(row: Result) -> str:
    """Statements and commits per operation: app / baseline."""
    if row.statements is None and row.commits is None:
        return ""
    text = _counts(row.statements, row.commits)
    if row.baseline_statements is not None or row.baseline_commits is not None:
        text += " / " + _counts(row.baseline_statements, row.baseline_commits)
    return text + (f" per {row.op}" if row.op else "")


def cells(row: Result, db: str) -> list[str]:
    ratio = f"{row.ratio:.2f}" if row.ratio is not None else ""
    return [
        row.name.strip(),
        row.db or db,
        f"{_num(row.value)} {row.unit}",
        _num(row.baseline),
        ratio,
        str(row.repeats or ""),
        row.goal,
        row.met,
        per_op(row),
    ]


COLUMNS = ["benchmark", "database", "app", "baseline", "ratio", "pairs", "goal", "met", "per op"]


def _goals(passes: list[Pass]) -> tuple[int, list[str]]:
    met, missed = 0, []
    for p in passes:
        for row in p.rows:
            if row.met == "yes":
                met += 1
            elif row.met == "NO":
                missed.append(
                    f"{row.name.strip()} [{row.db or p.db}]: {row.ratio or row.value:.2f}"
                )
    return met, missed


def markdown(
    passes: list[Pass], machine: dict[str, str], *, command: str, quick: bool, elapsed: float
) -> str:
    """RESULTS.md: how it was made, the machine, one table, the goals, the time."""
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    kind = "quick run (fewer iterations: CI's)" if quick else "full run"
    lines = [
        "# Benchmark results",
        "",
        f"Written by `{command}` on {when}: {kind}, {elapsed:.0f} s in all.",
        "Reproduce with `make bench` (both databases; `python -m benchmarks --help`).",
        "",
        "Each figure is measured against its baseline in the same run. `ratio` is app / "
        "baseline (for rates: higher is better); with `pairs`, it is the median of that many "
        "interleaved pairs' ratios and `app` / `baseline` are the medians of each side.",
        "",
        "Machine: " + "; ".join(f"{k} {v}" for k, v in machine.items()) + ".",
        "Databases: " + "; ".join(f"{p.db}: {p.db_version}" for p in passes) + ".",
        "",
        "| " + " | ".join(COLUMNS) + " |",
        "|" + "---|" * len(COLUMNS),
    ]
    for p in passes:
        lines += ["| " + " | ".join(cells(row, p.db)) + " |" for row in p.rows]
    met, missed = _goals(passes)
    lines += ["", f"{met} of {met + len(missed)} goals met."]
    lines += [f"- not met: {m}" for m in missed]
    failures = [(p.db, name, error) for p in passes for name, error in p.errors.items()]
    if failures:
        lines += ["", "Benchmarks that failed (no figures):"]
        lines += [f"- {name} [{db}]: {error}" for db, name, error in failures]
    names = sorted({name for p in passes for name in p.seconds})
    lines += ["", "Seconds per benchmark:", "", "| benchmark | " + " | ".join(p.db for p in passes)]
    lines[-1] += " |"
    lines.append("|---|" + "---|" * len(passes))
    for name in names:
        lines.append(
            f"| {name} | " + " | ".join(f"{p.seconds.get(name, 0):.0f}" for p in passes) + " |"
        )
    return "\n".join(lines) + "\n"


def text_table(passes: list[Pass]) -> str:
    """The same table for the terminal."""
    widths = [58, 10, 20, 11, 6, 5, 8, 4]
    head = " ".join(f"{c:<{w}}" for c, w in zip(COLUMNS, widths, strict=False)) + " per op"
    out = [head, "-" * len(head)]
    for p in passes:
        for row in p.rows:
            values = cells(row, p.db)
            values[0] = values[0][:58]
            out.append(
                " ".join(f"{v:<{w}}" for v, w in zip(values, widths, strict=False))
                + " "
                + values[-1]
            )
    for p in passes:
        out += [f"FAILED {name} [{p.db}]: {error}" for name, error in p.errors.items()]
    return "\n".join(out)
