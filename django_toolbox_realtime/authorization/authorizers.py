"""Code-registered channel authorizers, for object-level rules (Laravel-style).

Put them in a ``realtime.py`` module of any installed app (imported on first use)::

    from django_toolbox_realtime import authorizers as realtime

    @realtime.channel("presence-classroom-{id}")
    def classroom(user, id):
        room = Classroom.objects.filter(pk=id).first()
        if room is None or not room.has_member(user):
            return False
        return {"seat": room.seat_of(user)}   # merged into presence user_info

An authorizer gets the user and the placeholder values (strings) as keyword
arguments and returns ``False`` (deny), ``True`` (allow) or a dict (allow; on a
presence channel the dict is merged into the member's ``user_info``). It adds to a
matching :class:`~django_toolbox_realtime.models.ChannelPolicy`: both must allow.
An exception inside an authorizer denies (and is logged): access fails closed.

The reserved placeholder ``{user}`` works here as in policies: the channel matches
only when its value is the requesting user's own id (checked before the function
is called), and it is not passed as a keyword argument (the function already gets
the user).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import autodiscover_modules

from ..validation import SIGNED_KINDS
from .patterns import ChannelPattern, PatternIndex, compile_pattern

#: The module name looked for in every installed app.
MODULE_NAME = "realtime"


@dataclass(frozen=True)
class Authorizer:
    pattern: ChannelPattern
    func: Callable[..., Any]

    @property
    def name(self) -> str:
        return f"{self.func.__module__}.{self.func.__qualname__}"

    def __str__(self) -> str:
        return f"{self.name} for {self.pattern.source}"


_registry: dict[str, Authorizer] = {}
_index: PatternIndex | None = None
_discovered = False
_lock = threading.RLock()


def channel(pattern: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register the decorated function as the authorizer of ``pattern``."""
    compiled = compile_pattern(pattern)
    if compiled.kind not in SIGNED_KINDS:
        raise ImproperlyConfigured(
            f"@realtime.channel({pattern!r}): public channels cannot be authorized."
        )

    def decorator(func: Callable[..., Any]) -> Callable[..., Any]:
        global _index
        with _lock:
            existing = _registry.get(pattern)
            if existing is not None and existing.name != Authorizer(compiled, func).name:
                raise ImproperlyConfigured(
                    f"Two authorizers for {pattern!r}: {existing.name} and "
                    f"{func.__module__}.{func.__qualname__}."
                )
            _registry[pattern] = Authorizer(compiled, func)
            _index = None
        return func

    return decorator


def unregister(pattern: str) -> None:
    """Remove the authorizer of ``pattern`` (for tests)."""
    global _index
    with _lock:
        _registry.pop(pattern, None)
        _index = None


def autodiscover() -> None:
    """Import ``<app>.realtime`` of every installed app, once."""
    global _discovered
    if _discovered:
        return
    with _lock:
        if not _discovered:
            autodiscover_modules(MODULE_NAME)
            _discovered = True


def registered() -> list[Authorizer]:
    """Every registered authorizer (after :func:`autodiscover`), by pattern."""
    autodiscover()
    with _lock:
        return [_registry[pattern] for pattern in sorted(_registry)]


def find(channel_name: str) -> tuple[Authorizer, dict[str, str]] | None:
    """The most specific authorizer matching ``channel_name`` and its placeholder
    values (exact names win over patterns), or None."""
    global _index
    autodiscover()
    index = _index
    if index is None:
        with _lock:
            index = _index = PatternIndex([(a.pattern, a) for a in _registry.values()])
    found = index.find(channel_name)
    if found is None:
        return None
    return found[1], found[2]
