"""Test settings: the example project's, with test-only changes.

DATABASE_URL selects the database (SQLite in memory by default; CI also runs
the suite on PostgreSQL). Delivery goes to the in-memory locmem backend unless
a test asks for the real soketi (the ``soketi`` fixtures in conftest.py).
"""

import os

os.environ.setdefault("DATABASE_URL", "sqlite://:memory:")

from example_project.settings import *  # noqa: E402,F403
from example_project.settings import TOOLBOX_REALTIME as _DEMO_REALTIME  # noqa: E402

SECRET_KEY = "tests-only-secret-key"
DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Credentials the test soketi is started with (see tests/soketi.py).
TEST_APP_ID = "424242"
TEST_KEY = "test-key-278d425bdf160c739803"
TEST_SECRET = "test-secret-7ad3773142a6692b25b8"

TOOLBOX_REALTIME = {
    **_DEMO_REALTIME,
    "ENABLED": True,
    "APP_ID": TEST_APP_ID,
    "KEY": TEST_KEY,
    "SECRET": TEST_SECRET,
    "HOST": "127.0.0.1",
    "PORT": 9,  # nothing listens there; integration tests point at soketi
    "SSL": False,
    "TIMEOUT": 3,
    # Tests assert that a leave takes effect at once (the demo uses a grace period).
    "PRESENCE_GRACE_SECONDS": 0,
    "BACKEND": "django_toolbox_realtime.backends.locmem.LocmemBackend",
}
