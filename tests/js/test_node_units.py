"""The JavaScript unit tests (``node --test tests/js/``: realtime.js, its HTTP,
batching, catch-up and state parts, and the React hooks), run by ``make test``."""

from __future__ import annotations

from tests.js.tap import node_test


def test_node_unit_tests_pass() -> None:
    run = node_test(["tests/js/"])
    assert run.returncode == 0, run.explain()
    assert run.counts.get("pass", 0) > 0, run.explain()
    assert run.counts.get("fail", -1) == 0, run.explain()
    assert run.counts.get("skipped", 0) == 0 and run.counts.get("todo", 0) == 0, run.explain()
    # The end-to-end file needs the live servers: it is run by test_realtime_e2e.py only.
    assert "realtime_e2e" not in run.output, run.explain()
