"""One JSON shape for every refusal of the example's API views:
``{"error": "<code>", "detail": "<sentence>"}`` (the shape of the app's own auth
views). Field errors of a form (wrong credentials at the token endpoint) keep DRF's
``{"field": ["..."]}`` shape; headers such as ``Retry-After`` are kept.
"""

from __future__ import annotations

from typing import Any

from rest_framework import exceptions
from rest_framework.response import Response

CODES = {
    400: "bad_request",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "too_large",
    415: "unsupported_media_type",
    429: "throttled",
}


def refusal(status: int, code: str, detail: str, **extra: Any) -> Response:
    return Response({"error": code, "detail": detail, **extra}, status=status)


class JSONErrorsMixin:
    """For an ``APIView``: DRF's error responses in the project's shape."""

    def handle_exception(self, exc: Exception) -> Response:
        response: Response = super().handle_exception(exc)  # type: ignore[misc]
        if isinstance(exc, exceptions.ValidationError):
            return response
        data = response.data
        if isinstance(data, dict) and set(data) == {"detail"}:
            if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
                code = "not_authenticated"
            else:
                code = CODES.get(response.status_code, "error")
            response.data = {"error": code, "detail": str(data["detail"])}
        return response
