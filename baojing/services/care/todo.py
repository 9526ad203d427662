"""The secretary's phone home: what is waiting for them, most urgent first.

Hot path (bench/care.py). Building a select costs more than SQLite takes to run it
here, so the statements are built once per scope kind with every value a bind
parameter; each list carries its own total as a scalar subquery, so the page is
three round trips, each an indexed range bounded by LIMIT.

A township has hundreds of open cases and pairings at province size. Each list first
picks the ids it shows from the scope's index alone (sorting narrow index rows), and
only those few rows are joined to members and villages: the join and the per-row
subqueries then cost the same at 20,000 and at 200,000 members.
"""

import functools
from dataclasses import dataclass
from datetime import date

from sqlalchemy import and_, bindparam, case, func, null, select

from baojing.dates import quarter_start
from baojing.extensions import db
from baojing.models.care import (
    PENDING,
    SERVICE_WAITING,
    CareCase,
    FamilyPairing,
    ServiceRequest,
)
from baojing.models.members import Member
from baojing.models.org import OrgUnit
from baojing.models.users import User
from baojing.scoping import member_condition_by_kind, member_scope
from baojing.services.care.pairings import idle_since

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


def _first(ids, n: int):
    """The ids of a list's first n rows, as a subquery to join the shown rows to."""
    return ids.limit(n).subquery("shown")


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
    case_order = (CareCase.due_on.is_(None), CareCase.due_on, CareCase.id)
    shown = _first(select(CareCase.id).where(pending).order_by(*case_order), CASES_SHOWN)
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
        .join(shown, shown.c.id == CareCase.id)
        .join(Member, Member.id == CareCase.member_id)
        .order_by(*case_order)
    )
    if scope != "village":
        cases = cases.join(village, village.c.id == CareCase.village_id)

    waiting = and_(
        member_condition_by_kind(scope, ServiceRequest), ServiceRequest.status.in_(SERVICE_WAITING)
    )
    request_order = (ServiceRequest.created_at, ServiceRequest.id)
    shown = _first(select(ServiceRequest.id).where(waiting).order_by(*request_order), OTHERS_SHOWN)
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
        .join(shown, shown.c.id == ServiceRequest.id)
        .join(Member, Member.id == ServiceRequest.member_id)
        .order_by(*request_order)
    )

    idle = and_(member_condition_by_kind(scope, FamilyPairing), idle_since(bindparam("season")))
    pairing_order = (FamilyPairing.started_on, FamilyPairing.id)
    shown = _first(select(FamilyPairing.id).where(idle).order_by(*pairing_order), OTHERS_SHOWN)
    pairings = (
        select(
            FamilyPairing.id,
            Member.name.label("member_name"),
            FamilyPairing.helpers,
            FamilyPairing.last_helped_on.label("last_help"),
            _uncorrelated(select(func.count()).select_from(FamilyPairing).where(idle), "total"),
        )  # fmt: skip
        .join(shown, shown.c.id == FamilyPairing.id)
        .join(Member, Member.id == FamilyPairing.member_id)
        .order_by(*pairing_order)
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
