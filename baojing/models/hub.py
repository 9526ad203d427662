"""The county hub (流动党员之家): announcements with read receipts, and members' questions.

An announcement goes to one scope: the county, a township or a village (its columns say
which, so that a member's list is three indexed comparisons). A member's receipt is one
row per member and announcement, made when they first open it or when they are nudged
before that. A question carries its member's village and township, copied when asked.
"""

from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from baojing.extensions import db
from baojing.models.types import Idempotent, UTCDateTime, utcnow

# Who an announcement is for: everyone, one township's members, one village's.
SCOPE_COUNTY, SCOPE_TOWNSHIP, SCOPE_VILLAGE = "county", "township", "village"
SCOPE_LABELS = {SCOPE_COUNTY: "全县", SCOPE_TOWNSHIP: "全镇", SCOPE_VILLAGE: "本村"}
ATTACHMENT_KINDS = {"pdf": "PDF 文件", "image": "图片"}

# A question goes to the county (县委组织部) or to the member's own township.
TO_COUNTY, TO_TOWNSHIP = "county", "township"
ADDRESSED_TO = {TO_COUNTY: "县委组织部", TO_TOWNSHIP: "乡镇党委"}
QUESTION_KINDS = {"question": "咨询", "message": "留言", "suggestion": "建议"}
OPEN, ANSWERED = "open", "answered"
QUESTION_STATUSES = {OPEN: "待回复", ANSWERED: "已回复"}


class Announcement(Idempotent, db.Model):
    __tablename__ = "announcements"
    __table_args__ = (
        # A member's list: the county's, their township's, their village's, newest first.
        Index("ix_announcements_scope", "scope", "published_at"),
        Index("ix_announcements_township", "township_id", "published_at"),
        Index("ix_announcements_village", "village_id", "published_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(10))
    # NULL for the county's; the township for a township's or a village's.
    township_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"))
    village_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"))
    title: Mapped[str] = mapped_column(String(100))
    # Sanitised on the server before it is stored (services/hub/sanitize.py): the only
    # HTML the app renders unescaped.
    body: Mapped[str] = mapped_column(Text)
    pinned_until: Mapped[date | None]
    # The attachment, kept under instance/uploads/hub/ by a random name; an image is
    # re-encoded without EXIF like a care photo.
    attachment_token: Mapped[str | None] = mapped_column(String(32))
    attachment_kind: Mapped[str | None] = mapped_column(String(10))
    attachment_name: Mapped[str] = mapped_column(String(100), default="", server_default="")
    attachment_bytes: Mapped[int] = mapped_column(default=0, server_default="0")
    published_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    published_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    publisher = relationship("User")

    def pinned_on(self, today: date) -> bool:
        return self.pinned_until is not None and self.pinned_until >= today


class AnnouncementReceipt(db.Model):
    """A member and an announcement: when they read it, and when they were nudged to."""

    __tablename__ = "announcement_receipts"
    __table_args__ = (Index("ix_announcement_receipts_member", "member_id", "announcement_id"),)

    announcement_id: Mapped[int] = mapped_column(ForeignKey("announcements.id"), primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), primary_key=True)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    nudged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    nudged_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class Question(Idempotent, db.Model):
    """A member's question, message or suggestion to the county or their township."""

    __tablename__ = "questions"
    __table_args__ = (
        # The officers' inboxes: by township (or the county's), open first, oldest first.
        Index("ix_questions_inbox", "addressed_to", "township_id", "status", "created_at"),
        Index("ix_questions_member", "member_id", "created_at"),
        Index("ix_questions_faq", "published_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    village_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    township_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    addressed_to: Mapped[str] = mapped_column(String(10))
    kind: Mapped[str] = mapped_column(String(12))
    body: Mapped[str] = mapped_column(String(1000))
    # The member agreed that the answer may be published without their name.
    consent_publish: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(String(10), default=OPEN)
    answer: Mapped[str | None] = mapped_column(Text)  # sanitised like an announcement
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When the member first opened the answer: until then it waits on their home page.
    answer_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # In the FAQ: the question as the officer rewrote it without personal details.
    faq_question: Mapped[str | None] = mapped_column(String(1000))
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    member = relationship("Member")
    answered_by = relationship("User", foreign_keys=[answered_by_id])
