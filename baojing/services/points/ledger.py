"""The append-only ledger and the stored balance that follows it.

Every change of a member's points goes through post(): it writes one entry and moves
the stored balance by the same amount in the caller's transaction. A debit is a
conditional UPDATE (… WHERE balance >= cost) whose row count decides, so two counters
debiting the same member at once can never take the balance below zero.
"""

from datetime import date

from sqlalchemy import and_, bindparam, case, func, or_, select, update

from baojing.db import upsert_insert
from baojing.extensions import db
from baojing.models.points import DEDUCT, EARN, REVERSE, PointAccount, PointEntry
from baojing.models.types import utcnow


class InsufficientPoints(Exception):
    def __init__(self, balance: int, needed: int):
        super().__init__(f"balance {balance} < {needed}")
        self.balance = balance
        self.needed = needed


def balance_of(member_id: int, conn=None) -> int:
    # A Core read on the session's connection: accounts are only ever changed by
    # statements (post() below), never by pending ORM objects an autoflush would write.
    conn = conn if conn is not None else db.session.connection()
    value = conn.execute(
        select(PointAccount.balance).where(PointAccount.member_id == member_id)
    ).scalar()
    return value or 0


_REVERSED = PointEntry.__table__.alias("reversed")
_EARNED_KINDS = (EARN, DEDUCT)


def earned(member_id: int, since: date) -> tuple[int, int]:
    """(since that day, ever): the points a member earned by the rules, net of deductions
    and of corrections to either; what was spent, expired or given back at the counter
    is not earning. What honours and appraisals weigh, where the balance is what is left
    to spend."""
    entry = PointEntry.__table__.c
    is_earning = or_(
        entry.kind.in_(_EARNED_KINDS),
        and_(entry.kind == REVERSE, _REVERSED.c.kind.in_(_EARNED_KINDS)),
    )
    row = (
        db.session.connection()
        .execute(
            select(
                func.coalesce(
                    func.sum(case((entry.occurred_on >= since, entry.points), else_=0)), 0
                ),
                func.coalesce(func.sum(entry.points), 0),
            )
            .select_from(
                PointEntry.__table__.outerjoin(_REVERSED, _REVERSED.c.id == entry.reverses_id)
            )
            .where(entry.member_id == member_id, is_earning)
        )
        .one()
    )
    return int(row[0]), int(row[1])


def post(
    member_id: int,
    kind: str,
    points: int,
    *,
    quarter: str,
    occurred_on: date,
    actor_id: int | None,
    **links,
) -> PointEntry:
    """Append one entry and move the stored balance with it, or raise InsufficientPoints."""
    if points == 0:
        raise ValueError("a ledger entry moves at least one point")
    if points < 0:
        moved = db.session.execute(
            update(PointAccount)
            .where(PointAccount.member_id == member_id, PointAccount.balance >= -points)
            .values(balance=PointAccount.balance + points, updated_at=utcnow())
            .execution_options(synchronize_session=False)
        ).rowcount
        if moved != 1:
            raise InsufficientPoints(balance_of(member_id), -points)
    else:
        stmt = upsert_insert(PointAccount).values(member_id=member_id, balance=points)
        db.session.execute(
            stmt.on_conflict_do_update(
                index_elements=[PointAccount.member_id],
                set_={"balance": PointAccount.balance + stmt.excluded.balance},
            )
        )
    entry = PointEntry(
        member_id=member_id, kind=kind, points=points, quarter=quarter,
        occurred_on=occurred_on, created_by_id=actor_id, **links,
    )  # fmt: skip
    db.session.add(entry)
    db.session.flush()
    return entry


def debit_core(member_id: int, points: int, *, kind: str, quarter: str, occurred_on: date,
               actor_id: int | None, **links) -> tuple[int, int]:  # fmt: skip
    """post() for the counter's hot path, in Core: returns (entry id, balance after).

    The same two writes as post() (the conditional debit, the entry) without the
    ORM's unit of work, which cost more than the statements while the write lock
    is held.
    """
    conn = db.session.connection()
    left = conn.execute(_DEBIT, {"b_member": member_id, "cost": points, "now": utcnow()}).first()
    if left is None:
        raise InsufficientPoints(balance_of(member_id), points)
    if unknown := set(links) - set(_ENTRY_LINKS):
        raise TypeError(f"not a link of a ledger entry: {sorted(unknown)}")
    values = dict.fromkeys(_ENTRY_LINKS) | {
        "member_id": member_id, "kind": kind, "points": -points, "quarter": quarter,
        "occurred_on": occurred_on, "created_by_id": actor_id, "created_at": utcnow(),
        "reason": "", **links,
    }  # fmt: skip
    return conn.execute(_INSERT_ENTRY, values).first().id, left.balance


# Built once: they run under the write lock, on every redemption.
_DEBIT = (
    update(PointAccount)
    .where(
        PointAccount.member_id == bindparam("b_member"),
        PointAccount.balance >= bindparam("cost"),
    )
    .values(balance=PointAccount.balance - bindparam("cost"), updated_at=bindparam("now"))
    .returning(PointAccount.balance)
)
# What a debit may link to or say; those a caller does not give are NULL.
_ENTRY_LINKS = ("rule_id", "redemption_id", "source_type", "source_id", "reverses_id",
                "reason", "request_id")  # fmt: skip
_INSERT_ENTRY = PointEntry.__table__.insert().returning(PointEntry.__table__.c.id)


def is_reversed(entry_id: int) -> bool:
    return (
        db.session.scalar(select(PointEntry.id).where(PointEntry.reverses_id == entry_id))
        is not None
    )
