"""Small helpers shared by the blueprints' forms: select options, filters, service errors."""

from collections.abc import Iterable

from wtforms import SelectChoice


def options(pairs: Iterable[tuple]) -> list[SelectChoice]:
    """(value, label) pairs as SelectChoice objects."""
    return [SelectChoice(value, label) for value, label in pairs]


def strip_text(value):
    """Field filter: surrounding spaces off, and a missing field reads as empty text."""
    if value is None:
        return ""
    return value.strip() if isinstance(value, str) else value


def apply_errors(form, errors: dict[str, str]) -> None:
    """Put a service's RuleViolation messages next to the fields they are about."""
    for name, message in errors.items():
        field = getattr(form, name, None)
        if field is not None:
            field.errors = [*field.errors, message]
