"""The app's errors. Each also inherits the matching Django/Python error so that
Django's own handling (400 for SuspiciousOperation, ImproperlyConfigured at
startup, ...) does the right thing when one escapes."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ImproperlyConfigured


class RealtimeError(Exception):
    """Base class of every error raised by django-toolbox-realtime."""


class RealtimeConfigurationError(RealtimeError, ImproperlyConfigured):
    """A setting is missing or wrong. The message names the setting, never its secret value."""


class RealtimeValidationError(RealtimeError, ValueError):
    """Input breaks a protocol rule. Raised before any network call.

    ``rule`` names the rule (``"payload_size"``, ``"channel_name"``, ...),
    ``value`` is the measured value and ``limit`` the allowed one, when they apply.
    """

    def __init__(self, message: str, *, rule: str, value: Any = None, limit: Any = None) -> None:
        super().__init__(message)
        self.rule = rule
        self.value = value
        self.limit = limit


class RealtimeDeliveryError(RealtimeError):
    """The server did not accept an event (or could not be reached).

    ``status`` is the server's HTTP status (None when it was never reached),
    ``retryable`` tells whether sending again may succeed (5xx, timeouts,
    refused connections) or not (400, 401, 403, 413), ``original`` the
    underlying exception.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        retryable: bool = True,
        original: BaseException | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.retryable = retryable
        self.original = original
