"""结对帮扶: a branch and named party members paired with a mobile member's family at home."""

from sqlalchemy import and_, or_, select, update

from baojing import audit
from baojing.dates import local_today
from baojing.extensions import db
from baojing.models.care import HELP_KINDS, FamilyPairing, PairingHelp
from baojing.models.members import ACTIVE, Member
from baojing.models.org import OrgUnit
from baojing.models.users import User
from baojing.services import RuleViolation
from baojing.services.idempotency import keyed, logged_key, replayed, replayed_in_log


def idle_since(season):
    """Standing pairings with no help on or after `season` (a date or a bind parameter):
    the families the branch has not looked in on this quarter."""
    return and_(
        FamilyPairing.ended_on.is_(None),
        or_(FamilyPairing.last_helped_on.is_(None), FamilyPairing.last_helped_on < season),
    )


def start_pairing(
    member: Member, branch: OrgUnit, actor: User, data: dict, request_id: str | None = None
) -> FamilyPairing:
    """Pair a branch the caller manages with a member's family; one standing pairing each.

    data: helpers, family_note, started_on.
    """
    if (earlier := replayed(FamilyPairing, request_id, data, member_id=member.id)) is not None:
        return earlier
    errors = {}
    if member.status != ACTIVE:
        errors["helpers"] = "该党员已不在流动党员名册中"
    if data["started_on"] > local_today():
        errors["started_on"] = "开始日期不能晚于今天"
    standing = db.session.scalar(
        select(FamilyPairing.id).where(
            FamilyPairing.member_id == member.id, FamilyPairing.ended_on.is_(None)
        )
    )
    if standing:
        errors["helpers"] = "这户家庭已有结对，请在原结对上记录帮扶，或先结束原结对"
    if errors:
        raise RuleViolation(errors)
    pairing = FamilyPairing(
        member_id=member.id, village_id=member.village_id, township_id=member.township_id,
        branch_id=branch.id, created_by_id=actor.id, **data, **keyed(request_id, data),
    )  # fmt: skip
    db.session.add(pairing)
    db.session.flush()
    audit.record(
        "care.pairing_start", pairing,
        after={"member_id": member.id, "branch_id": branch.id, "helpers": pairing.helpers,
               "started_on": pairing.started_on.isoformat()},
    )  # fmt: skip
    return pairing


def log_help(
    pairing: FamilyPairing, actor: User, data: dict, request_id: str | None = None
) -> PairingHelp:
    """Note help given to the family (农忙, 汛期, illness, supplies …).

    data: helped_on, kind, description, supplies, helpers.
    """
    if (earlier := replayed(PairingHelp, request_id, data, pairing_id=pairing.id)) is not None:
        return earlier
    errors = {}
    if pairing.ended_on is not None:
        errors["description"] = "这个结对已经结束，不能再记录帮扶"
    if data["kind"] not in HELP_KINDS:
        errors["kind"] = "请选择帮扶类型"
    if data["helped_on"] > local_today():
        errors["helped_on"] = "帮扶日期不能晚于今天"
    elif data["helped_on"] < pairing.started_on:
        errors["helped_on"] = "帮扶日期不能早于结对开始的日期"
    if errors:
        raise RuleViolation(errors)
    help_row = PairingHelp(
        pairing_id=pairing.id, recorded_by_id=actor.id, **data, **keyed(request_id, data)
    )
    db.session.add(help_row)
    # Help may be logged late, for a day before the latest one: keep the latest. One
    # conditional UPDATE, not read-compare-write: on PostgreSQL two helps logged at once
    # would otherwise both compare with the old value, and the earlier day could win.
    db.session.execute(
        update(FamilyPairing)
        .where(
            FamilyPairing.id == pairing.id,
            or_(
                FamilyPairing.last_helped_on.is_(None),
                FamilyPairing.last_helped_on < help_row.helped_on,
            ),
        )
        .values(last_helped_on=help_row.helped_on)
        .execution_options(synchronize_session=False)
    )
    db.session.expire(pairing, ["last_helped_on"])
    db.session.flush()
    audit.record(
        "care.pairing_help", help_row,
        after={"pairing_id": pairing.id, "kind": help_row.kind,
               "helped_on": help_row.helped_on.isoformat(), "supplies": help_row.supplies},
    )  # fmt: skip
    return help_row


def end_pairing(
    pairing: FamilyPairing, actor: User, reason: str, request_id: str | None = None
) -> FamilyPairing:
    """End a pairing, its help kept; a replay of the same form is the end already done."""
    data = {"pairing_id": pairing.id, "reason": reason}
    if replayed_in_log("care.pairing_end", pairing, request_id, data) is not None:
        return pairing
    if pairing.ended_on is not None:
        raise RuleViolation({"reason": "这个结对已经结束了"})
    pairing.ended_on = local_today()
    pairing.end_reason = reason
    db.session.flush()
    audit.record(
        "care.pairing_end",
        pairing,
        after={
            "ended_on": pairing.ended_on.isoformat(),
            "reason": reason,
            **logged_key(request_id, data),
        },
    )
    return pairing


def helps_of(pairing: FamilyPairing) -> list[PairingHelp]:
    return list(
        db.session.scalars(
            select(PairingHelp)
            .where(PairingHelp.pairing_id == pairing.id)
            .order_by(PairingHelp.helped_on.desc(), PairingHelp.id.desc())
        )
    )
