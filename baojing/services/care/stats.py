"""Township and county view: overdue cases, median days to a visit, cases per type per month."""

import statistics
from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select

from baojing.dates import months_before
from baojing.extensions import read_connection
from baojing.models.care import PENDING, CareCase
from baojing.models.members import Member
from baojing.models.org import OrgUnit
from baojing.models.users import User
from baojing.scoping import copied_scope_condition

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
    conn = read_connection()
    in_scope = copied_scope_condition(user, CareCase)
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

    # Days from the report to the first visit, per township, for cases opened since `since`.
    days = defaultdict(list)
    pending = defaultdict(int)
    rows = conn.execute(
        select(
            CareCase.township_id, CareCase.opened_on, CareCase.first_visit_on, CareCase.status
        ).where(in_scope, CareCase.opened_on >= since, CareCase.status != "cancelled")
    )
    for township_id, opened_on, first_visit_on, status in rows:
        if first_visit_on is not None:
            days[township_id].append(max(0, (first_visit_on - opened_on).days))
        elif status in PENDING:
            pending[township_id] += 1
    names = dict(
        conn.execute(
            select(OrgUnit.id, OrgUnit.name).where(OrgUnit.id.in_(set(days) | set(pending)))
        ).all()
    )
    townships = sorted(
        (
            (
                names.get(tid, "?"),
                len(days[tid]),
                statistics.median(days[tid]) if days[tid] else None,
                pending[tid],
            )
            for tid in set(days) | set(pending)
        ),
        key=lambda row: row[0],
    )

    month = func.strftime("%Y-%m", CareCase.opened_on)
    per_month = {
        (m, kind): n
        for m, kind, n in conn.execute(
            select(month, CareCase.kind, func.count())
            .where(in_scope, CareCase.opened_on >= since, CareCase.status != "cancelled")
            .group_by(month, CareCase.kind)
        )
    }
    labels = [
        months_before(today.replace(day=1), back).strftime("%Y-%m")
        for back in range(months - 1, -1, -1)
    ]
    return CareStats(since, overdue, overdue_total, townships, labels, per_month)
