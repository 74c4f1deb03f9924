"""Whether the credentials can sign: the one copy of the rule.

The system checks report every problem; the HTTP client, the auth signatures and
health refuse on the first (:func:`credentials_problem`, computed once per settings
load). Messages name the setting and never hold the secret.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .conf import SETTINGS_NAME, on_reload, realtime_settings

# Values copied from tutorials and .env templates that are not real secrets.
PLACEHOLDER_SECRETS = frozenset(
    {
        "your_secret_key",
        "your-secret-key",
        "your_secret",
        "your-secret",
        "secret",
        "changeme",
        "change-me",
        "change_me",
        "xxx",
        "xxxx",
        "pusher_secret",
        "your_pusher_secret",
        "app-secret",
        "app_secret",
        "<secret>",
        "todo",
    }
)


def is_placeholder_secret(value: Any) -> bool:
    """Whether ``value`` is a tutorial placeholder rather than a real secret."""
    return str(value).strip().lower() in PLACEHOLDER_SECRETS


@dataclass(frozen=True)
class CredentialProblem:
    """Why ``APP_ID`` / ``KEY`` / ``SECRET`` are unusable: the setting it is about,
    a message that never holds the secret, and ``missing`` when it is not set."""

    setting: str
    message: str
    missing: bool = False


def credential_problems() -> list[CredentialProblem]:
    """Every reason the credentials cannot sign, in the order they are reported.

    The one copy of the rule: the system checks report each, the HTTP client and
    the auth signatures refuse on the first (see :func:`credentials_problem`).
    """
    s = realtime_settings
    problems = []
    for name in ("APP_ID", "KEY", "SECRET"):
        value = s.raw(name)
        if value is None or not str(value).strip():
            problems.append(
                CredentialProblem(name, f"{SETTINGS_NAME}['{name}'] is missing or blank.", True)
            )
    app_id = str(s.raw("APP_ID") or "")
    if app_id and not (app_id.isascii() and app_id.isdigit()):
        problems.append(
            CredentialProblem(
                "APP_ID",
                f"{SETTINGS_NAME}['APP_ID'] must be digits only (the Pusher protocol's "
                "app ids are numeric).",
            )
        )
    secret = s.raw("SECRET")
    if secret and is_placeholder_secret(secret):
        problems.append(
            CredentialProblem(
                "SECRET", f"{SETTINGS_NAME}['SECRET'] is a placeholder, not a real secret."
            )
        )
    return problems


# credentials_problem() for the current settings ("" = none; None = not computed
# since the last reload): signing and health ask on every request.
_credentials_answer: str | None = None


def credentials_problem() -> str | None:
    """The first reason the credentials cannot sign, or None. Never includes a secret."""
    global _credentials_answer
    if _credentials_answer is None:
        problems = credential_problems()
        _credentials_answer = problems[0].message if problems else ""
    return _credentials_answer or None


@on_reload
def _forget_answer() -> None:
    global _credentials_answer
    _credentials_answer = None
