"""持证管理: certificate letters and activity cards, their print jobs, and transfer letters.

A certificate's PDF is rendered once, when it is issued, and kept as bytes on disk
with its SHA-256 here: every later download is exactly what was issued, whatever
happens to the templates afterwards.
"""

from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from baojing.extensions import db
from baojing.models.types import Idempotent, UTCDateTime, utcnow

CERT_KINDS = {"letter": "流动党员证明信", "card": "流动党员活动证"}

VALID, REVOKED, RETURNED = "valid", "revoked", "returned"
CERT_STATUSES = {VALID: "有效", REVOKED: "已作废", RETURNED: "已交回"}

PENDING_RECEIPT, RECEIPT_RETURNED = "pending", "returned"
TRANSFER_STATUSES = {PENDING_RECEIPT: "待回执", RECEIPT_RETURNED: "回执已收回"}


class SerialCounter(db.Model):
    """The last number handed out per series and year: a serial is never given twice."""

    __tablename__ = "serial_counters"

    series: Mapped[str] = mapped_column(String(20), primary_key=True)
    last: Mapped[int] = mapped_column(default=0)


class Certificate(Idempotent, db.Model):
    __tablename__ = "certificates"
    __table_args__ = (
        Index("ix_certificates_village", "village_id", "status", "valid_until"),
        Index("ix_certificates_township", "township_id", "status", "valid_until"),
        Index("ix_certificates_member", "member_id", "issued_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # 433125-2026-00042: the county's code, the year, the year's sequence.
    serial: Mapped[str] = mapped_column(String(24), unique=True)
    kind: Mapped[str] = mapped_column(String(10))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    village_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    township_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    issued_on: Mapped[date]
    valid_until: Mapped[date]
    issuing_org: Mapped[str] = mapped_column(String(60))
    reason: Mapped[str] = mapped_column(String(100), default="")
    destination: Mapped[str] = mapped_column(String(100), default="")
    # The one-inch photo, re-encoded like a visit photo, if one was given at issue.
    photo_token: Mapped[str | None] = mapped_column(String(32))
    # What /verify/<code> looks up: 128 random bits, base32. Unguessable, not secret.
    verify_code: Mapped[str] = mapped_column(String(32), unique=True)
    status: Mapped[str] = mapped_column(String(10), default=VALID)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    revoke_reason: Mapped[str] = mapped_column(String(100), default="")
    returned_on: Mapped[date | None]
    returned_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    renewed_from_id: Mapped[int | None] = mapped_column(ForeignKey("certificates.id"))
    # An activity card is open-ended with a yearly check (年审, DOMAIN.md): the date its
    # next check is due, moved on by each CardCheck. valid_until keeps the first one, as
    # printed on the card. None for a letter, whose validity is valid_until.
    check_due_on: Mapped[date | None]
    pdf_sha256: Mapped[str] = mapped_column(String(64))
    pdf_size: Mapped[int]
    issued_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    member = relationship("Member")


class CardCheck(Idempotent, db.Model):
    """年审: a yearly check recorded on the same card (no new serial); append-only."""

    __tablename__ = "card_checks"
    __table_args__ = (Index("ix_card_checks_certificate", "certificate_id", "checked_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    certificate_id: Mapped[int] = mapped_column(ForeignKey("certificates.id"))
    checked_on: Mapped[date]
    # The next check is due by then: checked_on plus the county's check period.
    next_due_on: Mapped[date]
    note: Mapped[str] = mapped_column(String(100), default="")
    checked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PrintJob(db.Model):
    """A batch PDF rendered in the background, its progress polled by the page."""

    __tablename__ = "print_jobs"
    __table_args__ = (CheckConstraint("done_count <= total", name="done_within_total"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    township_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"))
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    title: Mapped[str] = mapped_column(String(60))
    status: Mapped[str] = mapped_column(String(10), default="queued")
    total: Mapped[int] = mapped_column(default=0)
    done_count: Mapped[int] = mapped_column(default=0)
    # The certificate ids, comma-separated, fixed when the job was asked for.
    certificate_ids: Mapped[str] = mapped_column(String)
    file_token: Mapped[str | None] = mapped_column(String(32))
    error: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Transfer(Idempotent, db.Model):
    """组织关系介绍信: stub, letter and receipt under one serial; done when the receipt is back."""

    __tablename__ = "transfers"
    __table_args__ = (
        Index("ix_transfers_village", "village_id", "status", "issued_on"),
        Index("ix_transfers_township", "township_id", "status", "issued_on"),
        Index("ix_transfers_member", "member_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    serial: Mapped[str] = mapped_column(String(24), unique=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    village_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    township_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    from_org: Mapped[str] = mapped_column(String(60))
    to_org: Mapped[str] = mapped_column(String(60))
    to_address: Mapped[str] = mapped_column(String(100), default="")
    # 党费交到: "2026-10".
    dues_paid_until: Mapped[str] = mapped_column(String(7))
    valid_days: Mapped[int]
    issued_on: Mapped[date]
    # The receipt comes back within a month (the county's setting) after the letter's
    # validity ends (DOMAIN.md); fixed at issue, so a later setting moves no due date.
    receipt_due_on: Mapped[date]
    status: Mapped[str] = mapped_column(String(10), default=PENDING_RECEIPT)
    receipt_on: Mapped[date | None]
    receipt_handler: Mapped[str] = mapped_column(String(40), default="")
    receipt_phone: Mapped[str] = mapped_column(String(20), default="")
    receipt_recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    pdf_sha256: Mapped[str] = mapped_column(String(64))
    pdf_size: Mapped[int]
    issued_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    member = relationship("Member")
