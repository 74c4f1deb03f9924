"""Run ``node --test`` and read its TAP summary (``# pass N`` ...)."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
_SUMMARY = re.compile(r"^# (tests|pass|fail|cancelled|skipped|todo) (\d+)$", re.M)


@dataclass(frozen=True)
class TapRun:
    returncode: int
    output: str
    counts: dict[str, int]

    def explain(self) -> str:
        return f"node --test exited {self.returncode}; {self.counts}\n{self.output[-4000:]}"


def node_test(
    paths: Sequence[str], env: Mapping[str, str] | None = None, timeout: float = 180
) -> TapRun:
    """``node --test`` on ``paths`` (relative to the repository), TAP on stdout."""
    result = subprocess.run(
        ["node", "--test", "--test-reporter=tap", *paths],
        cwd=ROOT,
        env=None if env is None else dict(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    output = result.stdout + result.stderr
    counts = {name: int(value) for name, value in _SUMMARY.findall(result.stdout)}
    return TapRun(result.returncode, output, counts)
