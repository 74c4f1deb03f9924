"""A project that mounts the app at ``/rt/`` (not the example's ``/api/v1/pusher/``)
and has one page that renders the ``{% realtime_config %}`` tag."""

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.template import engines
from django.urls import include, path

PAGE = "{% load realtime %}<!doctype html><title>rt</title>{% realtime_config %}"


def page(request: HttpRequest) -> HttpResponse:
    return HttpResponse(engines["django"].from_string(PAGE).render({}, request))


urlpatterns = [
    path("admin/", admin.site.urls),
    path("rt/", include("django_toolbox_realtime.urls")),
    path("page/", page),
]
