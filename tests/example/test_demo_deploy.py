"""The example project as it starts (issue 8, item 7): it refuses to run with
``DEBUG=False`` on the demo's public Pusher secret, and the demo's processes share one
cache, so a policy or group change applies at once in each of them.

These start real ``manage.py`` / Python processes on the example project's own
settings (``example_project.settings``, not the tests' settings).
"""

from __future__ import annotations

import os
import re
import select
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.checks import Error, run_checks
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from example_project import demo_defaults
from tests.soketi import free_port

ROOT = Path(__file__).resolve().parent.parent.parent


def example_env(tmp_path: Path, **values: str) -> dict[str, str]:
    """The environment of a process of the example project: its settings, a
    throw-away SQLite file, the demo defaults unless ``values`` say otherwise."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PUSHER_", "DJANGO_", "DATABASE_", "CACHE_", "DEBUG", "QUIZ_"))
    }
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "example_project.settings",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}",
            "PYTHONPATH": str(ROOT),
            **values,
        }
    )
    return env


# --- classroom.E001: the demo's Pusher secret with DEBUG=False --------------------------


def test_env_example_and_demo_script_use_the_checked_secret():
    """The check compares with one constant; the published demo files carry that value."""
    env_example = (ROOT / ".env.example").read_text()
    assert f"PUSHER_SECRET={demo_defaults.DEMO_PUSHER_SECRET}\n" in env_example
    assert (
        f"PUSHER_SECRET:-{demo_defaults.DEMO_PUSHER_SECRET}}}"
        in (ROOT / "scripts" / "demo.sh").read_text()
    )


def demo_secret_errors() -> list[str]:
    return [m.id for m in run_checks() if isinstance(m, Error) and m.id == "classroom.E001"]


def test_check_refuses_demo_secret_without_debug(settings):
    settings.DEBUG = False
    settings.TOOLBOX_REALTIME = {
        **settings.TOOLBOX_REALTIME,
        "SECRET": demo_defaults.DEMO_PUSHER_SECRET,
    }
    assert demo_secret_errors() == ["classroom.E001"]
    for options in ({}, {"deploy": True}):
        with pytest.raises(SystemCheckError) as raised:
            call_command("check", **options)
        message = str(raised.value)
        assert "classroom.E001" in message and "PUSHER_SECRET" in message
        assert demo_defaults.DEMO_PUSHER_SECRET not in message  # never repeat a secret


def test_check_allows_demo_secret_with_debug_and_other_secrets(settings):
    settings.DEBUG = True
    settings.TOOLBOX_REALTIME = {
        **settings.TOOLBOX_REALTIME,
        "SECRET": demo_defaults.DEMO_PUSHER_SECRET,
    }
    assert demo_secret_errors() == []
    settings.DEBUG = False
    settings.TOOLBOX_REALTIME = {**settings.TOOLBOX_REALTIME, "SECRET": "a-real-secret-0123456789"}
    assert demo_secret_errors() == []


def test_runserver_refuses_to_start_on_demo_secret(tmp_path):
    """DEBUG=False and no PUSHER_SECRET (the default is the demo's): runserver exits
    with the error instead of serving."""
    process = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", f"127.0.0.1:{free_port()}", "--noreload"],
        cwd=ROOT,
        env=example_env(tmp_path, DEBUG="false"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _, stderr = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        pytest.fail("runserver started (and served) on the demo's Pusher secret with DEBUG=False")
    assert process.returncode != 0
    assert "classroom.E001" in stderr


@pytest.mark.parametrize(
    "values, refused",
    [
        ({"DEBUG": "false"}, True),
        ({"DEBUG": "false", "PUSHER_SECRET": demo_defaults.DEMO_PUSHER_SECRET}, True),
        ({"DEBUG": "false", "PUSHER_SECRET": "a-real-secret-0123456789"}, False),
        ({"DEBUG": "true"}, False),
    ],
)
def test_wsgi_application_refuses_demo_secret(tmp_path, values, refused):
    """gunicorn/uWSGI import example_project.wsgi; Django runs no checks there, so the
    module runs them itself and raises ImproperlyConfigured on an error."""
    result = subprocess.run(
        [sys.executable, "-c", "import example_project.wsgi"],
        cwd=ROOT,
        env=example_env(tmp_path, **values),
        capture_output=True,
        text=True,
        timeout=60,
    )
    if refused:
        assert result.returncode != 0
        assert "ImproperlyConfigured" in result.stderr and "classroom.E001" in result.stderr
        assert demo_defaults.DEMO_PUSHER_SECRET not in result.stderr
    else:
        assert result.returncode == 0, result.stderr[-2000:]


# --- the demo's shared cache ---------------------------------------------------------------

WORKER = r"""
import sys, django
django.setup()
print("ready", flush=True)
for line in sys.stdin:
    try:
        result = eval(line)
    except Exception as exc:
        result = f"error: {exc!r}"
    print(repr(result).replace("\n", " "), flush=True)
"""


class Worker:
    """A Python process on the example settings that evaluates one expression per line."""

    def __init__(self, env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", WORKER],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            bufsize=1,
        )
        assert self.read() == "ready"

    def read(self, timeout: float = 60) -> str:
        assert self.process.stdout is not None
        ready, _, _ = select.select([self.process.stdout], [], [], timeout)
        assert ready, "the worker process did not answer in time"
        return self.process.stdout.readline().strip()

    def __call__(self, expression: str) -> str:
        assert self.process.stdin is not None
        self.process.stdin.write(expression + "\n")
        self.process.stdin.flush()
        answer = self.read()
        assert not answer.startswith("'error"), answer
        return answer

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def demo_processes(tmp_path: Path) -> Iterator[tuple[Worker, Worker]]:
    """Two processes of the demo (its default settings, one SQLite file), after what
    `make demo` runs before the servers: createcachetable, migrate, seed_demo."""
    env = example_env(tmp_path, DEBUG="true")
    setup = "\n".join(
        [
            "import django",
            "django.setup()",
            "from django.core.management import call_command",
            "call_command('createcachetable', verbosity=0)",
            "call_command('migrate', verbosity=0)",
            "call_command('seed_demo', verbosity=0)",
        ]
    )
    subprocess.run([sys.executable, "-c", setup], cwd=ROOT, env=env, check=True, timeout=120)
    workers: list[Worker] = []
    try:
        workers = [Worker(env), Worker(env)]
        yield workers[0], workers[1]
    finally:
        for worker in workers:
            worker.close()


DECIDE = (
    "__import__('django_toolbox_realtime').decide("
    "__import__('django.contrib.auth.models').contrib.auth.models.User.objects.get("
    "username='student'), 'private-teacher').allowed"
)


def test_policy_and_group_changes_reach_the_other_process_at_once(demo_processes):
    """Well within POLICY_CACHE_MAX_AGE (30 s): with a per-process cache the second
    process would keep its compiled policies and cached groups until then."""
    admin, server = demo_processes
    assert admin("__import__('django.conf').conf.settings.CACHES['default']['BACKEND']") == (
        "'django.core.cache.backends.db.DatabaseCache'"
    )
    assert server(DECIDE) == "False"  # compiled and cached in the server process
    policies = "__import__('django_toolbox_realtime.models').models.ChannelPolicy.objects"
    admin(
        f"[(setattr(p, 'min_role', 'student'), p.save()) "
        f"for p in [{policies}.get(channel='private-teacher')]]"
    )
    assert server(DECIDE) == "True"  # the policy edit, at once
    admin(
        f"[(setattr(p, 'min_role', 'teacher'), p.save()) "
        f"for p in [{policies}.get(channel='private-teacher')]]"
    )
    assert server(DECIDE) == "False"
    groups = "__import__('django.contrib.auth.models').contrib.auth.models"
    admin(
        f"{groups}.User.objects.get(username='student').groups.add("
        f"{groups}.Group.objects.get(name='teacher'))"
    )
    assert server(DECIDE) == "True"  # the group change, at once


def test_make_demo_creates_the_cache_table_before_seeding():
    makefile = (ROOT / "Makefile").read_text()
    recipe = re.search(r"^demo:.*?\n((?:\t.*\n)+)", makefile, re.MULTILINE)
    assert recipe is not None
    lines = recipe.group(1).splitlines()
    order = [
        next(i for i, line in enumerate(lines) if word in line)
        for word in ("createcachetable", "migrate", "seed_demo", "demo.sh")
    ]
    assert order == sorted(order)
