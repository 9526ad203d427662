"""Paged lists of cases, pairings and requests in scope, and a member's own page."""

from dataclasses import dataclass
from datetime import date

from flask import url_for
from sqlalchemy import select

from baojing.dates import quarter_start
from baojing.extensions import db
from baojing.models.care import (
    CARE_KINDS,
    CASE_STATUSES,
    PENDING,
    REPORTED_VIA,
    SERVICE_STATUSES,
    SERVICE_WAITING,
    CareCase,
    FamilyPairing,
    ServiceRequest,
)
from baojing.models.members import Member
from baojing.models.org import OrgUnit
from baojing.models.users import User
from baojing.scoping import member_condition
from baojing.services import exports
from baojing.services.care.pairings import idle_since
from baojing.services.home import HomeItem
from baojing.services.paging import Page, fetch_page


def _village():
    return OrgUnit.__table__.alias("village")


def cases(user: User, *, status: str, kind: str, today: date, page: int) -> Page:
    """Cases in scope. status: pending | overdue | one of CASE_STATUSES | all."""
    return fetch_page(_cases(user, status, kind, today), page)


def _cases(user: User, status: str, kind: str, today: date, *more_columns):
    """The case list's select: its filters, scope and order (the page and the export)."""
    village = _village()
    stmt = (
        select(
            CareCase.id,
            CareCase.kind,
            CareCase.status,
            CareCase.due_on,
            CareCase.opened_on,
            CareCase.event_on,
            Member.name.label("member_name"),
            village.c.name.label("village_name"),
            *more_columns,
        )  # fmt: skip
        .join(Member, Member.id == CareCase.member_id)
        .join(village, village.c.id == CareCase.village_id)
        .where(member_condition(user, CareCase))
    )
    if status in ("pending", "overdue"):
        stmt = stmt.where(CareCase.status.in_(PENDING))
        if status == "overdue":
            stmt = stmt.where(CareCase.due_on < today)
        stmt = stmt.order_by(CareCase.due_on.is_(None), CareCase.due_on, CareCase.id)
    else:
        if status in CASE_STATUSES:
            stmt = stmt.where(CareCase.status == status)
        stmt = stmt.order_by(CareCase.opened_on.desc(), CareCase.id.desc())
    if kind:
        stmt = stmt.where(CareCase.kind == kind)
    return stmt


CASE_EXPORT_COLUMNS = (
    exports.Column("姓名", 10), exports.Column("村党支部", 12), exports.Column("事件类型", 10),
    exports.Column("状态", 8), exports.Column("逾期天数", 10, exports.NUMBER),
    exports.Column("事件日期", 12, exports.DATE), exports.Column("报告日期", 12, exports.DATE),
    exports.Column("应走访日期", 12, exports.DATE), exports.Column("首次走访", 12, exports.DATE),
    exports.Column("办结日期", 12, exports.DATE), exports.Column("消息来源", 10),
    exports.Column("情况说明", 40),
)  # fmt: skip


def export_cases(user: User, *, status: str, kind: str, today: date) -> exports.Export:
    """Every case the list shows with these filters, in its order, as an export."""
    stmt = _cases(
        user, status, kind, today, CareCase.first_visit_on, CareCase.closed_on,
        CareCase.reported_via, CareCase.description,
    ).execution_options(yield_per=exports.CHUNK_ROWS)  # fmt: skip

    def rows():
        for c in exports.stream(stmt):
            late = c.status in PENDING and c.due_on is not None and c.due_on < today
            yield (
                c.member_name, c.village_name, CARE_KINDS.get(c.kind, c.kind),
                CASE_STATUSES.get(c.status, c.status), (today - c.due_on).days if late else None,
                c.event_on, c.opened_on, c.due_on, c.first_visit_on, c.closed_on,
                REPORTED_VIA.get(c.reported_via, c.reported_via), c.description,
            )  # fmt: skip

    return exports.Export("care-cases", "关怀事件", CASE_EXPORT_COLUMNS, rows())


def pairings(user: User, today: date, *, idle_only: bool, page: int) -> Page:
    """Standing pairings in scope, with the last help; idle = no help this quarter."""
    village = _village()
    stmt = (
        select(
            FamilyPairing.id,
            FamilyPairing.helpers,
            FamilyPairing.started_on,
            Member.name.label("member_name"),
            village.c.name.label("village_name"),
            FamilyPairing.last_helped_on.label("last_help"),
        )  # fmt: skip
        .join(Member, Member.id == FamilyPairing.member_id)
        .join(village, village.c.id == FamilyPairing.village_id)
        .where(member_condition(user, FamilyPairing), FamilyPairing.ended_on.is_(None))
        .order_by(FamilyPairing.village_id, Member.name, FamilyPairing.id)
    )
    if idle_only:
        stmt = stmt.where(idle_since(quarter_start(today)))
    return fetch_page(stmt, page)


def requests(user: User, *, status: str, page: int) -> Page:
    """Service requests in scope. status: waiting | one of SERVICE_STATUSES | all."""
    stmt = (
        select(
            ServiceRequest.id,
            ServiceRequest.kind,
            ServiceRequest.subject,
            ServiceRequest.status,
            ServiceRequest.created_at,
            ServiceRequest.updated_at,
            Member.name.label("member_name"),
        )  # fmt: skip
        .join(Member, Member.id == ServiceRequest.member_id)
        .where(member_condition(user, ServiceRequest))
    )
    if status == "waiting":
        stmt = stmt.where(ServiceRequest.status.in_(SERVICE_WAITING)).order_by(
            ServiceRequest.created_at, ServiceRequest.id
        )
    else:
        if status in SERVICE_STATUSES:
            stmt = stmt.where(ServiceRequest.status == status)
        stmt = stmt.order_by(ServiceRequest.created_at.desc(), ServiceRequest.id.desc())
    return fetch_page(stmt, page)


@dataclass(frozen=True)
class Mine:
    cases: list
    requests: list


def for_member(member_id: int, limit: int = 50) -> Mine:
    """What a member reported and asked for, newest first."""
    conn = db.session.connection()
    case_rows = conn.execute(
        select(CareCase.id, CareCase.kind, CareCase.status, CareCase.event_on, CareCase.opened_on)
        .where(CareCase.member_id == member_id)
        .order_by(CareCase.opened_on.desc(), CareCase.id.desc())
        .limit(limit)
    ).all()
    request_rows = conn.execute(
        select(
            ServiceRequest.id,
            ServiceRequest.kind,
            ServiceRequest.subject,
            ServiceRequest.status,
            ServiceRequest.updated_at,
        )  # fmt: skip
        .where(ServiceRequest.member_id == member_id)
        .order_by(ServiceRequest.created_at.desc(), ServiceRequest.id.desc())
        .limit(limit)
    ).all()
    return Mine(case_rows, request_rows)


def for_home(user) -> list[HomeItem]:
    """A member's home page: their care events still being looked after and their service
    requests still being handled (services/home.py), two small queries."""
    if not user.member_id:
        return []
    conn = db.session.connection()
    cases = conn.execute(
        select(CareCase.id, CareCase.kind, CareCase.status)
        .where(CareCase.member_id == user.member_id, CareCase.status.in_(PENDING))
        .order_by(CareCase.opened_on.desc(), CareCase.id.desc())
        .limit(5)
    ).all()
    requests = conn.execute(
        select(ServiceRequest.id, ServiceRequest.subject, ServiceRequest.status)
        .where(
            ServiceRequest.member_id == user.member_id,
            ServiceRequest.status.in_(SERVICE_WAITING),
        )
        .order_by(ServiceRequest.created_at.desc(), ServiceRequest.id.desc())
        .limit(5)
    ).all()
    mine = url_for("care.mine")
    return [
        HomeItem("care", f"{CARE_KINDS[c.kind]}：支部会来看望", mine, note=CASE_STATUSES[c.status])
        for c in cases
    ] + [HomeItem("care", r.subject, mine, note=SERVICE_STATUSES[r.status]) for r in requests]
