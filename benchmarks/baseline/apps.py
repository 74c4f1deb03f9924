from django.apps import AppConfig


class BaselineConfig(AppConfig):
    """The baselines' models (tables made by ``migrate --run-syncdb``: no migrations)."""

    name = "benchmarks.baseline"
    label = "bench_baseline"
    default_auto_field = "django.db.models.BigAutoField"
