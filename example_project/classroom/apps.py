from django.apps import AppConfig

# Registers the classroom.E0xx system checks (the module imports no models).
from . import checks  # noqa: F401


class ClassroomConfig(AppConfig):
    name = "example_project.classroom"
    label = "classroom"
    verbose_name = "Classrooms (example scenario)"
    default_auto_field = "django.db.models.BigAutoField"
