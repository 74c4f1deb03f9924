"""The WSGI application (gunicorn, uWSGI: ``example_project.wsgi:application``).

Django runs its system checks when ``runserver`` starts, never for a WSGI server: this
module runs them itself and refuses to load on an error, so a production server does
not start on, for example, the demo's public Pusher secret (``classroom.E001``).
"""

import os

from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "example_project.settings")
application = get_wsgi_application()


def _refuse_on_check_errors() -> None:
    errors = [
        message
        for message in checks.run_checks()
        if message.is_serious() and not message.is_silenced()
    ]
    if errors:
        raise ImproperlyConfigured(
            "System check errors; the application will not start:\n"
            + "\n".join(f"{m.id}: {m.msg} HINT: {m.hint}" for m in errors)
        )


_refuse_on_check_errors()
