"""Quarterly thought reports (按季度向乡镇党组织汇报思想): one per member and quarter.

A report is written on the phone as text or as photos of a handwritten page; its draft
is saved on the server as the member types (version counts the saves). Submitted, it is
read by the reviewer (the township officer, or the village secretary when the county
says so), who accepts it or returns it with a reason; every step is a ThoughtEvent,
append-only. The report carries its member's village and township, copied when it is
made, so that a scope's list is one indexed range.
"""

from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from baojing.extensions import db
from baojing.models.types import Idempotent, UTCDateTime, utcnow

DRAFT, SUBMITTED, RETURNED, ACCEPTED = "draft", "submitted", "returned", "accepted"
STATUSES = {DRAFT: "草稿", SUBMITTED: "待审阅", RETURNED: "已退回", ACCEPTED: "已通过"}
# The member may still change these; the others are with the reviewer or done.
EDITABLE = (DRAFT, RETURNED)
# Handed in at least once: the lists count these as submitted.
HANDED_IN = (SUBMITTED, RETURNED, ACCEPTED)

SUBMIT, RETURN, ACCEPT, WITHDRAW = "submit", "return", "accept", "withdraw"
EVENT_LABELS = {SUBMIT: "提交", RETURN: "退回", ACCEPT: "通过", WITHDRAW: "撤销通过"}


class ThoughtReport(db.Model):
    __tablename__ = "thought_reports"
    __table_args__ = (
        UniqueConstraint("member_id", "quarter", name="uq_thought_reports_member_quarter"),
        # A scope's reports of a quarter by status (review queue, counts).
        Index("ix_thought_reports_township", "township_id", "quarter", "status"),
        Index("ix_thought_reports_village", "village_id", "quarter", "status"),
        Index("ix_thought_reports_quarter", "quarter", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    village_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    township_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    quarter: Mapped[str] = mapped_column(String(6))  # 2026Q2
    status: Mapped[str] = mapped_column(String(10), default=DRAFT)
    body: Mapped[str] = mapped_column(Text, default="")
    # Counts the draft's saves: an autosave names the version it started from.
    version: Mapped[int] = mapped_column(default=0)
    # The editing page that saved last (a random key per page load): its own later
    # save wins even when a response was lost on the way; another page's is a conflict.
    draft_editor: Mapped[str] = mapped_column(String(40), default="")
    saved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The quarter's end plus the county's grace days, when the report was started.
    due_on: Mapped[date]
    first_submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # First handed in by due_on: an accepted on-time report earns the 定期汇报 points.
    on_time: Mapped[bool] = mapped_column(default=False)
    # The reviewer's latest word (a return's reason, an acceptance's comment).
    review_comment: Mapped[str] = mapped_column(Text, default="")
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    member = relationship("Member")
    reviewed_by = relationship("User")


class ThoughtEvent(Idempotent, db.Model):
    """A step of a report: submitted, returned, accepted, acceptance withdrawn. Append-only."""

    __tablename__ = "thought_events"
    __table_args__ = (Index("ix_thought_events_report", "report_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("thought_reports.id"))
    action: Mapped[str] = mapped_column(String(10))
    comment: Mapped[str] = mapped_column(Text, default="")
    actor_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    actor = relationship("User")


class ThoughtPhoto(db.Model):
    """A photo of a handwritten page: re-encoded without EXIF, stored under a random name."""

    __tablename__ = "thought_photos"
    __table_args__ = (Index("ix_thought_photos_report", "report_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("thought_reports.id"))
    token: Mapped[str] = mapped_column(String(32), unique=True)
    width: Mapped[int]
    height: Mapped[int]
    size_bytes: Mapped[int]
    # Taken off the report by the member before it was handed in; the file stays.
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
