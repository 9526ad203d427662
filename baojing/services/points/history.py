"""A member's points as they read them: the ledger lines, what they can afford, bookings."""

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from baojing.dates import local_today
from baojing.extensions import db
from baojing.models.points import (
    ENTRY_LABELS,
    ItemSession,
    PointEntry,
    Redemption,
    Voucher,
)

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
    # Who may undo it by hand: the rule's awarders; never an automatic award.
    undo_roles: tuple[str, ...] = ()


def entries(member_id: int, page: int = 1) -> tuple[list[Line], int]:
    """One page of the member's ledger, newest first, and the number of pages."""
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
            undo_roles=tuple(e.rule.roles) if e.rule and not e.source_type else (),
        )
        for e in rows
    ]
    return lines, pages


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
