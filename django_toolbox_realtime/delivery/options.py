"""The delivery settings, read and checked in one place: the runtime refuses what
the system checks (``toolbox_realtime.E030``-``E033``) report, with the same words.
E030 covers ``DELIVERY`` and, in celery mode, Celery itself and ``CELERY_*``.
"""

from __future__ import annotations

import functools
import importlib.util
import random
from dataclasses import dataclass

from ..conf import SETTINGS_NAME, on_reload, realtime_settings
from ..exceptions import RealtimeConfigurationError
from ..validation import is_int, is_number

OUTBOX, IMMEDIATE, CELERY = "outbox", "immediate", "celery"
MODES = (OUTBOX, IMMEDIATE, CELERY)
#: The modes that write outbox rows in the caller's transaction.
WITH_ROWS = (OUTBOX, CELERY)
BACKGROUND, INLINE, OFF = "background", "inline", "off"
FIRST_ATTEMPTS = (BACKGROUND, INLINE, OFF)

#: Settings that are a number of seconds (> 0, or >= 0 where zero makes sense).
_POSITIVE = ("RETRY_BASE_SECONDS", "RETRY_MAX_SECONDS", "WORKER_POLL_SECONDS")
_NON_NEGATIVE = ("FIRST_ATTEMPT_GRACE_SECONDS", "HISTORY_MAX_AGE_SECONDS")
_COUNTS = ("MAX_ATTEMPTS",)
_NON_NEGATIVE_COUNTS = ("HISTORY_MAX_PER_CHANNEL",)
_THRESHOLDS = ("HEALTH_DELIVERY_PENDING", "HEALTH_DELIVERY_AGE_SECONDS", "HEALTH_DELIVERY_FAILED")


def _name(setting: str) -> str:
    return f"{SETTINGS_NAME}[{setting!r}]"


@dataclass(frozen=True)
class Problem:
    """A delivery setting that cannot work: its system check number (E0nn)."""

    number: int
    message: str
    hint: str = ""


def problems() -> list[Problem]:
    """What the system checks report (none when the settings cannot even be read:
    E009 says why)."""
    try:
        return _problems()
    except RealtimeConfigurationError:
        return []


def _problems() -> list[Problem]:
    s = realtime_settings
    found: list[Problem] = []
    delivery = s.raw("DELIVERY")
    if delivery not in MODES:
        found.append(
            Problem(
                30,
                f"{_name('DELIVERY')} = {delivery!r}: use 'outbox' (rows in the caller's "
                "transaction, retried until sent), 'immediate' (sent after commit, "
                "never retried) or 'celery' (outbox rows delivered by Celery tasks; "
                "pip install django-toolbox-realtime[celery]).",
            )
        )
    elif delivery == CELERY:
        found += _celery_problems()
    first = s.raw("FIRST_ATTEMPT")
    if first not in FIRST_ATTEMPTS:
        found.append(
            Problem(
                31, f"{_name('FIRST_ATTEMPT')} = {first!r}: use 'background', 'inline' or 'off'."
            )
        )
    elif first == OFF and delivery == IMMEDIATE:
        found.append(
            Problem(
                31,
                f"{_name('FIRST_ATTEMPT')} is 'off' with {_name('DELIVERY')} = 'immediate': "
                "nothing would ever be sent.",
                "Use 'background', or DELIVERY 'outbox' with manage.py realtime_deliver.",
            )
        )
    for name in _POSITIVE + _NON_NEGATIVE:
        value = s.raw(name)
        if not is_number(value) or value < 0 or (value == 0 and name in _POSITIVE):
            least = "a positive number" if name in _POSITIVE else "a number (0 or more)"
            found.append(Problem(32, f"{_name(name)} must be {least} of seconds."))
    for name in _COUNTS + _NON_NEGATIVE_COUNTS:
        value = s.raw(name)
        smallest = 1 if name in _COUNTS else 0
        if not is_int(value) or value < smallest:
            found.append(Problem(32, f"{_name(name)} must be a whole number ({smallest} or more)."))
    base, cap = s.raw("RETRY_BASE_SECONDS"), s.raw("RETRY_MAX_SECONDS")
    if is_number(base) and is_number(cap) and cap < base:
        found.append(Problem(32, f"{_name('RETRY_MAX_SECONDS')} is below RETRY_BASE_SECONDS."))
    for name in _THRESHOLDS:
        value = s.raw(name)
        pair = list(value) if isinstance(value, (list, tuple)) else []
        if len(pair) != 2 or not all(is_number(v) and v >= 0 for v in pair) or pair[0] > pair[1]:
            found.append(
                Problem(33, f"{_name(name)} must be (warning, error): two numbers, warning first.")
            )
    return found


def celery_installed() -> bool:
    """Whether Celery can be imported (without importing it)."""
    try:
        return importlib.util.find_spec("celery") is not None
    except (ImportError, ValueError):  # ValueError: sys.modules["celery"] is None
        return False


def _celery_problems() -> list[Problem]:
    s = realtime_settings
    if not celery_installed():
        return [
            Problem(
                30,
                f"{_name('DELIVERY')} is 'celery' but Celery is not installed: "
                "pip install django-toolbox-realtime[celery] (or use 'outbox').",
            )
        ]
    found: list[Problem] = []
    queue = s.raw("CELERY_QUEUE")
    if queue is not None and not (isinstance(queue, str) and queue.strip()):
        found.append(
            Problem(
                30,
                f"{_name('CELERY_QUEUE')} must be a queue name (a non-empty string), or "
                "None for Celery's default queue.",
            )
        )
    if s.raw("CELERY_APP") is not None:
        try:
            app = s.CELERY_APP
        except RealtimeConfigurationError as exc:  # names the setting and the path
            found.append(Problem(30, str(exc)))
        else:
            if not callable(getattr(app, "send_task", None)):
                found.append(
                    Problem(
                        30,
                        f"{_name('CELERY_APP')} must be the dotted path of a Celery app "
                        f"(e.g. 'proj.celery.app'), not a {type(app).__name__}.",
                    )
                )
    return found


@functools.cache
def _celery_checked() -> bool:
    """Celery mode was checked once since the settings were last (re)loaded."""
    _refuse(30)
    return True


on_reload(_celery_checked.cache_clear)


def _refuse(number: int) -> None:
    for problem in _problems():
        if problem.number == number:
            raise RealtimeConfigurationError(problem.message)


def mode() -> str:
    """``DELIVERY`` ("outbox", "immediate" or "celery"); RealtimeConfigurationError
    otherwise, or for celery mode without Celery or with a bad CELERY_* setting."""
    value = realtime_settings.DELIVERY
    if value not in MODES:
        _refuse(30)
    if value == CELERY:
        _celery_checked()
    return str(value)


def first_attempt() -> str:
    """``FIRST_ATTEMPT`` ("background", "inline" or "off")."""
    value = realtime_settings.FIRST_ATTEMPT
    if value not in FIRST_ATTEMPTS:
        _refuse(31)
    return str(value)


def backoff_seconds(attempts: int, rng: random.Random | None = None) -> float:
    """The wait before try ``attempts + 1`` after ``attempts`` failed ones: capped
    exponential backoff with full jitter, uniform in [0, min(max, base * 2**(n-1))]."""
    s = realtime_settings
    base, cap = float(s.RETRY_BASE_SECONDS), float(s.RETRY_MAX_SECONDS)
    exponent = min(max(attempts, 1) - 1, 62)
    ceiling = min(cap, base * 2.0**exponent)
    return (rng or random).uniform(0.0, ceiling)
