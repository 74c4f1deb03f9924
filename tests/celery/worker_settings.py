"""Settings of the Celery worker (and beat) subprocesses of these tests: the test
settings with ``RT_SETTINGS`` (JSON) applied over ``TOOLBOX_REALTIME``, so that the
app's ``ready()`` sees ``DELIVERY = "celery"`` at start-up, as in production.
``DATABASE_URL`` names the database the test shares with them."""

import json
import os

from tests.settings import *  # noqa: F403
from tests.settings import TOOLBOX_REALTIME as _TEST_REALTIME

TOOLBOX_REALTIME = {**_TEST_REALTIME, **json.loads(os.environ.get("RT_SETTINGS", "{}"))}
