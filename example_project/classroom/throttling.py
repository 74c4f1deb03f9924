"""The token endpoint's throttle (SECURITY_CASES 36: password guessing -> 429).

DRF's ``ScopedRateThrottle`` with scope ``auth_token``, whose rate is
``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["auth_token"]`` (the example's settings:
``AUTH_TOKEN_THROTTLE_RATE``, default ``5/minute``), counted per client address in
the ``default`` cache. The client address is ``REMOTE_ADDR`` unless
``REST_FRAMEWORK["NUM_PROXIES"]`` says how many proxies in front may be trusted
(``NUM_PROXIES``, default 0): a forged ``X-Forwarded-For`` does not reset the count.
"""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured
from rest_framework.settings import api_settings
from rest_framework.throttling import ScopedRateThrottle

TOKEN_SCOPE = "auth_token"


class TokenRateThrottle(ScopedRateThrottle):
    """ScopedRateThrottle that reads the rate per request: DRF binds
    ``THROTTLE_RATES`` at import, so ``override_settings`` would not reach it."""

    def get_rate(self) -> str | None:
        rates = api_settings.DEFAULT_THROTTLE_RATES
        if self.scope not in rates:
            raise ImproperlyConfigured(
                f"REST_FRAMEWORK['DEFAULT_THROTTLE_RATES'] has no rate for {self.scope!r}."
            )
        rate = rates[self.scope]
        return None if rate is None else str(rate)
