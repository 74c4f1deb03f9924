"""The README's "Install in your project", followed in a fresh ``startproject``.

The snippets come from README.md itself: fenced blocks under the install heading,
each after a marker ``<!-- install: WHAT -->`` (``pip``, ``settings.py``,
``urls.py``, ``run``). The test makes a project with ``django-admin startproject``
in a temporary directory, appends the settings and urls snippets as a reader
would, runs the ``run`` commands (``migrate``, ``check``), then signs a channel
authorization through the real view and checks the signature independently
(PROTOCOL.md's test vector). The app is the checkout's (the venv installs it
editable; otherwise the checkout goes on ``PYTHONPATH``). No network beyond
127.0.0.1: proxies point at a closed local port so a stray request fails fast.
"""

from __future__ import annotations

import hashlib
import hmac
import importlib.metadata
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
HEADING = "## Install in your project"
MARKED_BLOCK = re.compile(r"<!--\s*install:\s*(\S+)\s*-->\s*\n```[a-z]*\n(.*?)\n```", re.DOTALL)
CHECKOUT_PLACEHOLDER = "/path/to/django-toolbox-realtime"

# PROTOCOL.md's test vector: private-foobar signed for socket 1234.1234.
KEY, SECRET, APP_ID = "278d425bdf160c739803", "7ad3773142a6692b25b8", "123456"
SOCKET_ID, CHANNEL = "1234.1234", "private-foobar"
VECTOR = "58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4"
TIMEOUT = 120  # seconds for any one command

# Run inside the fresh project (manage.py shell -c): a teacher, a policy, and the
# requests pusher-js makes after a session login (CSRF token from the cookie).
SCRIPT = """
import json
from django.apps import apps
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.test import Client, override_settings
from django.test.utils import setup_test_environment
from django.urls import resolve

setup_test_environment()  # the test client's host name; emails in memory
ChannelPolicy = apps.get_model("django_toolbox_realtime", "ChannelPolicy")
ChannelPolicy.objects.create(channel="private-foobar", min_role="teacher")
teacher = User.objects.create_user("teacher1", password="pw-12345")
teacher.groups.add(Group.objects.create(name="teacher"))

def auth(client, channel, **headers):
    body = "socket_id=1234.1234&channel_name=" + channel
    return client.post("/api/v1/pusher/auth", body,
                       content_type="application/x-www-form-urlencoded", headers=headers)

anonymous = auth(Client(enforce_csrf_checks=True), "private-foobar")
client = Client(enforce_csrf_checks=True)
client.get("/admin/login/")  # any page with a form sets the csrftoken cookie
client.force_login(teacher)
csrf = client.cookies["csrftoken"].value
allowed = auth(client, "private-foobar", **{"X-CSRFToken": csrf})
no_csrf = auth(client, "private-foobar")
no_policy = auth(client, "private-admin", **{"X-CSRFToken": csrf})
routes = {p: resolve(p).func.view_class.__name__
          for p in ["/api/v1/pusher/health", "/api/v1/pusher/status",
                    "/health", "/health/", "/health/pusher/status"]}
nowhere = {"HOST": "127.0.0.1", "PORT": 9, "SSL": False}  # nothing listens there
with override_settings(TOOLBOX_REALTIME={**settings.TOOLBOX_REALTIME, **nowhere}):
    health = Client().get("/health")
print("RESULT:" + json.dumps({
    "anonymous": anonymous.status_code,
    "allowed": [allowed.status_code, allowed.json()],
    "no_csrf": no_csrf.status_code,
    "no_policy": no_policy.status_code,
    "routes": routes,
    "health": [health.status_code, health.json()],
}))
"""


def install_section() -> str:
    text = README.read_text()
    assert HEADING in text, f"README.md has no {HEADING!r} section"
    section = text.split(HEADING, 1)[1]
    return section.split("\n## ", 1)[0]


def snippets() -> list[tuple[str, str]]:
    """``(what, code)`` of every marked block of the install section, in order."""
    return MARKED_BLOCK.findall(install_section())


def run(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=TIMEOUT, check=False
    )
    assert result.returncode == 0, f"{shlex.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result


def project_env() -> dict[str, str]:
    unset = ("DJANGO_SETTINGS_MODULE", "DATABASE_URL")
    env = {k: v for k, v in os.environ.items() if k not in unset}
    try:
        importlib.metadata.distribution("django-toolbox-realtime")
    except importlib.metadata.PackageNotFoundError:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    closed = "http://127.0.0.1:9"
    env.update(
        {
            "PUSHER_APP_ID": APP_ID,
            "PUSHER_KEY": KEY,
            "PUSHER_SECRET": SECRET,
            "HTTP_PROXY": closed,
            "HTTPS_PROXY": closed,
            "http_proxy": closed,
            "https_proxy": closed,
            "NO_PROXY": "127.0.0.1,localhost",
            "no_proxy": "127.0.0.1,localhost",
        }
    )
    return env


def test_the_install_section_has_the_marked_snippets():
    kinds = [what for what, _ in snippets()]
    assert {"pip", "settings.py", "urls.py", "run"} <= set(kinds), kinds
    pip = dict(snippets())["pip"]
    assert f"pip install {CHECKOUT_PLACEHOLDER}" in pip and "git+" in pip
    settings = "\n".join(code for what, code in snippets() if what == "settings.py")
    assert "environ.Env" not in settings and "env(" not in settings  # no django-environ
    urls = "\n".join(code for what, code in snippets() if what == "urls.py")
    assert re.search(r"from django\.urls import .*\binclude\b", urls)


def test_the_pip_line_installs_a_checkout(tmp_path):
    """``pip install <checkout>`` as written resolves to this distribution (a dry run
    on a copy of the checkout: no index, no network, nothing installed)."""
    checkout = tmp_path / "django-toolbox-realtime"
    checkout.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, checkout / name)
    shutil.copytree(
        ROOT / "django_toolbox_realtime",
        checkout / "django_toolbox_realtime",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    (line,) = [
        line.split("#")[0]
        for line in dict(snippets())["pip"].splitlines()
        if CHECKOUT_PLACEHOLDER in line
    ]
    args = shlex.split(line.replace(CHECKOUT_PLACEHOLDER, str(checkout)))
    assert args[:2] == ["pip", "install"]
    extra = ["--dry-run", "--no-deps", "--no-index", "--no-build-isolation", "--report", "-"]
    result = run([sys.executable, "-m", *args, *extra, "--quiet"], tmp_path, project_env())
    (installed,) = json.loads(result.stdout)["install"]
    assert installed["metadata"]["name"] == "django-toolbox-realtime"


def test_the_install_section_works_in_a_fresh_startproject(tmp_path):
    env = project_env()
    run([sys.executable, "-m", "django", "startproject", "mysite", str(tmp_path)], tmp_path, env)
    for what, code in snippets():
        if what in ("settings.py", "urls.py"):
            with open(tmp_path / "mysite" / what, "a") as f:
                f.write("\n\n" + code + "\n")

    commands = [
        shlex.split(line.split("#")[0])
        for what, code in snippets()
        if what == "run"
        for line in code.splitlines()
        if line.split("#")[0].strip()
    ]
    assert [c[:2] for c in commands] == [["python", "manage.py"]] * len(commands)
    assert {c[2] for c in commands} >= {"migrate", "check"}
    for command in commands:
        result = run([sys.executable, *command[1:]], tmp_path, env)
        if command[2] == "check":
            assert "toolbox_realtime.E" not in result.stdout + result.stderr

    out = run([sys.executable, "manage.py", "shell", "-c", SCRIPT], tmp_path, env).stdout
    (line,) = [line for line in out.splitlines() if line.startswith("RESULT:")]
    found = json.loads(line.removeprefix("RESULT:"))

    status, body = found["allowed"]
    assert status == 200, body
    signature = hmac.new(SECRET.encode(), f"{SOCKET_ID}:{CHANNEL}".encode(), hashlib.sha256)
    assert body["auth"] == f"{KEY}:{signature.hexdigest()}" == f"{KEY}:{VECTOR}"
    assert SECRET not in json.dumps(found)
    # Default deny: no session, no CSRF token, or no policy -> 403, never signed.
    assert (found["anonymous"], found["no_csrf"], found["no_policy"]) == (403, 403, 403)
    # Health: under the app's prefix, and at /health with the README's extra lines.
    assert found["routes"] == {
        "/api/v1/pusher/health": "HealthView",
        "/api/v1/pusher/status": "PusherStatusView",
        "/health": "HealthView",
        "/health/": "HealthView",
        "/health/pusher/status": "PusherStatusView",
    }
    status, body = found["health"]
    assert status in (200, 503) and "status" in body["data"]


@pytest.mark.parametrize("what", ["settings.py", "urls.py"])
def test_snippets_are_valid_python(what):
    for kind, code in snippets():
        if kind == what:
            compile(code, f"README.md[{what}]", "exec")
