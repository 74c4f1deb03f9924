"""Settings of the example project: everything from environment variables.

Copy ``.env.example`` to ``.env`` (or export the variables). Defaults match the
local soketi that ``make demo`` starts, and SQLite.
"""

from pathlib import Path

import environ

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
CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://")}

AUTH_PASSWORD_VALIDATORS: list[dict[str, str]] = []  # demo users use a short shared password
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
# The demo dashboard loads pusher-js from the npm package that `make demo` installs.
STATICFILES_DIRS = [
    p for p in [BASE_DIR / "node_modules" / "pusher-js" / "dist" / "web"] if p.exists()
]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "django_toolbox_realtime.authentication.BearerTokenAuthentication",
    ],
}

# The brief's variable names. Defaults match the soketi that `make demo` starts.
TOOLBOX_REALTIME = {
    "ENABLED": env.bool("PUSHER_ENABLED", default=True),
    "APP_ID": env("PUSHER_APP_ID", default="424242"),
    "KEY": env("PUSHER_KEY", default="demo-key"),
    "SECRET": env("PUSHER_SECRET", default="demo-secret-7ad3773142a6692b25b8"),
    "CLUSTER": env("PUSHER_CLUSTER", default="") or None,
    "HOST": env("PUSHER_HOST", default="127.0.0.1") or None,
    "PORT": env.int("PUSHER_PORT", default=6001),
    "SSL": env.bool("PUSHER_SSL", default=False),
    "ENCRYPTION_MASTER_KEY_BASE64": env("PUSHER_ENCRYPTION_MASTER_KEY_BASE64", default="") or None,
    # soketi sends member_removed at once: a page reload must not flap a user offline.
    "PRESENCE_GRACE_SECONDS": env.int("PUSHER_PRESENCE_GRACE_SECONDS", default=5),
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"django_toolbox_realtime": {"handlers": ["console"], "level": "INFO"}},
}
