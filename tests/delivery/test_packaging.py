"""The distribution: what the wheel contains, and imports that must not need settings."""

import os
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_wheel_contains_only_the_app(tmp_path):
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    (wheel,) = tmp_path.glob("django_toolbox_realtime-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    top = {n.split("/")[0] for n in names}
    assert top == {"django_toolbox_realtime", next(t for t in top if t.endswith(".dist-info"))}
    assert "django_toolbox_realtime/py.typed" in names
    assert "django_toolbox_realtime/migrations/0001_initial.py" in names
    assert not any(n.startswith(("tests/", "example_project/", "benchmarks/")) for n in names)


def test_import_needs_no_settings():
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    code = (
        "import django_toolbox_realtime as t, django_toolbox_realtime.validation, "
        "django_toolbox_realtime.exceptions; print(t.__version__)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert out.stdout.strip() == "0.1.0"
