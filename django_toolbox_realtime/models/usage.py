"""Counts that every process adds to: messages published (the daily budget) and
webhooks rejected (health), one number per name and period.

Where (``USAGE_COUNTER``): ``"auto"`` counts in Django's default cache when every
process shares it and increments it atomically (Redis, Memcached), else in the
:class:`UsageCounter` table; ``"cache"`` and ``"database"`` choose one. A cache
increment costs no database write; a database count is one ``UPDATE`` in a
savepoint of the caller's transaction (or a transaction of its own).

If the database cannot take a count, it goes to the cache instead (and is read
back from both): a count is never lost to an outage, only less shared.

A database count is spread over a few rows (``shard``) so that transactions of
other threads that publish do not wait for each other's commit; a thread always
uses the same row, so one transaction never locks two (no deadlock). Old periods
are deleted when a new period's row is created: the table stays a few rows.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Sequence

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, models, router, transaction
from django.db.models import F, Sum
from django.utils.translation import gettext_lazy as _

from ..conf import realtime_settings

#: Cache backends whose increments every process shares, atomically.
SHARED_CACHE_BACKENDS = ("RedisCache", "PyMemcacheCache", "PyLibMCCache", "MemcachedCache")
#: The values of ``USAGE_COUNTER``.
COUNTER_CHOICES = ("auto", "cache", "database")
#: Rows of one name and period (see the module docstring).
SHARDS = 8

CACHE_KEY = "toolbox_realtime:{name}:{period}"

logger = logging.getLogger("django_toolbox_realtime.usage")


class UsageCounterManager(models.Manager["UsageCounter"]):
    def add(
        self,
        name: str,
        period: str,
        count: int,
        *,
        shard: int = 0,
        keep_from: str | None = None,
        returning: bool = False,
    ) -> int | None:
        """Add ``count`` to the row (``name``, ``period``, ``shard``); its new value
        if ``returning``. Creating a period's row deletes the rows of ``name``
        whose period sorts before ``keep_from``. In a savepoint when nested, so
        a failure leaves the caller's transaction usable."""
        alias = router.db_for_write(self.model)
        row = self.using(alias).filter(name=name, period=period, shard=shard)
        with transaction.atomic(using=alias):
            if not row.update(value=F("value") + count):
                try:
                    with transaction.atomic(using=alias):
                        self.using(alias).create(name=name, period=period, shard=shard, value=count)
                except IntegrityError:  # another process created it meanwhile
                    row.update(value=F("value") + count)
                else:
                    if keep_from is not None:
                        self.using(alias).filter(name=name, period__lt=keep_from).delete()
            return int(row.values_list("value", flat=True).get()) if returning else None

    def total(self, name: str, periods: Sequence[str]) -> int:
        found = self.filter(name=name, period__in=list(periods)).aggregate(n=Sum("value"))
        return int(found["n"] or 0)


class UsageCounter(models.Model):
    """One count of one period (see the module docstring)."""

    name = models.CharField(_("counter"), max_length=64)
    # Sortable text: "2025-01-31" (a UTC day) or "2025-01-31T12:05" (5 minutes).
    period = models.CharField(_("period"), max_length=32)
    shard = models.PositiveSmallIntegerField(default=0)
    value = models.BigIntegerField(_("count"), default=0)

    objects = UsageCounterManager()

    class Meta:
        ordering = ["name", "period", "shard"]
        constraints = [
            models.UniqueConstraint(fields=["name", "period", "shard"], name="trt_usage_unique")
        ]
        verbose_name = _("usage counter")
        verbose_name_plural = _("usage counters")

    def __str__(self) -> str:
        return f"{self.name} {self.period}: {self.value}"


def cache_is_shared() -> bool:
    """Whether the default cache is one every process shares and increments atomically."""
    backend = str(settings.CACHES.get("default", {}).get("BACKEND", ""))
    return backend.rsplit(".", 1)[-1] in SHARED_CACHE_BACKENDS


def counts_in_cache() -> bool:
    """Whether counts go to the default cache (else to the database)."""
    mode = realtime_settings.USAGE_COUNTER
    if mode == "cache":
        return True
    if mode == "database":
        return False
    return cache_is_shared()


def thread_shard() -> int:
    """This thread's row of a sharded count."""
    return (os.getpid() * 31 + threading.get_ident()) % SHARDS


def _cache_add(name: str, period: str, count: int, ttl: int) -> int:
    key = CACHE_KEY.format(name=name, period=period)
    try:
        return int(cache.incr(key, count))
    except ValueError:
        # Missing key: add() is atomic, so two first writers don't both win.
        if cache.add(key, count, ttl):
            return count
        return int(cache.incr(key, count))


def _cache_total(name: str, periods: Sequence[str]) -> int:
    keys = [CACHE_KEY.format(name=name, period=period) for period in periods]
    return sum(int(value) for value in cache.get_many(keys).values())


def add_count(
    name: str,
    period: str,
    count: int,
    *,
    ttl: int,
    sharded: bool = False,
    keep_from: str | None = None,
    returning: bool = False,
) -> int | None:
    """Add ``count`` to ``name`` for ``period`` where counts go (cache entries live
    ``ttl`` seconds). Returns the new count if ``returning`` (of this thread's
    row only, when ``sharded`` and counted in the database).

    When the database cannot take it (an outage, a broken transaction), the count
    goes to the default cache instead (read back by :func:`read_total`); what
    the cache raises is the caller's to handle.
    """
    if counts_in_cache():
        return _cache_add(name, period, count, ttl)
    shard = thread_shard() if sharded else 0
    try:
        return UsageCounter.objects.add(
            name, period, count, shard=shard, keep_from=keep_from, returning=returning
        )
    except Exception:
        logger.warning("Could not count %s in the database; using the cache.", name, exc_info=True)
        return _cache_add(name, period, count, ttl)


def read_total(name: str, periods: Sequence[str]) -> int:
    """The sum of ``name`` over ``periods``: the cache's count, plus the database's
    unless counts go to the cache."""
    cached = _cache_total(name, periods)
    if counts_in_cache():
        return cached
    try:
        return cached + UsageCounter.objects.total(name, periods)
    except Exception:
        logger.warning("Could not read %s from the database.", name, exc_info=True)
        return cached
