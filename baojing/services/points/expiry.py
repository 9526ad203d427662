"""The county's optional expiry policy: points older than N years expire at year end.

Spending uses the oldest points first, so what expires at the end of year Y is what
was earned on or before the end of year Y−N and has not been spent or lost since:
    credits dated ≤ cutoff − all debits so far, at most the balance.
Reversals count with the entry they undo (the join on reverses_id).
"""

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select, text

from baojing import audit
from baojing.dates import local_today, quarter_of
from baojing.extensions import db
from baojing.models.meta import AppMeta
from baojing.models.points import EXPIRE, PointEntry
from baojing.services import RuleViolation
from baojing.services.points import ledger

POLICY_KEY = "points_expiry_years"

_EXPIRING = text("""
    SELECT e.member_id,
           sum(CASE WHEN coalesce(o.points, e.points) > 0
                     AND coalesce(o.occurred_on, e.occurred_on) <= :cutoff
                    THEN e.points ELSE 0 END) AS old_credits,
           -sum(CASE WHEN coalesce(o.points, e.points) < 0 THEN e.points ELSE 0 END) AS debits,
           a.balance
    FROM point_entries e
    LEFT JOIN point_entries o ON o.id = e.reverses_id
    JOIN point_accounts a ON a.member_id = e.member_id
    WHERE (CAST(:member_id AS INTEGER) IS NULL OR e.member_id = :member_id)
    GROUP BY e.member_id, a.balance
""")


def policy_years() -> int:
    """0 when the county has not turned expiry on."""
    value = db.session.scalar(select(AppMeta.value).where(AppMeta.key == POLICY_KEY))
    return int(value) if value and value.isdigit() else 0


def set_policy_years(years: int, actor) -> None:
    if not 0 <= years <= 10:
        raise RuleViolation({"years": "请填 0 到 10 年（0 表示积分不过期）"})
    before = policy_years()
    row = db.session.get(AppMeta, POLICY_KEY) or AppMeta(key=POLICY_KEY)
    row.value = str(years)
    db.session.add(row)
    audit.record(
        "points.expiry_policy", entity_type="app_meta", before={"years": before},
        after={"years": years}, user=actor,
    )  # fmt: skip


def cutoff_for(year_end: int, years: int) -> date:
    return date(year_end - years, 12, 31)


def expiring_amounts(cutoff: date, member_id: int | None = None) -> dict[int, int]:
    rows = db.session.execute(_EXPIRING, {"cutoff": cutoff, "member_id": member_id})
    out = {}
    for mid, old_credits, debits, balance in rows:
        amount = min(balance, (old_credits or 0) - (debits or 0))
        if amount > 0:
            out[mid] = amount
    return out


@dataclass
class Upcoming:
    points: int
    on: date


def upcoming_for(member_id: int) -> Upcoming | None:
    """What the member will lose at the next year end if nothing is spent."""
    years = policy_years()
    if not years:
        return None
    year = local_today().year
    amount = expiring_amounts(cutoff_for(year, years), member_id).get(member_id, 0)
    return Upcoming(amount, date(year, 12, 31)) if amount else None


def expire_year(year_end: int, actor=None) -> tuple[int, int]:
    """Write the expiry entries for the end of year_end; run again, it writes nothing new.

    Returns (members, points) expired by this run.
    """
    years = policy_years()
    if not years:
        return 0, 0
    cutoff = cutoff_for(year_end, years)
    expired_on = date(year_end, 12, 31)
    members = points = 0
    for member_id, amount in expiring_amounts(cutoff).items():
        key = f"expire:{year_end}:{member_id}"
        # Already expired by an earlier run (the amount would be 0 anyway: the
        # earlier expiry counts as a debit); the key makes it certain.
        if db.session.scalar(select(PointEntry.id).where(PointEntry.request_id == key)):
            continue
        ledger.post(
            member_id, EXPIRE, -amount, quarter=quarter_of(expired_on), occurred_on=expired_on,
            actor_id=actor.id if actor else None, request_id=key,
            reason=f"{cutoff.year} 年底以前获得的积分满 {years} 年未使用，按县里规定过期",
        )  # fmt: skip
        members += 1
        points += amount
    audit.record(
        "points.expire", entity_type="point_entries",
        after={"year": year_end, "members": members, "points": points}, user=actor,
    )  # fmt: skip
    return members, points
