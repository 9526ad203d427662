"""A member's points as they read them: the ledger lines, what they can afford, bookings."""

from dataclasses import dataclass
from datetime import date

from sqlalchemy import exists, func, select
from sqlalchemy.orm import aliased, joinedload

from baojing.dates import local_today
from baojing.extensions import db
from baojing.models.members import Member
from baojing.models.org import OrgUnit
from baojing.models.points import (
    ENTRY_LABELS,
    ItemSession,
    PointEntry,
    PointRule,
    Redemption,
    Voucher,
)
from baojing.models.users import User
from baojing.services import exports
from baojing.services.points import awards

PER_PAGE = 30


@dataclass
class Line:
    id: int
    kind: str
    label: str
    points: int
    occurred_on: date
    reason: str
    serial: str | None
    by: str
    reversed: bool
    undoable: bool = False  # by the viewer, by hand (awards.may_undo)


def entries(member_id: int, page: int = 1, viewer: User | None = None) -> tuple[list[Line], int]:
    """One page of the member's ledger, newest first, and the number of pages; with
    a viewer, which lines they may undo."""
    total = db.session.scalar(
        select(func.count()).select_from(PointEntry).where(PointEntry.member_id == member_id)
    )
    pages = max(1, -(-total // PER_PAGE))
    page = min(max(page, 1), pages)
    rows = db.session.scalars(
        select(PointEntry)
        # One query for the page, not one per line for its rule, receipt and author.
        .options(
            joinedload(PointEntry.rule),
            joinedload(PointEntry.redemption),
            joinedload(PointEntry.created_by),
        )
        .where(PointEntry.member_id == member_id)
        .order_by(PointEntry.id.desc())
        .limit(PER_PAGE)
        .offset((page - 1) * PER_PAGE)
    ).all()
    # Which lines of this page were undone: one lookup for the page, not the member's history.
    reversed_ids = set(
        db.session.scalars(
            select(PointEntry.reverses_id).where(PointEntry.reverses_id.in_([e.id for e in rows]))
        )
    )
    lines = [
        Line(
            id=e.id,
            kind=e.kind,
            label=e.rule.name if e.rule else ENTRY_LABELS[e.kind],
            points=e.points,
            occurred_on=e.occurred_on,
            reason=e.reason,
            serial=e.redemption.serial if e.redemption else None,
            by=e.created_by.display_name if e.created_by else "系统",
            reversed=e.id in reversed_ids,
            undoable=viewer is not None and awards.may_undo(viewer, e),
        )
        for e in rows
    ]
    return lines, pages


LEDGER_EXPORT_COLUMNS = (
    exports.Column("姓名", 10), exports.Column("身份证号", 21, exports.ID_NUMBER),
    exports.Column("村党支部", 12), exports.Column("日期", 12, exports.DATE),
    exports.Column("季度", 8), exports.Column("项目", 20), exports.Column("积分", 8, exports.NUMBER),
    exports.Column("说明", 30), exports.Column("小票号", 18), exports.Column("经办人", 12),
    exports.Column("备注", 8),
)  # fmt: skip


def _ledger_export(condition, order, name: str, title: str) -> exports.Export:
    """Ledger lines as the member's page shows them (label, receipt, author, 已冲正)."""
    reversal = aliased(PointEntry)
    stmt = (
        select(
            Member.name, Member.id_number, OrgUnit.name.label("village"), PointEntry.occurred_on,
            PointEntry.quarter, PointEntry.kind, PointRule.name.label("rule"), PointEntry.points,
            PointEntry.reason, Redemption.serial, User.display_name.label("by"),
            exists().where(reversal.reverses_id == PointEntry.id).label("undone"),
        )
        .select_from(PointEntry)
        .join(Member, Member.id == PointEntry.member_id)
        .join(OrgUnit, OrgUnit.id == Member.village_id)
        .outerjoin(PointRule, PointRule.id == PointEntry.rule_id)
        .outerjoin(Redemption, Redemption.id == PointEntry.redemption_id)
        .outerjoin(User, User.id == PointEntry.created_by_id)
        .where(condition)
        .order_by(*order)
        .execution_options(yield_per=exports.CHUNK_ROWS)
    )  # fmt: skip

    def rows():
        for r in exports.stream(stmt):
            yield (
                r.name, r.id_number, r.village, r.occurred_on, r.quarter,
                r.rule or ENTRY_LABELS.get(r.kind, r.kind), r.points, r.reason, r.serial,
                r.by or "系统", "已冲正" if r.undone else "",
            )  # fmt: skip

    return exports.Export(name, title, LEDGER_EXPORT_COLUMNS, rows())


def export_member(member: Member) -> exports.Export:
    """One member's whole ledger, newest first (the order of their page)."""
    return _ledger_export(
        PointEntry.member_id == member.id,
        (PointEntry.id.desc(),),
        f"points-{member.id}",
        "积分明细",
    )


def export_village(village: OrgUnit) -> exports.Export:
    """Every ledger line of the village's members (whatever their status), member by member."""
    return _ledger_export(
        Member.village_id == village.id, (Member.name, Member.id, PointEntry.id),
        f"points-village-{village.id}", f"{village.name}积分台账",
    )  # fmt: skip


@dataclass
class Booking:
    item: str
    on_date: date | None
    place: str
    code: str
    used: bool
    serial: str


def bookings(member_id: int) -> list[Booking]:
    """Health checks and classes booked with points and not reversed, soonest first."""
    reversed_redemptions = select(PointEntry.redemption_id).where(
        PointEntry.member_id == member_id, PointEntry.kind == "reverse",
        PointEntry.redemption_id.is_not(None),
    )  # fmt: skip
    rows = db.session.execute(
        select(Redemption, Voucher, ItemSession)
        .options(joinedload(Redemption.item))
        .join(Voucher, Voucher.redemption_id == Redemption.id)
        .outerjoin(ItemSession, ItemSession.id == Redemption.session_id)
        .where(
            Redemption.member_id == member_id,
            Redemption.session_id.is_not(None),
            Redemption.id.not_in(reversed_redemptions),
        )
        .order_by(ItemSession.on_date.desc())
    ).all()
    today = local_today()
    out = [
        Booking(
            item=r.item.name,
            on_date=s.on_date if s else None,
            place=s.place if s else "",
            code=v.code,
            used=v.used_at is not None,
            serial=r.serial,
        )
        for r, v, s in rows
    ]
    # Coming ones first, then the past.
    return sorted(out, key=lambda b: (b.on_date is None or b.on_date < today, b.on_date or today))
