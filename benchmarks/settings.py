"""Benchmarks run with the test settings (in-memory SQLite unless DATABASE_URL is set),
plus the baselines' own app (``benchmarks.baseline``: what a user writes without ours)."""

from tests.settings import *  # noqa: F403
from tests.settings import INSTALLED_APPS as _INSTALLED_APPS

DEBUG = False
INSTALLED_APPS = [*_INSTALLED_APPS, "benchmarks.baseline"]
