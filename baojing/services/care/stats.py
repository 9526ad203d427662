"""Township and county view: overdue cases, median days to a visit, cases per type per month."""

from dataclasses import dataclass
from datetime import date

from sqlalchemy import case, func, select

from baojing.dates import months_before
from baojing.db import days_between, year_month
from baojing.extensions import db
from baojing.models.care import PENDING, CareCase
from baojing.models.members import Member
from baojing.models.org import OrgUnit
from baojing.models.users import User
from baojing.scoping import member_condition

OVERDUE_SHOWN = 100


@dataclass(frozen=True)
class CareStats:
    since: date
    overdue: list  # rows: id, kind, due_on, member_name, village_name
    overdue_total: int
    townships: list  # (name, cases visited, median days, cases still pending)
    months: list[str]  # 2026-01 … oldest first
    per_month: dict  # {(month, kind): count}


def care_stats(user: User, today: date, months: int = 12) -> CareStats:
    conn = db.session.connection()
    in_scope = member_condition(user, CareCase)
    since = months_before(today, months - 1).replace(day=1)
    village = OrgUnit.__table__.alias("village")

    late = (in_scope, CareCase.status.in_(PENDING), CareCase.due_on < today)
    overdue = conn.execute(
        select(
            CareCase.id,
            CareCase.kind,
            CareCase.due_on,
            Member.name.label("member_name"),
            village.c.name.label("village_name"),
        )  # fmt: skip
        .join(Member, Member.id == CareCase.member_id)
        .join(village, village.c.id == CareCase.village_id)
        .where(*late)
        .order_by(CareCase.due_on, CareCase.id)
        .limit(OVERDUE_SHOWN)
    ).all()
    overdue_total = conn.execute(select(func.count()).where(*late)).scalar_one()

    counted = (in_scope, CareCase.opened_on >= since, CareCase.status != "cancelled")
    medians = _median_days_to_visit(conn, counted)
    visited = func.count(CareCase.first_visit_on)
    waiting = func.sum(
        case((CareCase.first_visit_on.is_(None) & CareCase.status.in_(PENDING), 1), else_=0)
    )
    townships = [
        (name or "?", n_visited, medians.get(tid), n_waiting)
        for tid, name, n_visited, n_waiting in conn.execute(
            select(CareCase.township_id, OrgUnit.name, visited, waiting)
            .outerjoin(OrgUnit, OrgUnit.id == CareCase.township_id)
            .where(*counted)
            .group_by(CareCase.township_id, OrgUnit.name)
            .having((visited > 0) | (waiting > 0))
            .order_by(OrgUnit.name)
        )
    ]

    month = year_month(CareCase.opened_on)
    per_month = {
        (m, kind): n
        for m, kind, n in conn.execute(
            select(month, CareCase.kind, func.count())
            .where(*counted)
            .group_by(month, CareCase.kind)
        )
    }
    labels = [
        months_before(today.replace(day=1), back).strftime("%Y-%m")
        for back in range(months - 1, -1, -1)
    ]
    return CareStats(since, overdue, overdue_total, townships, labels, per_month)


def _median_days_to_visit(conn, counted) -> dict[int, int | float]:
    """Median days from the report to the first visit, per township, as statistics.median.

    The one or two middle rows of each township's sorted days: one gives that day count,
    two give their mean (a float, as statistics.median returns for an even count).
    """
    days = days_between(CareCase.first_visit_on, CareCase.opened_on)
    ranked = (
        select(
            CareCase.township_id,
            days.label("days"),
            func.row_number().over(partition_by=CareCase.township_id, order_by=days).label("rank"),
            func.count().over(partition_by=CareCase.township_id).label("n"),
        )
        .where(*counted, CareCase.first_visit_on.is_not(None))
        .subquery()
    )
    middle = conn.execute(
        select(ranked.c.township_id, func.sum(ranked.c.days), func.count())
        .where(ranked.c.rank.between((ranked.c.n + 1) // 2, (ranked.c.n + 2) // 2))
        .group_by(ranked.c.township_id)
    )
    return {tid: total if picked == 1 else total / 2 for tid, total, picked in middle}
