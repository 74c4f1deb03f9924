"""SECURITY_CASES.md as one table: every case by its number (pytest ids
``case-01-...``), each row a compact re-statement (request → expected status or
effect) that asserts on its own. The rows live in ``cases/`` by section; the
meta-test checks that every numbered case of the list has exactly one row.

The list is kept next to this file (``SECURITY_CASES.md``, a copy of
``../shared/SECURITY_CASES.md``) and compared with the shared one when it is there.
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path
from typing import Any

import pytest

from tests.security.cases import CASES
from tests.security.cases import channel_auth as _channel_auth  # noqa: F401  (cases 1-12)
from tests.security.cases import delivery as _delivery  # noqa: F401  (21-28)
from tests.security.cases import outside as _outside  # noqa: F401  (29-39)
from tests.security.cases import webhooks as _webhooks  # noqa: F401  (13-20)

LIST = Path(__file__).with_name("SECURITY_CASES.md")
SHARED = Path(__file__).resolve().parents[3] / "shared" / "SECURITY_CASES.md"


def listed_numbers(path: Path) -> list[int]:
    return [int(n) for n in re.findall(r"(?m)^(\d+)\. ", path.read_text(encoding="utf-8"))]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "number", sorted(CASES), ids=[f"case-{n:02d}-{CASES[n][0]}" for n in sorted(CASES)]
)
def test_case(number: int, request: Any) -> None:
    _, check = CASES[number]
    check(**{name: request.getfixturevalue(name) for name in inspect.signature(check).parameters})


def test_every_listed_case_has_a_row() -> None:
    numbers = listed_numbers(LIST)
    assert numbers == list(range(1, len(numbers) + 1)), "the list is numbered 1..n"
    assert sorted(CASES) == numbers


def test_the_copy_is_the_shared_list() -> None:
    """The copy here is what CI reads; while ../shared/ exists it must say the same."""
    assert len(listed_numbers(LIST)) >= 39
    if SHARED.exists():
        assert LIST.read_text(encoding="utf-8") == SHARED.read_text(encoding="utf-8")
