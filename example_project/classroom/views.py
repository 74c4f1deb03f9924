"""API views of the example project."""

from __future__ import annotations

from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.renderers import JSONRenderer


class TokenView(ObtainAuthToken):
    """``POST /api/v1/auth/token`` with ``username`` and ``password`` (form or JSON)
    -> ``{"token": "..."}``; use it as ``Authorization: Bearer <token>``."""

    renderer_classes = [JSONRenderer]
