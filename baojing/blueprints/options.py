"""Select options in the form WTForms 3.3 expects (tuples are deprecated there)."""

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
