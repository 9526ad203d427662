"""The audit log. Append-only: triggers in the migration abort UPDATE and DELETE."""

from datetime import datetime

from sqlalchemy import Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from baojing.extensions import db
from baojing.models.types import UTCDateTime, utcnow


class AuditEntry(db.Model):
    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_at", "at"),
        Index("ix_audit_log_entity", "entity_type", "entity_id"),
        Index("ix_audit_log_user", "user_id", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # No foreign key: the row must outlive whatever it names.
    user_id: Mapped[int | None]
    username: Mapped[str] = mapped_column(String(40), default="")
    role: Mapped[str] = mapped_column(String(20), default="")
    ip: Mapped[str] = mapped_column(String(45), default="")
    action: Mapped[str] = mapped_column(String(40))
    entity_type: Mapped[str] = mapped_column(String(30), default="")
    entity_id: Mapped[int | None]
    outcome: Mapped[str] = mapped_column(String(20), default="ok")
    # JSON objects of the changed fields, personal identifiers already masked.
    before: Mapped[str | None] = mapped_column(Text)
    after: Mapped[str | None] = mapped_column(Text)


class AccessDenial(db.Model):
    """Refused requests (403, 404) of a signed-in user: one row per user, endpoint and minute.

    Counted, not logged one by one: a script asking for other villages' records by the
    thousand adds to a count instead of filling the disk with rows kept for six months.
    Kept as long as the audit log; triggers refuse any change but the count going up.
    """

    __tablename__ = "access_denials"
    __table_args__ = (
        UniqueConstraint("user_id", "endpoint", "minute"),
        Index("ix_access_denials_minute", "minute"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The minute the refusals fell in (seconds cut off), UTC.
    minute: Mapped[datetime] = mapped_column(UTCDateTime)
    # No foreign key: the row must outlive the account.
    user_id: Mapped[int]
    username: Mapped[str] = mapped_column(String(40), default="")
    role: Mapped[str] = mapped_column(String(20), default="")
    endpoint: Mapped[str] = mapped_column(String(80), default="")
    # Of the minute's first refusal: its status, address and path (ids only, never names).
    outcome: Mapped[str] = mapped_column(String(20), default="")
    ip: Mapped[str] = mapped_column(String(45), default="")
    path: Mapped[str] = mapped_column(String(200), default="")
    count: Mapped[int] = mapped_column(default=1)
