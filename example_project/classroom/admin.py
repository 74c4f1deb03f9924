from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin

from django_toolbox_realtime.admin.policies import revoke_connections

from .models import Agent, Classroom, Quiz


@admin.register(Classroom)
class ClassroomAdmin(admin.ModelAdmin):
    list_display = ("id", "name")
    search_fields = ("name",)
    filter_horizontal = ("teachers", "students")


@admin.register(Quiz)
class QuizAdmin(admin.ModelAdmin):
    list_display = ("id", "title", "classroom")
    list_filter = ("classroom",)


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
