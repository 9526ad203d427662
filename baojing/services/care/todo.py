"""The secretary's phone home: what is waiting for them, most urgent first.

Hot path (bench/care.py): a few indexed Core queries on the read connection, each
bounded by LIMIT, none per row.
"""

from dataclasses import dataclass
from datetime import date

from sqlalchemy import Integer, exists, func, null, select

from baojing.dates import quarter_start
from baojing.extensions import read_connection
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
from baojing.models.users import VILLAGE_SECRETARY, User
from baojing.scoping import copied_scope_condition

SHOWN = 30


@dataclass(frozen=True)
class Todo:
    today: date
    season_start: date
    cases: list  # rows: id, kind, status, due_on, event_on, member_name
    cases_total: int
    overdue: int
    requests: list  # rows: id, kind, subject, status, created_at, member_name
    requests_total: int
    idle_pairings: list  # rows: id, member_name, helpers, last_help
    idle_total: int


def pending_cases_stmt(user: User, limit: int = SHOWN):
    """Cases still waiting for a visit: overdue first, follow-ups without a date last.

    Beyond one village the rows say which village (village_name is NULL for a secretary).
    """
    village = OrgUnit.__table__.alias("village")
    village_name = village.c.name if user.role != VILLAGE_SECRETARY else null()
    return (
        select(
            CareCase.id,
            CareCase.kind,
            CareCase.status,
            CareCase.due_on,
            CareCase.event_on,
            Member.name.label("member_name"),
            village_name.label("village_name"),
        )
        .join(Member, Member.id == CareCase.member_id)
        .join(village, village.c.id == CareCase.village_id)
        .where(copied_scope_condition(user, CareCase), CareCase.status.in_(PENDING))
        .order_by(CareCase.due_on.is_(None), CareCase.due_on, CareCase.id)
        .limit(limit)
    )


def case_counts(user: User, today: date) -> tuple[int, int]:
    """(cases waiting for a visit, of which overdue) in the user's scope; the home page shows them."""
    row = (
        read_connection()
        .execute(
            select(
                func.count(),
                func.coalesce(func.sum((CareCase.due_on < today).cast(Integer)), 0),
            ).where(copied_scope_condition(user, CareCase), CareCase.status.in_(PENDING))
        )
        .one()
    )
    return row[0], row[1]


def todo_for(user: User, today: date) -> Todo:
    conn = read_connection()
    counts = case_counts(user, today)
    cases = conn.execute(pending_cases_stmt(user)).all()

    waiting = (
        copied_scope_condition(user, ServiceRequest),
        ServiceRequest.status.in_(SERVICE_WAITING),
    )
    requests = conn.execute(
        select(
            ServiceRequest.id,
            ServiceRequest.kind,
            ServiceRequest.subject,
            ServiceRequest.status,
            ServiceRequest.created_at,
            Member.name.label("member_name"),
        )  # fmt: skip
        .join(Member, Member.id == ServiceRequest.member_id)
        .where(*waiting)
        .order_by(ServiceRequest.created_at)
        .limit(SHOWN)
    ).all()
    requests_total = conn.execute(select(func.count()).where(*waiting)).scalar_one()

    season_start = quarter_start(today)
    helped = exists().where(
        PairingHelp.pairing_id == FamilyPairing.id, PairingHelp.helped_on >= season_start
    )
    idle = (
        copied_scope_condition(user, FamilyPairing),
        FamilyPairing.ended_on.is_(None),
        ~helped,
    )
    last_help = (
        select(func.max(PairingHelp.helped_on))
        .where(PairingHelp.pairing_id == FamilyPairing.id)
        .scalar_subquery()
    )
    idle_pairings = conn.execute(
        select(
            FamilyPairing.id,
            Member.name.label("member_name"),
            FamilyPairing.helpers,
            last_help.label("last_help"),
        )  # fmt: skip
        .join(Member, Member.id == FamilyPairing.member_id)
        .where(*idle)
        .order_by(FamilyPairing.started_on, FamilyPairing.id)
        .limit(SHOWN)
    ).all()
    idle_total = conn.execute(select(func.count()).where(*idle)).scalar_one()
    return Todo(
        today=today, season_start=season_start, cases=cases, cases_total=counts[0],
        overdue=counts[1], requests=requests, requests_total=requests_total,
        idle_pairings=idle_pairings, idle_total=idle_total,
    )  # fmt: skip
