"""Run every benchmark and print a table: ``python -m benchmarks [--quick] [name ...]``."""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("names", nargs="*", help="only these (e.g. delivery auth)")
    parser.add_argument("--quick", action="store_true", help="fewer iterations")
    args = parser.parse_args()

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchmarks.settings")
    import django

    django.setup()
    from benchmarks import Result

    rows: list[Result] = []
    here = Path(__file__).resolve().parent
    for info in sorted(pkgutil.iter_modules([str(here)]), key=lambda i: i.name):
        if not info.name.startswith("bench_"):
            continue
        short = info.name[len("bench_") :]
        if args.names and short not in args.names:
            continue
        module = importlib.import_module(f"benchmarks.{info.name}")
        print(f"running {short} ...", flush=True)
        rows.extend(module.run(quick=args.quick))

    header = f"{'benchmark':<60} {'value':>20} {'baseline':>12} {'ratio':>6} {'goal':>7} {'met':>4}"
    print("\n" + header + "\n" + "-" * len(header))
    for r in rows:
        value = f"{r.value:,.1f} {r.unit}"
        base = f"{r.baseline:,.1f}" if r.baseline is not None else ""
        ratio = f"{r.ratio:.2f}" if r.ratio is not None else ""
        print(f"{r.name[:60]:<60} {value:>20} {base:>12} {ratio:>6} {r.goal:>7} {r.met:>4}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
