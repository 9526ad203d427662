"""Numbers handed out once: certificate serials, receipt numbers.

A counter row per series, moved forward by one UPDATE … RETURNING inside the caller's
write transaction: SQLite's write lock, or PostgreSQL's row lock on the counter, makes
two callers at the same moment get two numbers. The table's trigger refuses to move a
counter backwards.
"""

from sqlalchemy import Select, update

from baojing.db import upsert_insert
from baojing.extensions import db
from baojing.models.certificates import SerialCounter


def next_number(series: str, start: Select | int = 0) -> int:
    """The next number of the series; a new series starts after `start` (a number, or a
    select of one: the largest number used before the series had a counter)."""
    conn = db.session.connection()
    number = conn.execute(_step(series)).scalar()
    if number is None:  # the series' first number: make its counter, then step it
        first = start.scalar_subquery() if isinstance(start, Select) else start
        conn.execute(
            upsert_insert(SerialCounter)
            .values(series=series, last=first)
            .on_conflict_do_nothing(index_elements=[SerialCounter.series])
        )
        number = conn.execute(_step(series)).scalar_one()
    return number


def catch_up(series: str, used: int) -> bool:
    """Move a counter forward to a number known to be used already; True if it moved.

    For a database restored from a backup: numbers handed out after the backup was
    taken are on papers, files and receipts, not in its counters. Never backwards.
    """
    conn = db.session.connection()
    moved = conn.execute(
        update(SerialCounter)
        .where(SerialCounter.series == series, SerialCounter.last < used)
        .values(last=used)
    ).rowcount
    if moved:
        return True
    made = conn.execute(
        upsert_insert(SerialCounter)
        .values(series=series, last=used)
        .on_conflict_do_nothing(index_elements=[SerialCounter.series])
    ).rowcount
    return bool(made)


def _step(series: str):
    return (
        update(SerialCounter)
        .where(SerialCounter.series == series)
        .values(last=SerialCounter.last + 1)
        .returning(SerialCounter.last)
    )
