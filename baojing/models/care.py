"""Care (四必访), family pairing (结对帮扶) and liaison service requests.

Every row here carries the member's village and township, copied when it is made,
so that a secretary's to-do is one indexed range per list, whatever the county's size.
Nothing is deleted (the migration's triggers refuse it): a case opened by mistake is
cancelled with a reason, a pairing is ended, a request is closed as 无法办理.
"""

from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from baojing.extensions import db
from baojing.models.types import FEN, Idempotent, UTCDateTime, utcnow

# 四必访: the four events that oblige the branch to visit, and the default days to do it.
CARE_KINDS = {
    "wedding_funeral": "婚丧嫁娶",
    "illness": "生病住院",
    "setback": "创业受挫",
    "hardship": "其他困难",
}
DEFAULT_DUE_DAYS = {"wedding_funeral": 3, "illness": 3, "setback": 7, "hardship": 7}
# Who brought the news: the member logs it themself; the others through the branch.
REPORTED_VIA = {"member": "党员本人", "liaison": "联络人", "family": "家属", "branch": "支部"}

OPEN, FOLLOW_UP, CLOSED, CANCELLED = "open", "follow_up", "closed", "cancelled"
CASE_STATUSES = {OPEN: "待走访", FOLLOW_UP: "待跟进", CLOSED: "已办结", CANCELLED: "已取消"}
# Cases still waiting for someone to go (the to-do).
PENDING = (OPEN, FOLLOW_UP)

VISIT_METHODS = {
    "home": "上门走访",
    "hospital": "医院探望",
    "phone": "电话慰问",
    "wechat": "微信/视频联系",
}
# 四必访 means going there: only these close a case or count as its first visit. A call
# is logged as contact and leaves the case open and due.
IN_PERSON = ("home", "hospital")

HELP_KINDS = {
    "farming": "农忙帮工",
    "flood": "汛期帮扶",
    "illness": "生病照料",
    "supplies": "物资送达",
    "other": "其他帮助",
}

SERVICE_KINDS = {"land": "土地承包", "loan": "贷款担保", "school": "子女入学", "other": "其他"}
RECEIVED, IN_PROGRESS, DONE, DECLINED = "received", "in_progress", "done", "declined"
SERVICE_STATUSES = {RECEIVED: "已受理", IN_PROGRESS: "办理中", DONE: "已办结", DECLINED: "无法办理"}
SERVICE_WAITING = (RECEIVED, IN_PROGRESS)
# received → in progress → done / cannot help; a closed request stays closed.
SERVICE_NEXT = {RECEIVED: (IN_PROGRESS, DONE, DECLINED), IN_PROGRESS: (DONE, DECLINED)}
SERVICE_OPENED_VIA = {"member": "党员本人", "liaison": "联络人", "branch": "支部"}


class CareCase(Idempotent, db.Model):
    __tablename__ = "care_cases"
    __table_args__ = (
        # The to-do: a village's (or township's) pending cases by due date.
        Index("ix_care_cases_village_todo", "village_id", "status", "due_on"),
        Index("ix_care_cases_township_todo", "township_id", "status", "due_on"),
        Index("ix_care_cases_status_due", "status", "due_on"),
        Index("ix_care_cases_member", "member_id", "opened_on"),
        Index("ix_care_cases_opened", "opened_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    village_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    township_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    kind: Mapped[str] = mapped_column(String(20))
    event_on: Mapped[date]
    description: Mapped[str] = mapped_column(String(300))
    reported_via: Mapped[str] = mapped_column(String(10))
    reported_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    opened_on: Mapped[date]
    # The day a visit is due; for a follow-up without a date, NULL (listed, never red).
    due_on: Mapped[date | None]
    status: Mapped[str] = mapped_column(String(12), default=OPEN)
    first_visit_on: Mapped[date | None]
    closed_on: Mapped[date | None]
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    cancel_reason: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    member = relationship("Member")
    reported_by = relationship("User", foreign_keys=[reported_by_id])


class CareVisit(Idempotent, db.Model):
    __tablename__ = "care_visits"
    __table_args__ = (Index("ix_care_visits_case", "case_id", "visited_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("care_cases.id"))
    visited_on: Mapped[date]
    visitors: Mapped[str] = mapped_column(String(100))
    method: Mapped[str] = mapped_column(String(10))
    findings: Mapped[str] = mapped_column(Text, default="")
    # Money given, in fen: amounts are exact, never floats.
    money_fen: Mapped[int] = mapped_column(FEN, default=0)
    goods: Mapped[str] = mapped_column(String(100), default="")
    help_arranged: Mapped[str] = mapped_column(String(200), default="")
    follow_up: Mapped[bool] = mapped_column(default=False)
    follow_up_on: Mapped[date | None]
    # The member far away reads a visit's notes only when the branch says so.
    shared_with_member: Mapped[bool] = mapped_column(default=False)
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    photos = relationship("CarePhoto", order_by="CarePhoto.id", lazy="selectin")
    recorded_by = relationship("User")


class CarePhoto(db.Model):
    """A visit's evidence photo: re-encoded on the server, stored under a random name."""

    __tablename__ = "care_photos"
    __table_args__ = (Index("ix_care_photos_visit", "visit_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("care_visits.id"))
    # The file's name on disk (hex, 128 bits); the uploaded name is never kept.
    token: Mapped[str] = mapped_column(String(32), unique=True)
    width: Mapped[int]
    height: Mapped[int]
    size_bytes: Mapped[int]
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class FamilyPairing(Idempotent, db.Model):
    """结对帮扶: a branch and named party members look after a member's family at home."""

    __tablename__ = "family_pairings"
    __table_args__ = (
        # The to-do counts a scope's idle pairings and lists the oldest from these alone.
        Index(
            "ix_family_pairings_village", "village_id", "ended_on", "last_helped_on", "started_on"
        ),
        Index(
            "ix_family_pairings_township", "township_id", "ended_on", "last_helped_on", "started_on"
        ),
        # One standing pairing per family; an ended one stays as history.
        Index(
            "uq_family_pairings_active",
            "member_id",
            unique=True,
            sqlite_where=text("ended_on IS NULL"),
            postgresql_where=text("ended_on IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    village_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    township_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    # The branch that pairs (usually the member's own village branch).
    branch_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    helpers: Mapped[str] = mapped_column(String(100))
    family_note: Mapped[str] = mapped_column(String(200), default="")
    started_on: Mapped[date]
    ended_on: Mapped[date | None]
    # The latest helped_on among its helps (None: never helped), kept by log_help so
    # that "idle this quarter" is a comparison on the row, not a search of the helps.
    last_helped_on: Mapped[date | None]
    end_reason: Mapped[str] = mapped_column(String(100), default="")
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    member = relationship("Member")
    branch = relationship("OrgUnit", foreign_keys=[branch_id])


class PairingHelp(Idempotent, db.Model):
    __tablename__ = "pairing_helps"
    __table_args__ = (Index("ix_pairing_helps_pairing", "pairing_id", "helped_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    pairing_id: Mapped[int] = mapped_column(ForeignKey("family_pairings.id"))
    helped_on: Mapped[date]
    kind: Mapped[str] = mapped_column(String(10))
    description: Mapped[str] = mapped_column(String(200))
    # Supplies handed over, e.g. 口罩 200 只.
    supplies: Mapped[str] = mapped_column(String(100), default="")
    helpers: Mapped[str] = mapped_column(String(100), default="")
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ServiceRequest(Idempotent, db.Model):
    """A liaison service (土地承包, 贷款担保, 子女入学 …) asked for by a member far away."""

    __tablename__ = "service_requests"
    __table_args__ = (
        Index("ix_service_requests_village", "village_id", "status", "created_at"),
        Index("ix_service_requests_township", "township_id", "status", "created_at"),
        Index("ix_service_requests_member", "member_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    village_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    township_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    kind: Mapped[str] = mapped_column(String(10))
    subject: Mapped[str] = mapped_column(String(60))
    description: Mapped[str] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(12), default=RECEIVED)
    opened_via: Mapped[str] = mapped_column(String(10))
    opened_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    # The member's liaison when the request came in: the one who carries it.
    liaison_id: Mapped[int | None] = mapped_column(ForeignKey("branch_contacts.id"))
    closed_on: Mapped[date | None]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    member = relationship("Member")
    liaison = relationship("BranchContact")


class ServiceUpdate(Idempotent, db.Model):
    """One message in a request's thread; a status change is an update too."""

    __tablename__ = "service_updates"
    __table_args__ = (Index("ix_service_updates_request", "service_request_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    service_request_id: Mapped[int] = mapped_column(ForeignKey("service_requests.id"))
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(String(500))
    # The status the request moved to with this update, or NULL for a plain message.
    status: Mapped[str | None] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    author = relationship("User")
