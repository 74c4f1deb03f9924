"""Benchmarks run with the test settings (in-memory SQLite unless DATABASE_URL is set)."""

from tests.settings import *  # noqa: F403

DEBUG = False
