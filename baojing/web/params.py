"""Reading numbers from query strings and forms without trusting them."""

from flask import request
from werkzeug.routing import IntegerConverter

from baojing.models.types import LARGEST_INTEGER


class BoundedIntConverter(IntegerConverter):
    """`<int:…>` that 404s on numbers no column can hold, instead of a 500."""

    def __init__(self, map, fixed_digits=0, min=None, max=None, signed=False):  # noqa: A002
        super().__init__(map, fixed_digits, min, LARGEST_INTEGER if max is None else max, signed)


def int_param(name: str) -> int | None:
    """A positive id or page number from the query string or form, else None."""
    try:
        value = int(request.values.get(name, ""))
    except ValueError:
        return None
    return value if 0 < value <= LARGEST_INTEGER else None
