from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin

from django_toolbox_realtime.admin.policies import revoke_connections

from .models import Agent, Classroom, Quiz, QuizAttempt


@admin.register(Classroom)
class ClassroomAdmin(admin.ModelAdmin):
    list_display = ("id", "name")
    search_fields = ("name",)
    filter_horizontal = ("teachers", "students")


@admin.register(Quiz)
class QuizAdmin(admin.ModelAdmin):
    list_display = ("id", "title", "classroom")
    list_filter = ("classroom",)


@admin.register(QuizAttempt)
class QuizAttemptAdmin(admin.ModelAdmin):
    """Delete a student's attempt here to give it back (QUIZ_MAX_ATTEMPTS)."""

    list_display = ("quiz", "student", "number", "score", "submitted_at")
    list_filter = ("quiz",)
    search_fields = ("student__username",)
    readonly_fields = ("quiz", "student", "number", "score", "submitted_at")

    def has_add_permission(self, request: Any) -> bool:
        return False  # attempts come from submissions only


@admin.register(Agent)
class AgentAdmin(admin.ModelAdmin):
    list_display = ("id", "name", "status", "updated_at")
    list_filter = ("status",)


# The project's user admin, with the "terminate live realtime connections" action.
User = get_user_model()
if admin.site.is_registered(User):
    admin.site.unregister(User)


@admin.register(User)
class RealtimeUserAdmin(UserAdmin):
    actions = [revoke_connections]
