"""Run every benchmark on SQLite and on PostgreSQL, print one table and write the
report: ``python -m benchmarks [--quick] [name ...]`` (``make bench``).

Each database pass is this module run again in a child process with
``DATABASE_URL`` set (``--pass-output``): a fresh interpreter and connection per
database, bounded by ``--pass-timeout``. A full run writes
``benchmarks/RESULTS.md``; a quick one (CI's) ``build/RESULTS-quick.md`` so it
never overwrites the full figures. A figure below its goal never fails the run;
a benchmark that crashes, or a pass that cannot run, does (exit status 1).
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path
from urllib.parse import urlsplit

from benchmarks.report import Pass, machine, markdown, text_table

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SQLITE_URL = "sqlite://:memory:"
PG_URL = "postgres://postgres@127.0.0.1:5432/toolbox_realtime_bench?conn_max_age=600"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("names", nargs="*", help="only these (e.g. delivery auth)")
    parser.add_argument("--quick", action="store_true", help="fewer iterations (CI)")
    parser.add_argument(
        "--databases",
        default="sqlite,postgresql",
        help="comma-separated passes to run (default: sqlite,postgresql)",
    )
    parser.add_argument(
        "--pg-url",
        default=os.environ.get("BENCH_PG_URL", PG_URL),
        help="the PostgreSQL database of the second pass, created if missing "
        f"(default: $BENCH_PG_URL or {PG_URL})",
    )
    parser.add_argument(
        "--output",
        help="report path (default: benchmarks/RESULTS.md, or build/RESULTS-quick.md with --quick)",
    )
    parser.add_argument("--pass-timeout", type=float, default=480.0, help="seconds per pass")
    parser.add_argument("--pass-output", help=argparse.SUPPRESS)  # set for a child pass
    return parser


def _modules(names: list[str]) -> list[str]:
    found = sorted(i.name for i in pkgutil.iter_modules([str(HERE)]) if i.name.startswith("bench_"))
    return [m for m in found if not names or m[len("bench_") :] in names]


def _db_version() -> tuple[str, str]:
    from django.db import connection

    if connection.vendor == "sqlite":
        import sqlite3

        where = "in memory" if getattr(connection, "is_in_memory_db", bool)() else "file"
        return "sqlite", f"SQLite {sqlite3.sqlite_version} ({where})"
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        version = cursor.fetchone()[0].split()[0]
    cma = connection.settings_dict.get("CONN_MAX_AGE")
    return connection.vendor, f"PostgreSQL {version} (CONN_MAX_AGE={cma})"


def run_pass(names: list[str], quick: bool, output: str) -> int:
    """One database pass, in this process: every benchmark, rows to ``output``."""
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    db, version = _db_version()
    result = Pass(db, version, [], {})
    for module_name in _modules(names):
        short = module_name[len("bench_") :]
        print(f"[{db}] running {short} ...", flush=True)
        started = time.perf_counter()
        try:
            module = importlib.import_module(f"benchmarks.{module_name}")
            rows = module.run(quick=quick)
        except Exception as exc:  # reported in the table, and the run fails
            traceback.print_exc()
            result.errors[short] = f"{type(exc).__name__}: {exc}"[:300]
            rows = []
        result.seconds[short] = time.perf_counter() - started
        for row in rows:
            row.db = row.db or db
        result.rows += rows
    Path(output).write_text(result.to_json())
    return 0


def ensure_database(url: str) -> None:
    """Create the PostgreSQL database of ``url`` if it does not exist."""
    import psycopg

    parts = urlsplit(url)
    name = parts.path.strip("/")
    with psycopg.connect(
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 5432,
        user=parts.username or "postgres",
        password=parts.password,
        dbname="postgres",
        autocommit=True,
        connect_timeout=10,
    ) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            return
        conn.execute(f'CREATE DATABASE "{name}"')  # noqa: S608 (the operator's own name)


def _child(db: str, url: str, args: argparse.Namespace, out: Path) -> Pass:
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "benchmarks.settings"}
    command = [sys.executable, "-m", "benchmarks", "--pass-output", str(out), *args.names]
    if args.quick:
        command.append("--quick")
    try:
        done = subprocess.run(command, cwd=ROOT, env=env, timeout=args.pass_timeout, check=False)
    except subprocess.TimeoutExpired:
        return Pass(db, "?", [], {}, {"(pass)": f"stopped after {args.pass_timeout:.0f} s"})
    if done.returncode != 0 or not out.exists():
        return Pass(db, "?", [], {}, {"(pass)": f"exited with status {done.returncode}"})
    return Pass.from_json(out.read_text())


def main() -> int:
    args = _parser().parse_args()
    if args.pass_output:
        return run_pass(args.names, args.quick, args.pass_output)
    started = time.perf_counter()
    about = machine()
    urls = {"sqlite": SQLITE_URL, "postgresql": args.pg_url}
    passes: list[Pass] = []
    with tempfile.TemporaryDirectory() as tmp:
        for db in [d.strip() for d in args.databases.split(",") if d.strip()]:
            if db not in urls:
                print(f"unknown database {db!r}: use sqlite and/or postgresql", file=sys.stderr)
                return 2
            if db == "postgresql":
                try:
                    ensure_database(args.pg_url)
                except Exception as exc:
                    message = f"cannot reach the database of --pg-url / BENCH_PG_URL: {exc}"
                    passes.append(Pass(db, "?", [], {}, {"(pass)": message}))
                    continue
            passes.append(_child(db, urls[db], args, Path(tmp) / f"{db}.json"))
    elapsed = time.perf_counter() - started
    print("\n" + text_table(passes))
    default = ROOT / ("build/RESULTS-quick.md" if args.quick else "benchmarks/RESULTS.md")
    output = Path(args.output) if args.output else default
    output.parent.mkdir(parents=True, exist_ok=True)
    command = "python -m benchmarks " + " ".join(sys.argv[1:])
    output.write_text(
        markdown(passes, about, command=command.strip(), quick=args.quick, elapsed=elapsed)
    )
    print(f"\nwrote {output} ({elapsed:.0f} s)")
    return 1 if any(p.errors for p in passes) else 0


if __name__ == "__main__":
    raise SystemExit(main())
