"""The tests' Celery apps, configured the way docs/delivery.md tells users to.

``app``: the local Redis, database 5 (these tests' own). The worker subprocess runs
it (``celery -A tests.celery.celery_app worker``); the test process enqueues through
it (``TOOLBOX_REALTIME["CELERY_APP"] = "tests.celery.celery_app.app"``).
``unreachable``: a broker on a closed local port, with a password that must never
reach a log line.
"""

import os

from celery import Celery

from tests.soketi import free_port

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.celery.worker_settings")

BROKER = os.environ.get("RT_CELERY_BROKER", "redis://127.0.0.1:6379/5")
QUEUE = os.environ.get("RT_CELERY_QUEUE", "realtime-tests")
SWEEP_SECONDS = float(os.environ.get("RT_SWEEP_SECONDS", "1"))
BROKER_PASSWORD = "broker-password-never-logged"

app = Celery("tests_celery", broker=BROKER, set_as_current=False)
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
app.conf.task_default_queue = QUEUE
# The documented beat schedule (docs/delivery.md), every SWEEP_SECONDS here.
app.conf.beat_schedule = {
    "realtime-sweep": {
        "task": "django_toolbox_realtime.sweep",
        "schedule": SWEEP_SECONDS,
        "options": {"expires": SWEEP_SECONDS, "queue": QUEUE},
    },
}

unreachable = Celery(
    "tests_unreachable",
    broker=f"redis://:{BROKER_PASSWORD}@127.0.0.1:{free_port()}/5",
    set_as_current=False,
)
# Give up on the closed port after one quick retry (the default takes ~6 s).
unreachable.conf.broker_transport_options = {"max_retries": 1, "interval_start": 0.1}

# Tasks run at once in the committing thread, as in a project's own tests.
eager = Celery("tests_eager", set_as_current=False)
eager.conf.task_always_eager = True
