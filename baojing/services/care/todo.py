"""The secretary's phone home: what is waiting for them, most urgent first.

Hot path (bench/care.py). Building a select costs more than SQLite takes to run it
here, so the statements are built once per scope kind with every value a bind
parameter; each list carries its own total as a scalar subquery, so the page is
three round trips, each an indexed range bounded by LIMIT.
"""

import functools
from dataclasses import dataclass
from datetime import date

from sqlalchemy import and_, bindparam, case, exists, func, null, select

from baojing.dates import quarter_start
from baojing.extensions import db
from baojing.models.care import (
    PENDING,
    SERVICE_WAITING,
    CareCase,
    FamilyPairing,
    PairingHelp,
    ServiceRequest,
)
from baojing.models.members import Member
from baojing.models.org import OrgUnit
from baojing.models.users import User
from baojing.scoping import member_condition_by_kind, member_scope

CASES_SHOWN = 15
OTHERS_SHOWN = 5


@dataclass(frozen=True)
class Todo:
    today: date
    season_start: date
    cases: list  # rows: id, kind, status, due_on, member_name, village_name
    cases_total: int
    overdue: int
    requests: list  # rows: id, kind, subject, status, created_at, member_name
    requests_total: int
    idle_pairings: list  # rows: id, member_name, helpers, last_help
    idle_total: int


def _uncorrelated(count, label: str):
    """A list's total as a column of every row: run once by SQLite, not per row."""
    return count.correlate(None).scalar_subquery().label(label)


def _pending(scope: str):
    return and_(member_condition_by_kind(scope, CareCase), CareCase.status.in_(PENDING))


@functools.lru_cache(maxsize=8)
def _count_statement(scope: str):
    overdue = func.coalesce(func.sum(case((CareCase.due_on < bindparam("today"), 1), else_=0)), 0)
    return select(func.count().label("total"), overdue.label("overdue")).where(_pending(scope))


@functools.lru_cache(maxsize=8)
def _statements(scope: str):
    """(cases, requests, idle pairings) for one scope kind; binds scope_id, today, season."""
    pending = _pending(scope)
    total = select(func.count()).select_from(CareCase).where(pending)
    overdue = total.where(CareCase.due_on < bindparam("today"))
    # Beyond one village a row says which village.
    village = OrgUnit.__table__.alias("village")
    village_name = null() if scope == "village" else village.c.name
    cases = (
        select(
            CareCase.id,
            CareCase.kind,
            CareCase.status,
            CareCase.due_on,
            Member.name.label("member_name"),
            village_name.label("village_name"),
            _uncorrelated(total, "total"),
            _uncorrelated(overdue, "overdue"),
        )  # fmt: skip
        .join(Member, Member.id == CareCase.member_id)
        .where(pending)
        .order_by(CareCase.due_on.is_(None), CareCase.due_on, CareCase.id)
        .limit(CASES_SHOWN)
    )
    if scope != "village":
        cases = cases.join(village, village.c.id == CareCase.village_id)

    waiting = and_(
        member_condition_by_kind(scope, ServiceRequest), ServiceRequest.status.in_(SERVICE_WAITING)
    )
    requests = (
        select(
            ServiceRequest.id,
            ServiceRequest.kind,
            ServiceRequest.subject,
            ServiceRequest.status,
            ServiceRequest.created_at,
            Member.name.label("member_name"),
            _uncorrelated(select(func.count()).select_from(ServiceRequest).where(waiting), "total"),
        )  # fmt: skip
        .join(Member, Member.id == ServiceRequest.member_id)
        .where(waiting)
        .order_by(ServiceRequest.created_at, ServiceRequest.id)
        .limit(OTHERS_SHOWN)
    )

    helped = exists().where(
        PairingHelp.pairing_id == FamilyPairing.id, PairingHelp.helped_on >= bindparam("season")
    )
    idle = and_(
        member_condition_by_kind(scope, FamilyPairing), FamilyPairing.ended_on.is_(None), ~helped
    )
    last_help = (
        select(func.max(PairingHelp.helped_on))
        .where(PairingHelp.pairing_id == FamilyPairing.id)
        .scalar_subquery()
    )
    pairings = (
        select(
            FamilyPairing.id,
            Member.name.label("member_name"),
            FamilyPairing.helpers,
            last_help.label("last_help"),
            _uncorrelated(select(func.count()).select_from(FamilyPairing).where(idle), "total"),
        )  # fmt: skip
        .join(Member, Member.id == FamilyPairing.member_id)
        .where(idle)
        .order_by(FamilyPairing.started_on, FamilyPairing.id)
        .limit(OTHERS_SHOWN)
    )
    return cases, requests, pairings


def case_counts(user: User, today: date) -> tuple[int, int]:
    """(cases waiting for a visit, of which overdue) in the user's scope; the home page shows them."""
    scope, scope_id = member_scope(user)
    row = (
        db.session.connection()
        .execute(_count_statement(scope), {"scope_id": scope_id, "today": today})
        .first()
    )
    return row.total, row.overdue


def todo_for(user: User, today: date) -> Todo:
    scope, scope_id = member_scope(user)
    season = quarter_start(today)
    params = {"scope_id": scope_id, "today": today, "season": season}
    conn = db.session.connection()
    cases, requests, pairings = (conn.execute(s, params).all() for s in _statements(scope))
    return Todo(
        today=today, season_start=season,
        cases=cases, cases_total=cases[0].total if cases else 0,
        overdue=cases[0].overdue if cases else 0,
        requests=requests, requests_total=requests[0].total if requests else 0,
        idle_pairings=pairings, idle_total=pairings[0].total if pairings else 0,
    )  # fmt: skip
