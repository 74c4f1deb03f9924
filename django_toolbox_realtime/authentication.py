"""DRF authentication classes used by the app's views (``AUTHENTICATION_CLASSES``)."""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.authentication import (
    SessionAuthentication,
    TokenAuthentication,
    get_authorization_header,
)


class CSRFEnforcingSessionAuthentication(SessionAuthentication):
    """Django's session login; DRF enforces the CSRF token for session-authenticated
    POSTs, so a cross-site form cannot make a logged-in browser request a signature.
    pusher-js must send ``X-CSRFToken`` in ``channelAuthorization.headers`` and
    ``userAuthentication.headers`` (see docs/authorization.md)."""


class BearerTokenAuthentication(TokenAuthentication):
    """``Authorization: Bearer <token>`` or ``Authorization: Token <token>`` (DRF's
    own keyword) against DRF's ``authtoken`` tokens; the keyword is matched without
    regard to case, as DRF does. A header with one of these keywords but no token,
    a token with spaces or bytes that are not UTF-8, or an unknown token fails
    (403 JSON on the app's endpoints); another keyword is left to other classes.

    Needs ``"rest_framework.authtoken"`` in ``INSTALLED_APPS``: without it a token
    cannot be looked up, so the header is refused (403 JSON, never a 500) and the
    system check ``toolbox_realtime.W015`` says what to add.
    """

    keyword = "Bearer"  # the one named in WWW-Authenticate
    #: Every keyword accepted before the token.
    keywords = ("Bearer", "Token")

    def authenticate(self, request: Any) -> tuple[Any, Any] | None:
        auth = get_authorization_header(request).split()
        if not auth or auth[0].lower() not in {k.lower().encode() for k in self.keywords}:
            return None
        if not apps.is_installed("rest_framework.authtoken"):
            raise exceptions.AuthenticationFailed(
                _("Token login is not set up on this site (rest_framework.authtoken).")
            )
        if len(auth) == 1:
            raise exceptions.AuthenticationFailed(
                _("Invalid token header. No credentials provided.")
            )
        if len(auth) > 2:
            raise exceptions.AuthenticationFailed(
                _("Invalid token header. Token string should not contain spaces.")
            )
        try:
            token = auth[1].decode()
        except UnicodeError:
            raise exceptions.AuthenticationFailed(
                _("Invalid token header. Token string should not contain invalid characters.")
            ) from None
        return self.authenticate_credentials(token)  # type: ignore[no-any-return]
