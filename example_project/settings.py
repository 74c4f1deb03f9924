"""Settings of the example project: everything from environment variables.

Copy ``.env.example`` to ``.env`` (or export the variables). Defaults match the
local soketi that ``make demo`` starts, and SQLite.
"""

from pathlib import Path

import environ

from example_project.demo_defaults import DEMO_PUSHER_APP_ID, DEMO_PUSHER_KEY, DEMO_PUSHER_SECRET

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

SECRET_KEY = env("SECRET_KEY", default="demo-only-insecure-secret-key-change-me")
DEBUG = env.bool("DEBUG", default=True)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_toolbox_realtime",
    "example_project.classroom",
]

MIDDLEWARE = [
    # First: a non-numeric Content-Length is a 400 before anything reads the body.
    "example_project.classroom.middleware.ContentLengthMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # X-Socket-ID: events a request sends skip the browser that made the change.
    "django_toolbox_realtime.middleware.SocketIDMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "example_project.urls"
WSGI_APPLICATION = "example_project.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "example_project" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
# Shared by every process of the demo (runserver, manage.py commands, workers), so a
# policy or group change applies at once in each: the database cache (`make demo`
# runs `manage.py createcachetable`), or Redis with CACHE_URL=redis://127.0.0.1:6379/1.
# It also keeps the token endpoint's throttle counts.
CACHES = {"default": env.cache("CACHE_URL", default="dbcache://toolbox_realtime_cache")}

# Accepted submissions each student has per quiz (classroom.E002 checks it). Every
# attempt returns its score, so more than one lets a student test guesses.
QUIZ_MAX_ATTEMPTS = env.int("QUIZ_MAX_ATTEMPTS", default=1)

AUTH_PASSWORD_VALIDATORS: list[dict[str, str]] = []  # demo users use a short shared password
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
# The dashboard's own CSS and JS, and two npm packages that `make demo` installs (no
# build step, nothing vendored): pusher-js at static/vendor/pusher/pusher.min.js and
# Pico.css at static/vendor/pico/pico.min.css.
_NPM = BASE_DIR / "node_modules"
STATICFILES_DIRS = [BASE_DIR / "example_project" / "static"] + [
    (prefix, path)
    for prefix, path in [
        ("vendor/pusher", _NPM / "pusher-js" / "dist" / "web"),
        ("vendor/pico", _NPM / "@picocss" / "pico" / "css"),
    ]
    if path.exists()
]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "django_toolbox_realtime.authentication.BearerTokenAuthentication",
    ],
    # POST /api/v1/auth/token, per client address: password guessing gets 429.
    "DEFAULT_THROTTLE_RATES": {
        "auth_token": env("AUTH_TOKEN_THROTTLE_RATE", default="5/minute"),
    },
    # Proxies in front whose X-Forwarded-For is trusted for the client address; 0:
    # REMOTE_ADDR only (DRF's default, None, believes any forged X-Forwarded-For).
    "NUM_PROXIES": env.int("NUM_PROXIES", default=0),
}

# The brief's variable names. Defaults match the soketi that `make demo` starts; with
# DEBUG=False the demo secret is refused (system check classroom.E001).
TOOLBOX_REALTIME = {
    "ENABLED": env.bool("PUSHER_ENABLED", default=True),
    "APP_ID": env("PUSHER_APP_ID", default=DEMO_PUSHER_APP_ID),
    "KEY": env("PUSHER_KEY", default=DEMO_PUSHER_KEY),
    "SECRET": env("PUSHER_SECRET", default=DEMO_PUSHER_SECRET),
    "CLUSTER": env("PUSHER_CLUSTER", default="") or None,
    "HOST": env("PUSHER_HOST", default="127.0.0.1") or None,
    "PORT": env.int("PUSHER_PORT", default=6001),
    "SSL": env.bool("PUSHER_SSL", default=False),
    "ENCRYPTION_MASTER_KEY_BASE64": env("PUSHER_ENCRYPTION_MASTER_KEY_BASE64", default="") or None,
    # soketi sends member_removed at once: a page reload must not flap a user offline.
    "PRESENCE_GRACE_SECONDS": env.int("PUSHER_PRESENCE_GRACE_SECONDS", default=5),
    # Bearer token for monitors that need health's full report (names, details).
    "HEALTH_TOKEN": env("HEALTH_TOKEN", default="") or None,
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"django_toolbox_realtime": {"handlers": ["console"], "level": "INFO"}},
}
