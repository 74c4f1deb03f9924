from django.apps import AppConfig


class ToolboxRealtimeConfig(AppConfig):
    name = "django_toolbox_realtime"
    label = "django_toolbox_realtime"
    verbose_name = "Realtime"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Registers the system checks (decorators run on import); nothing heavy here.
        from . import checks  # noqa: F401
