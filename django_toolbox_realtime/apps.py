from django.apps import AppConfig

from .conf import on_reload, realtime_settings
from .delivery import options
from .exceptions import RealtimeConfigurationError


def install_celery_when_chosen() -> None:
    """``DELIVERY = "celery"``: install the dispatcher that enqueues the deliver task
    after commit (and register the tasks with every Celery app). Run at start-up and
    on every settings change (override_settings). Celery is an optional dependency,
    imported here only when chosen; E030 reports a missing one."""
    try:
        chosen = realtime_settings.raw("DELIVERY") == options.CELERY
    except RealtimeConfigurationError:  # unreadable settings: E009 says why
        return
    if chosen and options.celery_installed():
        from .contrib.celery import enqueue

        enqueue.install()


class ToolboxRealtimeConfig(AppConfig):
    name = "django_toolbox_realtime"
    label = "django_toolbox_realtime"
    verbose_name = "Realtime"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Imported here, not at the top: these modules import the app's models, which
        # Django's app registry loads only after every AppConfig is created (start-up
        # order, not a cycle). Registers the system checks (decorators run on import)
        # and the receivers: policy-version bumps, and REVOKE_ON_USER_CHANGE's
        # detection (authorization) and termination (delivery). Nothing heavy here.
        from . import checks  # noqa: F401
        from .authorization import invalidation, revocation
        from .delivery import revocation as delivery_revocation

        invalidation.connect_receivers()
        revocation.connect_receivers()
        delivery_revocation.connect_receivers()
        # Model broadcasting: every app's realtime.py (as admin autodiscovery does)
        # and TOOLBOX_REALTIME["MODELS"]; connects each registered model's receivers.
        from .bridge import registry as broadcast_registry

        broadcast_registry.autodiscover()
        install_celery_when_chosen()
        on_reload(install_celery_when_chosen)
