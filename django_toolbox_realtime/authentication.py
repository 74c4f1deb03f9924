"""DRF authentication classes used by the app's views (``AUTHENTICATION_CLASSES``)."""

from __future__ import annotations

from rest_framework.authentication import SessionAuthentication, TokenAuthentication


class CSRFEnforcingSessionAuthentication(SessionAuthentication):
    """Django's session login; DRF enforces the CSRF token for session-authenticated
    POSTs, so a cross-site form cannot make a logged-in browser request a signature.
    pusher-js must send ``X-CSRFToken`` in ``channelAuthorization.headers`` and
    ``userAuthentication.headers`` (see docs/authorization.md)."""


class BearerTokenAuthentication(TokenAuthentication):
    """``Authorization: Bearer <token>`` against DRF's ``authtoken`` tokens.

    Needs ``"rest_framework.authtoken"`` in ``INSTALLED_APPS``.
    """

    keyword = "Bearer"
