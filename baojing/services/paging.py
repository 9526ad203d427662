"""One page of a list: OFFSET paging that asks for one row more to know if there is a next."""

from dataclasses import dataclass

from baojing.extensions import db
from baojing.models.types import LARGEST_INTEGER

PER_PAGE = 20


@dataclass(frozen=True)
class Page:
    rows: list
    page: int
    has_next: bool


def fetch_page(stmt, page: int, per_page: int = PER_PAGE) -> Page:
    """Rows of an ordered Core select for page `page` (from 1), on the read connection."""
    # A page number past what SQLite's OFFSET can hold is the last page there could be.
    page = min(max(1, page), LARGEST_INTEGER // per_page)
    rows = (
        db.session.connection()
        .execute(stmt.limit(per_page + 1).offset((page - 1) * per_page))
        .all()
    )
    return Page(rows[:per_page], page, len(rows) > per_page)
