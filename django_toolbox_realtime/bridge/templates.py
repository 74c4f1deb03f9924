"""Channel and event names as templates over an instance: ``"private-classroom-{classroom_id}"``.

A placeholder is the name of a concrete field (``classroom`` or its column
``classroom_id``: both give the related object's primary key) or ``pk``. Nothing
else: no attribute paths (``{student.email}``), indexes or format specs, so a
template cannot reach data the payload does not show.
"""

from __future__ import annotations

import functools
import string
from dataclasses import dataclass
from typing import Any

from django.db import models

_FORMATTER = string.Formatter()
#: The value a placeholder takes when a template is checked at registration.
SAMPLE_VALUE = "1"


@dataclass(frozen=True)
class Template:
    source: str
    literals: tuple[str, ...]  # text before each placeholder, then the tail
    placeholders: tuple[str, ...]

    @property
    def sample(self) -> str:
        """The name the template gives when every placeholder is ``1``."""
        return self.render_values(dict.fromkeys(self.placeholders, SAMPLE_VALUE))

    def render_values(self, values: dict[str, Any]) -> str:
        parts: list[str] = []
        for literal, name in zip(self.literals, self.placeholders, strict=False):
            parts += [literal, str(values[name])]
        parts.append(self.literals[-1])
        return "".join(parts)


class TemplateError(ValueError):
    """A template that cannot be used; the message says why."""


def parse(source: Any) -> Template:
    """The template in ``source``; :class:`TemplateError` for a malformed one."""
    if not isinstance(source, str) or not source:
        raise TemplateError(f"{source!r} is not a non-empty string")
    literals: list[str] = []
    placeholders: list[str] = []
    pending = ""
    try:
        parsed = list(_FORMATTER.parse(source))
    except ValueError as exc:
        raise TemplateError(f"{source!r} is not a valid template ({exc})") from exc
    for literal, name, spec, conversion in parsed:
        pending += literal
        if name is None:
            continue
        if not name or spec or conversion or not name.isidentifier():
            raise TemplateError(
                f"placeholder {{{name}{'!' + conversion if conversion else ''}"
                f"{':' + spec if spec else ''}}} in {source!r} is not a plain field name"
            )
        literals.append(pending)
        placeholders.append(name)
        pending = ""
    literals.append(pending)
    return Template(source, tuple(literals), tuple(placeholders))


@functools.cache
def field_for(model: type[models.Model], name: str) -> models.Field[Any, Any] | None:
    """The concrete field called ``name`` (its name or its column attribute), or None.
    Cached: every payload field and placeholder of every save asks."""
    for field in model._meta.concrete_fields:
        if name in (field.name, field.attname):
            return field
    return None


def unknown_placeholders(template: Template, model: type[models.Model]) -> list[str]:
    return [n for n in template.placeholders if n != "pk" and field_for(model, n) is None]


def placeholder_value(instance: models.Model, name: str) -> Any:
    """The value of placeholder ``name``; related objects give their primary key."""
    if name == "pk":
        return instance.pk
    field = field_for(type(instance), name)
    assert field is not None  # checked at registration
    return getattr(instance, field.attname)


def render(template: Template, instance: models.Model) -> str | None:
    """The name for ``instance``, or None when a placeholder's value is None (a
    nullable foreign key that is not set: there is no such channel)."""
    values = {name: placeholder_value(instance, name) for name in template.placeholders}
    if any(value is None for value in values.values()):
        return None
    return template.render_values(values)
