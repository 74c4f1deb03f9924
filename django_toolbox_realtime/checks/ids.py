"""Helpers shared by the check modules: message ids and setting names."""

from __future__ import annotations

from ..conf import SETTINGS_NAME


def check_id(n: int, kind: str = "E") -> str:
    """``toolbox_realtime.E001``-style ids: errors ``E``, warnings ``W``."""
    return f"toolbox_realtime.{kind}{n:03d}"


def setting(name: str) -> str:
    """``TOOLBOX_REALTIME['NAME']``, as every message names a setting."""
    return f"{SETTINGS_NAME}['{name}']"
