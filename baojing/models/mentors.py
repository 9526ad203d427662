"""Career support: mentors (帮带), 小个专 enterprises with credit and difficulties, honours, events.

Money is stored in fen (integers): totals are exact sums, never floats.
"""

from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from baojing.extensions import db
from baojing.models.types import FEN, Idempotent, UTCDateTime, utcnow

SITUATIONS = {"business": "新创业", "job": "新就业"}
PROPOSED, ACTIVE, COMPLETED, ENDED = "proposed", "active", "completed", "ended"
MENTORSHIP_STATUSES = {PROPOSED: "待确认", ACTIVE: "帮带中", COMPLETED: "已完成", ENDED: "已结束"}
OPEN_MENTORSHIP = (PROPOSED, ACTIVE)
OUTCOMES = {"running": "企业正常经营", "employed": "稳定就业", "ended": "未能坚持"}

ENTERPRISE_KINDS = {"micro": "小微企业", "individual": "个体工商户", "market": "专业市场"}
CREDIT_STATUSES = {"applied": "申请中", "granted": "已放款", "repaid": "已还清"}
HONOURS = {
    "two_reps": "两代表一委员",
    "model_member": "最美共产党员",
    "labour_model": "劳动模范",
    "other": "其他荣誉",
}
HONOUR_STATUSES = {
    "recommended": "已推荐",
    "reviewing": "审核中",
    "awarded": "已获评",
    "declined": "未获评",
}
INVITATION_STATUSES = {"invited": "已邀请", "accepted": "将参加", "declined": "不能参加"}


class MentorProfile(Idempotent, db.Model):
    """A member willing to mentor: what they know, where, and how many they can take."""

    __tablename__ = "mentor_profiles"
    __table_args__ = (
        CheckConstraint(
            "active_mentees >= 0 AND active_mentees <= capacity", name="mentees_within_capacity"
        ),
        CheckConstraint("capacity BETWEEN 1 AND 10", name="capacity_range"),
        # One index per thing a suggestion matches on: each branch of the search is a range.
        Index("ix_mentor_profiles_trade", "available", "trade"),
        Index("ix_mentor_profiles_city", "available", "dest_city"),
        Index("ix_mentor_profiles_province", "available", "dest_province"),
        Index("ix_mentor_profiles_township", "available", "township_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), unique=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    township_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    trade: Mapped[str] = mapped_column(String(30))
    dest_province: Mapped[str] = mapped_column(String(20), default="")
    dest_city: Mapped[str] = mapped_column(String(30), default="")
    experience: Mapped[str] = mapped_column(String(300), default="")
    capacity: Mapped[int] = mapped_column(default=2)
    # Kept in step with the active mentorships, in the same transaction; the CHECK
    # above is the last line against two acceptances at once.
    active_mentees: Mapped[int] = mapped_column(default=0)
    available: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    member = relationship("Member")


class Mentorship(Idempotent, db.Model):
    """proposed → active (both accepted) → completed (with an outcome) or ended (with a reason)."""

    __tablename__ = "mentorships"
    __table_args__ = (
        Index("ix_mentorships_mentor", "mentor_id", "status"),
        Index("ix_mentorships_mentee", "mentee_member_id", "status"),
        Index("ix_mentorships_village", "village_id", "status"),
        Index("ix_mentorships_township", "township_id", "status"),
        # A new entrepreneur has at most one mentor being arranged or at work.
        Index(
            "uq_mentorships_open_mentee",
            "mentee_member_id",
            unique=True,
            sqlite_where=text("status IN ('proposed', 'active')"),
            postgresql_where=text("status IN ('proposed', 'active')"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    mentor_id: Mapped[int] = mapped_column(ForeignKey("mentor_profiles.id"))
    mentor_member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    mentee_member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    # The mentee's village and township: whose branch arranged it.
    village_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    township_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    situation: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(10), default=PROPOSED)
    note: Mapped[str] = mapped_column(String(200), default="")
    proposed_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    proposed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    mentor_accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    mentee_accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    started_on: Mapped[date | None]
    finished_on: Mapped[date | None]
    outcome: Mapped[str] = mapped_column(String(10), default="")
    end_reason: Mapped[str] = mapped_column(String(100), default="")

    mentor = relationship("MentorProfile")
    mentor_member = relationship("Member", foreign_keys=[mentor_member_id])
    mentee = relationship("Member", foreign_keys=[mentee_member_id])


class MentorCheckin(Idempotent, db.Model):
    __tablename__ = "mentor_checkins"
    __table_args__ = (Index("ix_mentor_checkins_mentorship", "mentorship_id", "checked_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    mentorship_id: Mapped[int] = mapped_column(ForeignKey("mentorships.id"))
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    side: Mapped[str] = mapped_column(String(10))  # mentor / mentee / branch
    checked_on: Mapped[date]
    note: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    author = relationship("User")


class Enterprise(Idempotent, db.Model):
    """小个专: a small business, sole trader or market run by or employing mobile members."""

    __tablename__ = "enterprises"
    __table_args__ = (Index("ix_enterprises_township", "township_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(60))
    kind: Mapped[str] = mapped_column(String(10))
    # The township whose members run it or work there (who looks after it).
    township_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    location: Mapped[str] = mapped_column(String(100), default="")
    trade: Mapped[str] = mapped_column(String(30), default="")
    party_members: Mapped[int] = mapped_column(default=0)
    has_party_org: Mapped[bool] = mapped_column(default=False)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class EnterpriseMember(db.Model):
    __tablename__ = "enterprise_members"
    __table_args__ = (UniqueConstraint("enterprise_id", "member_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    role: Mapped[str] = mapped_column(String(10))  # owner / employee

    member = relationship("Member")


class CreditSupport(Idempotent, db.Model):
    """授信贷款: a loan to an enterprise, in fen."""

    __tablename__ = "credit_supports"
    __table_args__ = (
        CheckConstraint("amount_fen > 0 AND amount_fen <= 100000000000", name="amount_range"),
        Index("ix_credit_supports_enterprise", "enterprise_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"))
    bank: Mapped[str] = mapped_column(String(40))
    amount_fen: Mapped[int] = mapped_column(FEN)
    status: Mapped[str] = mapped_column(String(10))
    granted_on: Mapped[date | None]
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Difficulty(Idempotent, db.Model):
    """A difficulty an enterprise raised, who helped, and when it was resolved."""

    __tablename__ = "enterprise_difficulties"
    __table_args__ = (Index("ix_enterprise_difficulties_enterprise", "enterprise_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"))
    description: Mapped[str] = mapped_column(String(300))
    raised_on: Mapped[date]
    helped_by: Mapped[str] = mapped_column(String(100), default="")
    resolved_on: Mapped[date | None]
    resolution: Mapped[str] = mapped_column(String(200), default="")
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class HonourRecommendation(Idempotent, db.Model):
    __tablename__ = "honour_recommendations"
    __table_args__ = (
        Index("ix_honours_village", "village_id", "status"),
        Index("ix_honours_township", "township_id", "status"),
        Index("ix_honours_member", "member_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    village_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    township_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    honour: Mapped[str] = mapped_column(String(20))
    honour_name: Mapped[str] = mapped_column(String(40), default="")
    reason: Mapped[str] = mapped_column(String(500))
    evidence: Mapped[str] = mapped_column(String(500), default="")
    status: Mapped[str] = mapped_column(String(12), default="recommended")
    decided_on: Mapped[date | None]
    decision_note: Mapped[str] = mapped_column(String(200), default="")
    recommended_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    member = relationship("Member")


class Event(Idempotent, db.Model):
    """A county meeting or event members are invited to (the Spring Festival meeting …)."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(60))
    held_on: Mapped[date]
    place: Mapped[str] = mapped_column(String(100), default="")
    description: Mapped[str] = mapped_column(String(300), default="")
    # NULL: county-wide; otherwise one township's own event.
    township_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"))
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Invitation(db.Model):
    __tablename__ = "invitations"
    __table_args__ = (
        UniqueConstraint("event_id", "member_id"),
        Index("ix_invitations_member", "member_id"),
        Index("ix_invitations_event_village", "event_id", "village_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    village_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    township_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    status: Mapped[str] = mapped_column(String(10), default="invited")
    # NULL until the day: then attended or not.
    attended: Mapped[bool | None]
    invited_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    member = relationship("Member")
