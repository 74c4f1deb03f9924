from django.apps import AppConfig


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
