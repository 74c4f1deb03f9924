"""The benchmark report: rows (old and new style), median ratios, the one table of
RESULTS.md with the machine, and the runner's two database passes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

from benchmarks import Result, interleaved
from benchmarks.report import Pass, markdown, text_table

ROOT = Path(__file__).resolve().parent.parent.parent


def test_rows_written_the_old_way_keep_their_ratio_and_goal() -> None:
    row = Result("trigger_batch", 90.0, "ev/s", baseline=100.0, goal=">= 0.9", goal_min_ratio=0.9)
    assert row.ratio == 0.9
    assert row.met == "yes"
    assert Result("x", 80.0, "ev/s", 100.0, ">= 0.9", 0.9).met == "NO"
    assert Result("counts", 3.0, "queries").met == ""


def test_pairs_report_the_median_of_their_ratios() -> None:
    row = Result.of_pairs("w", "batch/s", [10.0, 30.0, 20.0], [10.0, 10.0, 10.0])
    assert row.ratio == 2.0  # ratios 1, 3, 2: the median, not a mean or the best
    assert (row.value, row.baseline, row.repeats) == (20.0, 10.0, 3)


def test_interleaved_pairs_alternate_which_side_runs_first() -> None:
    order: list[str] = []
    app, base = interleaved(
        4, lambda: order.append("app") or 2.0, lambda: order.append("base") or 1.0
    )
    assert order == ["base", "app", "app", "base", "base", "app", "app", "base"]
    assert (app, base) == ([2.0] * 4, [1.0] * 4)


def test_an_absolute_goal_is_met_by_the_value() -> None:
    assert Result("p50", 6.0, "ms", goal="<= 5 ms", goal_max_value=5.0).met == "NO"
    assert Result("p50", 4.0, "ms", baseline=2.0, goal="<= 5 ms", goal_max_value=5.0).met == "yes"


def _passes() -> list[Pass]:
    rows = [
        Result.of_pairs(
            "webhook batch",
            "batch/s",
            [300.0],
            [200.0],
            goal=">= 1.0",
            goal_min_ratio=1.0,
            op="batch",
            statements=5.0,
            commits=1.0,
            baseline_statements=12.0,
            baseline_commits=1.0,
        ),
    ]
    return [
        Pass("sqlite", "SQLite 3.40.1 (in memory)", rows, {"webhooks": 4.0}),
        Pass(
            "postgresql",
            "PostgreSQL 15.20 (CONN_MAX_AGE=600)",
            [Result("webhook batch", 100.0, "batch/s", 200.0, ">= 1.0", 1.0, db="postgresql")],
            {"webhooks": 7.0},
            errors={"auth": "RuntimeError: boom"},
        ),
    ]


def test_results_are_one_table_with_database_goal_and_machine() -> None:
    machine = {"cores": "2 (2 usable)", "Python": "3.11.2", "Django": "5.2.19"}
    text = markdown(_passes(), machine, command="make bench", quick=False, elapsed=12.0)
    table = [line for line in text.splitlines() if line.startswith("|")]
    header = table[0]
    for column in ("benchmark", "database", "app", "baseline", "ratio", "pairs", "goal", "met"):
        assert column in header
    assert "| webhook batch | sqlite | 300.0 batch/s | 200.0 | 1.50 | 1 | >= 1.0 | yes |" in text
    assert "5 stmt, 1 commit / 12 stmt, 1 commit per batch" in text
    assert "| webhook batch | postgresql | 100.0 batch/s | 200.0 | 0.50 |  | >= 1.0 | NO |" in text
    assert "SQLite 3.40.1 (in memory)" in text and "PostgreSQL 15.20" in text
    assert "2 (2 usable)" in text and "Django 5.2.19" in text
    assert "1 of 2 goals met" in text
    assert "auth" in text and "RuntimeError: boom" in text  # a failure is reported, not hidden
    assert "webhook batch" in text_table(_passes())


def _bench_pg_url() -> str:
    """A PostgreSQL database of this test's own, next to the suite's one if any."""
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith("postgres"):
        parts = urlsplit(url)
        return f"postgres://{parts.netloc}/{parts.path.strip('/') or 'postgres'}_bench_runner"
    return "postgres://postgres@127.0.0.1:5432/toolbox_bench_runner"


def test_the_runner_measures_on_sqlite_and_postgresql_and_writes_the_report(tmp_path) -> None:
    output = tmp_path / "RESULTS.md"
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks",
            "--quick",
            "webhooks",
            "--pg-url",
            _bench_pg_url(),
            "--output",
            str(output),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    text = output.read_text()
    rows = [line for line in text.splitlines() if line.startswith("| webhook batch (10 events)")]
    assert [row.split(" | ")[1] for row in rows] == ["sqlite", "postgresql"]
    for row in rows:
        cells = [c.strip() for c in row.split("|")]
        assert float(cells[5]) > 0  # a measured ratio on each database
        assert cells[8] in ("yes", "NO")
    assert "PostgreSQL 1" in text and "SQLite 3." in text
    assert "quick run" in text
