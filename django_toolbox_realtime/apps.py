from django.apps import AppConfig


class ToolboxRealtimeConfig(AppConfig):
    name = "django_toolbox_realtime"
    label = "django_toolbox_realtime"
    verbose_name = "Realtime"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Registers the system checks (decorators run on import) and the channel
        # authorization receivers (authorization-version bumps, and the optional
        # REVOKE_ON_USER_CHANGE); nothing heavy here.
        from . import checks, policies, revocation  # noqa: F401

        policies.connect_receivers()
        revocation.connect_receivers()
