"""pusher-js authorization endpoints: ``POST auth`` (channels) and ``POST user-auth``
(signin).

Every refusal is JSON: 403 for anonymous users, failed CSRF and denied channels
(never a redirect to a login page: pusher-js needs the status), 400 for malformed
input, 405 for anything but POST (no JSONP), 503 when the app cannot sign
(credentials or encryption master key missing). Denials all share one body, so a
client cannot tell a missing object from a forbidden one.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from typing import Any

from django.core.exceptions import SuspiciousOperation
from django.utils.module_loading import import_string
from rest_framework import exceptions as drf_exceptions
from rest_framework.authentication import SessionAuthentication
from rest_framework.negotiation import BaseContentNegotiation, DefaultContentNegotiation
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ..authorization import parsers, signing
from ..authorization.presence import user_id_for, user_info_for
from ..conf import realtime_settings
from ..exceptions import RealtimeConfigurationError, RealtimeValidationError
from ..validation import validate_socket_id
from .echo_csrf import accept_echo_csrf_header
from .subscription import DENIED, answer_subscription

logger = logging.getLogger("django_toolbox_realtime.auth")

__all__ = ["DENIED", "ChannelAuthView", "UserAuthView"]

NOT_AUTHENTICATED = {"error": "not_authenticated", "detail": "Sign in first."}


@lru_cache(maxsize=8)
def _authentication_classes(paths: tuple[str, ...]) -> tuple[type, ...]:
    """The classes named by ``AUTHENTICATION_CLASSES``, imported once per list."""
    return tuple(import_string(path) for path in paths)


def _error(status: int, code: str, detail: str) -> Response:
    return Response({"error": code, "detail": detail}, status=status)


def _sign_in_detail(request: Request) -> str:
    """The 403's detail for an anonymous request; it names the accepted
    ``Authorization`` keywords when the request sent another (never echoing it)."""
    detail = NOT_AUTHENTICATED["detail"]
    scheme = request.META.get("HTTP_AUTHORIZATION", "").split(" ", 1)[0].lower()
    keywords: list[str] = []  # the token classes' keywords, in order, once each
    for authenticator in request.authenticators or ():
        own = getattr(authenticator, "keywords", None) or [getattr(authenticator, "keyword", "")]
        keywords += [k for k in own if k and k not in keywords]
    if not scheme or not keywords or scheme in {k.lower() for k in keywords}:
        return detail
    accepted = " or ".join(f"{k} <token>" for k in keywords)
    return f"{detail} This Authorization keyword is not accepted: send Authorization: {accepted}."


def string_fields(data: Any, names: tuple[str, ...]) -> dict[str, str]:
    """The named fields of a parsed body, each exactly one string (a ParseError
    names the first that is missing or is not)."""
    values: dict[str, str] = {}
    for name in names:
        if name not in data:
            raise drf_exceptions.ParseError(f"Missing field {name!r}.")
        value = data.get(name)
        if not isinstance(value, str):
            raise drf_exceptions.ParseError(f"Field {name!r} must be a string.")
        values[name] = value
    return values


class JSONOnly(BaseContentNegotiation):
    """JSON whatever the Accept header says: these views speak only JSON (pusher-js,
    Echo and fetch callers read it), and DRF's default answers an Accept it cannot
    meet with a 406 in its own body shape, before the method or the login is checked."""

    def select_parser(self, request: Any, parsers: Any) -> Any:
        return DefaultContentNegotiation().select_parser(request, parsers)

    def select_renderer(self, request: Any, renderers: Any, format_suffix: Any = None) -> Any:
        renderer = renderers[0]
        return renderer, renderer.media_type


class _PusherAuthView(APIView):
    http_method_names = ["post"]
    content_negotiation_class = JSONOnly
    # A session login's CSRF check reads request.POST, so DRF parses the body with
    # these before the view runs; body() then reuses that parse (and parses the body
    # itself, with the same functions, for the other logins). Both refuse repeats.
    parser_classes = [parsers.StrictJSONParser, parsers.StrictFormParser]
    renderer_classes = [JSONRenderer]
    permission_classes: list[Any] = []  # the view decides (anonymous -> 403 JSON)

    def get_authenticators(self) -> list[Any]:
        # The setting is read per request (never bound at import time, so
        # override_settings works); the classes are imported once per list of paths.
        paths = tuple(realtime_settings.AUTHENTICATION_CLASSES)
        return [cls() for cls in _authentication_classes(paths)]

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        # The body is read (and its Content-Length checked) before anything else
        # can: a session login's CSRF check reads request.POST, and Django's own
        # request.body answers a lying Content-Length with a 500.
        parsers.read_body(request)
        accept_echo_csrf_header(request.META)  # Laravel Echo's X-CSRF-TOKEN, checked alike
        super().initial(request, *args, **kwargs)

    def finalize_response(self, request: Any, response: Any, *args: Any, **kwargs: Any) -> Any:
        response = super().finalize_response(request, response, *args, **kwargs)
        response["Cache-Control"] = "no-store"  # signatures are per socket: never cache
        return response

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, drf_exceptions.NotAuthenticated | drf_exceptions.AuthenticationFailed):
            # 403, not 401: pusher-js reports the status; a token class would add
            # WWW-Authenticate and 401 for the same thing.
            return _error(403, "not_authenticated", str(exc.detail))
        if isinstance(exc, drf_exceptions.PermissionDenied):  # CSRF failure
            return _error(403, "forbidden", str(exc.detail))
        if isinstance(exc, drf_exceptions.MethodNotAllowed):
            return _error(405, "method_not_allowed", "Use POST.")
        if isinstance(exc, drf_exceptions.UnsupportedMediaType):
            return _error(
                415,
                "unsupported_media_type",
                "Send application/x-www-form-urlencoded or application/json.",
            )
        if isinstance(exc, drf_exceptions.ParseError):
            return _error(400, "bad_request", str(exc.detail))
        if isinstance(exc, RealtimeValidationError):
            return _error(400, "bad_request", str(exc))
        if isinstance(exc, SuspiciousOperation):  # too many fields, body too large
            return _error(400, "bad_request", "Request body refused.")
        if isinstance(exc, RealtimeConfigurationError):
            logger.error("Realtime auth unavailable: %s", exc)
            return _error(503, "not_configured", str(exc))
        return super().handle_exception(exc)

    # --- shared steps ------------------------------------------------------------
    def authenticated_user(self, request: Request) -> Any:
        user = request.user  # runs the authentication classes (and CSRF for sessions)
        if not user or not user.is_authenticated or not getattr(user, "is_active", True):
            raise drf_exceptions.NotAuthenticated(_sign_in_detail(request))
        return user

    def body(self, request: Request) -> Any:
        """The urlencoded form or the JSON object, within Django's
        DATA_UPLOAD_MAX_MEMORY_SIZE (the body is read through ``HttpRequest.body``, in
        ``initial``, which also checks its Content-Length) and
        DATA_UPLOAD_MAX_NUMBER_FIELDS; another content type is a 415. Parsed once."""
        if isinstance(request.successful_authenticator, SessionAuthentication):
            return request.data  # already parsed for the CSRF check: reused
        # Otherwise parsed here, without DRF's content negotiation, which costs about
        # as much as the whole policy decision.
        media_type = request.content_type.partition(";")[0].strip().lower()
        if media_type == "application/x-www-form-urlencoded":
            return self.parse_form(request.body)
        if media_type == "application/json":
            return parsers.parse_strict_json(request.body)
        raise drf_exceptions.UnsupportedMediaType(media_type or "(none)")

    def parse_form(self, raw: bytes) -> Any:
        """The urlencoded body, parsed as the form parser class does."""
        return parsers.parse_form(raw)

    def fields(self, request: Request, *names: str) -> dict[str, str]:
        """The named fields, each exactly one string. Other fields are ignored
        (pusher-js may add configured params; any channel_data/user_id/user_info
        a client sends is never read)."""
        return string_fields(self.body(request), names)


class ChannelAuthView(_PusherAuthView):
    """pusher-js ``channelAuthorization`` endpoint: ``socket_id``, ``channel_name``."""

    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        user = self.authenticated_user(request)
        data = self.fields(request, "socket_id", "channel_name")
        socket_id = validate_socket_id(data["socket_id"])
        answer = answer_subscription(type(self), request, user, socket_id, data["channel_name"])
        return Response(answer.body, status=answer.status)


class UserAuthView(_PusherAuthView):
    """pusher-js ``userAuthentication`` (signin) endpoint: ``socket_id`` ->
    ``{"auth", "user_data"}`` for the signed-in user, so ``send_to_user`` reaches it."""

    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        user = self.authenticated_user(request)
        socket_id = self.fields(request, "socket_id")["socket_id"]
        body = signing.authenticate_user(socket_id, user_id_for(user), user_info_for(user))
        return Response(body)
