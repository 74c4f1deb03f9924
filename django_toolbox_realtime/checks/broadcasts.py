"""Model broadcasting: registered models and ``TOOLBOX_REALTIME['MODELS']``
(E040-E047, W040; the rules live in ``bridge/checks.py``, shared with registration)."""

from __future__ import annotations

from typing import Any

from django.core.checks import CheckMessage, Tags, register

from ..bridge import registry as broadcast_registry


@register(Tags.compatibility)
def check_broadcasts(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """E040-E047, W040: registered models and TOOLBOX_REALTIME['MODELS'] (bridge/checks.py)."""
    return broadcast_registry.check_messages()
