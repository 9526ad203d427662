"""Column helpers shared by the models."""

from datetime import UTC, datetime

from sqlalchemy import BigInteger, DateTime, Integer, String, TypeDecorator
from sqlalchemy.orm import Mapped, mapped_column

# The largest integer a column holds (SQLite INTEGER, PostgreSQL BIGINT): a number from a
# URL or a form beyond it is no row, never a database error.
LARGEST_INTEGER = 2**63 - 1


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """Stores naive UTC in SQLite, hands back aware UTC datetimes."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime passed to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


class Idempotent:
    """Mixin: the idempotency key of the form that made the row, and what that form said."""

    request_id: Mapped[str | None] = mapped_column(String(40), unique=True)
    request_fingerprint: Mapped[str | None] = mapped_column(String(64))


# Money in fen. A loan of 10 亿元 is 10^11 fen: past PostgreSQL's 32-bit INTEGER, while
# SQLite's INTEGER is 64-bit already.
FEN = Integer().with_variant(BigInteger(), "postgresql")
