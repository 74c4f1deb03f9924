"""The baselines' tables: what a user without this app would write."""

from django.db import models


class ReceivedEvent(models.Model):
    """One webhook event, as a user without this app would keep it."""

    name = models.CharField(max_length=50)
    channel = models.CharField(max_length=200)
    user_id = models.CharField(max_length=128, blank=True, default="")
    time_ms = models.BigIntegerField()
    received_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.name} {self.channel} {self.user_id}"


class PlainItem(models.Model):
    """A model the broadcast benchmark registers with a plain field list (no
    serializer): what the app itself costs per save, apart from a user's serializer."""

    name = models.CharField(max_length=50)
    status = models.CharField(max_length=20, default="idle")
    count = models.IntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.name
