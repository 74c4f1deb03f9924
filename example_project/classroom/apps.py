from django.apps import AppConfig


class ClassroomConfig(AppConfig):
    name = "example_project.classroom"
    label = "classroom"
    verbose_name = "Classrooms (example scenario)"
    default_auto_field = "django.db.models.BigAutoField"
