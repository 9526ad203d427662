"""Earning and losing points: manual awards (single and batch), automatic awards, caps.

A rule's quarterly cap holds for manual and automatic awards alike: both count the
member's entries for that rule in the quarter the duty was done, reversals included.
"""

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import func, select

from baojing import audit
from baojing.dates import local_today, quarter_of, quarter_start
from baojing.extensions import db
from baojing.models.members import Member
from baojing.models.org import OrgUnit
from baojing.models.points import DEDUCT, EARN, REVERSE, PointEntry, PointRule
from baojing.models.users import User
from baojing.services import DuplicateRequest, RuleViolation, idempotency
from baojing.services.points import ledger


def used_in_quarter(member_id: int, rule_id: int, quarter: str) -> int:
    """Points this rule has already moved for the member in the quarter (absolute)."""
    total = db.session.scalar(
        select(func.coalesce(func.sum(PointEntry.points), 0)).where(
            PointEntry.member_id == member_id,
            PointEntry.rule_id == rule_id,
            PointEntry.quarter == quarter,
            PointEntry.kind.in_((EARN, DEDUCT, REVERSE)),
        )
    )
    return abs(total)


def room_under_cap(rule: PointRule, member_id: int, quarter: str) -> int | None:
    if rule.quarterly_cap is None:
        return None
    return max(0, rule.quarterly_cap - used_in_quarter(member_id, rule.id, quarter))


def awardable_rules(user: User) -> list[PointRule]:
    """Active rules this user may apply by hand."""
    rules = db.session.scalars(
        select(PointRule)
        .where(PointRule.active.is_(True))
        .order_by(PointRule.is_deduction, PointRule.id)
    )
    return [r for r in rules if user.role in r.roles]


def check_award_date(day: date) -> None:
    """Awards are for the current quarter or the one before: older ones need a county adjustment."""
    today = local_today()
    if day > today:
        raise RuleViolation({"occurred_on": "日期不能晚于今天"})
    earliest = quarter_start(date.fromordinal(quarter_start(today).toordinal() - 1))
    if day < earliest:
        raise RuleViolation({"occurred_on": f"只能登记 {earliest:%Y-%m-%d} 以后的事项"})


@dataclass
class Outcome:
    entry: PointEntry | None
    # Why nothing (or less than the rule's points) was posted, for the batch summary.
    note: str = ""


def _apply_rule(
    actor: User | None, member: Member, rule: PointRule, *, occurred_on: date, reason: str,
    partial: bool, **links,
) -> Outcome:  # fmt: skip
    quarter = quarter_of(occurred_on)
    amount = rule.points
    room = room_under_cap(rule, member.id, quarter)
    note = ""
    if room is not None and room < amount:
        if not partial or room == 0:
            return Outcome(None, f"本季度「{rule.name}」已达上限 {rule.quarterly_cap} 分")
        amount, note = room, f"按季度上限只计 {room} 分"
    if rule.is_deduction:
        balance = ledger.balance_of(member.id)
        if balance == 0:
            return Outcome(None, "积分余额为 0，无可扣减")
        if balance < amount:
            amount, note = balance, f"余额不足，实扣 {balance} 分"
    entry = ledger.post(
        member.id, DEDUCT if rule.is_deduction else EARN,
        -amount if rule.is_deduction else amount,
        quarter=quarter, occurred_on=occurred_on, actor_id=actor.id if actor else None,
        rule_id=rule.id, reason=reason, **links,
    )  # fmt: skip
    audit.record(
        "points.deduct" if rule.is_deduction else "points.award",
        entry,
        after={"member_id": member.id, "rule": rule.name, "points": entry.points, "reason": reason},
        user=actor,
    )
    return Outcome(entry, note)


# The audit row of a whole batch, about its village: it holds the batch's idempotency key.
BATCH_ACTION = "points.award_batch"


def _replayed_entry(
    request_id: str | None, member: Member, rule: PointRule, occurred_on: date, reason: str
) -> PointEntry | None:
    """The entry an earlier submit of the same form wrote; the key with other content is a 409."""
    if not request_id:
        return None
    entry = db.session.scalar(select(PointEntry).where(PointEntry.request_id == request_id))
    if entry is not None and (
        entry.member_id != member.id or entry.rule_id != rule.id
        or entry.occurred_on != occurred_on or entry.reason != reason
    ):  # fmt: skip
        raise DuplicateRequest(request_id)
    return entry


def _check_rule(actor: User, rule: PointRule) -> None:
    if not rule.active or actor.role not in rule.roles:
        raise RuleViolation({"rule_id": "你不能使用这项积分规则"})


def award(
    actor: User, member: Member, rule: PointRule, *, occurred_on: date, reason: str,
    request_id: str | None = None,
) -> PointEntry:  # fmt: skip
    """Apply a rule by hand to one member in the caller's scope."""
    if (earlier := _replayed_entry(request_id, member, rule, occurred_on, reason)) is not None:
        return earlier
    _check_rule(actor, rule)
    check_award_date(occurred_on)
    outcome = _apply_rule(
        actor, member, rule, occurred_on=occurred_on, reason=reason, partial=rule.is_deduction,
        request_id=request_id,
    )  # fmt: skip
    if outcome.entry is None:
        raise RuleViolation({"rule_id": outcome.note})
    return outcome.entry


@dataclass
class BatchResult:
    awarded: list[tuple[Member, PointEntry, str]] = field(default_factory=list)
    skipped: list[tuple[Member, str]] = field(default_factory=list)


def award_batch(
    actor: User, village: OrgUnit, members: list[Member], rule: PointRule, *,
    occurred_on: date, reason: str, request_id: str,
) -> BatchResult:  # fmt: skip
    """The same rule for many members of one village (all who came to this month's 主题党日).

    Members at their cap are skipped and listed, the others get their points. A replay
    of the same form finds each member's entry by its derived key. The key with anything
    else (another member list above all, whose extra members would each get a fresh
    derived key) is a 409: the batch's own audit row keeps the hash of what it was sent.
    """
    _check_rule(actor, rule)
    check_award_date(occurred_on)
    sent = {
        "rule": rule.id, "occurred_on": occurred_on, "reason": reason,
        "members": sorted(m.id for m in members),
    }  # fmt: skip
    replay = idempotency.replayed_in_log(BATCH_ACTION, village, request_id, sent) is not None
    result = BatchResult()
    for member in members:
        key = f"{request_id}:{member.id}"
        if (earlier := _replayed_entry(key, member, rule, occurred_on, reason)) is not None:
            result.awarded.append((member, earlier, ""))
            continue
        outcome = _apply_rule(
            actor, member, rule, occurred_on=occurred_on, reason=reason,
            partial=rule.is_deduction, request_id=key,
        )  # fmt: skip
        if outcome.entry is None:
            result.skipped.append((member, outcome.note))
        else:
            result.awarded.append((member, outcome.entry, outcome.note))
    if not replay:
        after = {"rule": rule.id, "members": len(members), "awarded": len(result.awarded)}
        audit.record(BATCH_ACTION, village, after=after | idempotency.logged_key(request_id, sent))
    return result


# --- automatic awards from the app's own records ------------------------------------


def auto_award(
    source_type: str, source_id: int, member: Member, occurred_on: date, actor: User | None
) -> PointEntry | None:
    """Points for a record that a rule rewards (a 上门登记 …), once per record, within the cap."""
    rule = db.session.scalar(
        select(PointRule).where(PointRule.auto_source == source_type, PointRule.active.is_(True))
    )
    if rule is None:
        return None
    return award_for_record(rule, source_type, source_id, member, occurred_on, actor)


def award_for_record(
    rule: PointRule, source_type: str, source_id: int, member: Member, occurred_on: date,
    actor: User | None,
) -> PointEntry | None:  # fmt: skip
    """A named earning rule applied to a record (a task names 红星云学习), once per record,
    within the cap; reverse_source takes it back. None when the rule is off or capped."""
    if not rule.active or rule.is_deduction:
        return None
    outcome = _apply_rule(
        actor, member, rule, occurred_on=occurred_on, reason=f"自动：{rule.name}",
        partial=True, source_type=source_type, source_id=source_id,
    )  # fmt: skip
    return outcome.entry


def may_undo(user: User, entry: PointEntry) -> bool:
    """Only whoever may apply the rule may undo an award or a deduction by hand; an
    automatic award is undone by cancelling the record that earned it (the 上门登记)."""
    return (
        entry.kind in (EARN, DEDUCT) and entry.rule is not None
        and not entry.source_type and user.role in entry.rule.roles
    )  # fmt: skip


def member_entry(member: Member, entry_id: int) -> PointEntry | None:
    """One entry of this member's ledger (None for another member's)."""
    return db.session.scalar(
        select(PointEntry).where(PointEntry.id == entry_id, PointEntry.member_id == member.id)
    )


def reverse_entry(entry: PointEntry, actor: User | None, reason: str) -> PointEntry | None:
    """Undo an award or a deduction with a new entry; None if it was already undone.

    Points already spent cannot be taken back: the reversal then takes what is left
    and says so, so that the balance never goes below zero.
    """
    if ledger.is_reversed(entry.id):
        return None
    points = -entry.points
    if points < 0:
        balance = ledger.balance_of(entry.member_id)
        if balance == 0:
            return None
        if balance < -points:
            points = -balance
            reason = f"{reason}（余额不足，实冲 {balance} 分）"
    reversal = ledger.post(
        entry.member_id, REVERSE, points,
        quarter=entry.quarter, occurred_on=local_today(), actor_id=actor.id if actor else None,
        rule_id=entry.rule_id, reverses_id=entry.id, reason=reason,
        source_type=entry.source_type, source_id=entry.source_id,
    )  # fmt: skip
    audit.record(
        "points.reverse", reversal,
        after={"member_id": entry.member_id, "reverses": entry.id, "points": points, "reason": reason},
        user=actor,
    )  # fmt: skip
    return reversal


def reverse_source(source_type: str, source_id: int, actor: User | None, reason: str) -> None:
    """A record that earned points was cancelled: reverse what it earned."""
    entries = db.session.scalars(
        select(PointEntry).where(
            PointEntry.kind == EARN,
            PointEntry.source_type == source_type,
            PointEntry.source_id == source_id,
        )
    )
    for entry in list(entries):
        reverse_entry(entry, actor, reason)
