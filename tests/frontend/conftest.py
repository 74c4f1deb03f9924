"""Helpers of the front-end tests: render the tag, read the JSON it holds."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.template import engines
from django.test import RequestFactory

SCRIPT = re.compile(
    r'<script id="(?P<id>[^"]+)" type="application/json">(?P<json>.*?)</script>', re.S
)


def render(source: str = "{% load realtime %}{% realtime_config %}", request: Any = None) -> str:
    """The HTML of ``source`` rendered for ``request`` (a GET of / by default)."""
    request = request or RequestFactory().get("/")
    return engines["django"].from_string(source).render({}, request)


def config_of(html: str, element_id: str = "realtime-config") -> dict[str, Any]:
    """The JSON object of the ``<script id=element_id>`` in ``html``."""
    for match in SCRIPT.finditer(html):
        if match.group("id") == element_id:
            return json.loads(match.group("json"))  # type: ignore[no-any-return]
    raise AssertionError(f"no script #{element_id} in {html[:300]!r}")


@pytest.fixture
def realtime(settings: Any) -> Any:
    """``realtime(**keys)``: TOOLBOX_REALTIME with ``keys`` changed, for this test."""

    def change(**keys: Any) -> dict[str, Any]:
        settings.TOOLBOX_REALTIME = {**settings.TOOLBOX_REALTIME, **keys}
        return settings.TOOLBOX_REALTIME  # type: ignore[no-any-return]

    return change
