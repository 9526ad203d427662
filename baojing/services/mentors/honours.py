"""Honours (评先评优) recommendations and their outcome; county and township events, invitations.

A recommendation moves 已推荐 → 审核中 → 已获评 / 未获评, one step at a time. Village
secretaries recommend; the county and the townships decide. Events are county-wide (made
by the county) or a township's own; members are invited in scope, answer for themselves,
and attendance is ticked on or after the day.
"""

from dataclasses import dataclass
from datetime import date

from flask import url_for
from sqlalchemy import func, insert, select

from baojing import audit
from baojing.dates import SHANGHAI, local_today
from baojing.extensions import db
from baojing.models.members import ACTIVE, Member
from baojing.models.mentors import (
    HONOUR_STATUSES,
    HONOURS,
    Event,
    HonourRecommendation,
    Invitation,
)
from baojing.models.org import OrgUnit
from baojing.models.types import utcnow
from baojing.models.users import COUNTY_ADMIN, MEMBER, TOWNSHIP_OFFICER, VILLAGE_SECRETARY, User
from baojing.scoping import event_condition, member_condition
from baojing.services import RuleViolation
from baojing.services.home import HomeItem
from baojing.services.idempotency import keyed, logged_key, replayed, replayed_in_log
from baojing.services.paging import Page, fetch_page
from baojing.services.points.ledger import earned

RECOMMENDERS = (COUNTY_ADMIN, TOWNSHIP_OFFICER, VILLAGE_SECRETARY)
DECIDERS = (COUNTY_ADMIN, TOWNSHIP_OFFICER)
RECOMMENDED, REVIEWING, AWARDED, DECLINED = "recommended", "reviewing", "awarded", "declined"
OPEN_HONOUR = (RECOMMENDED, REVIEWING)
# One step at a time: a recommendation is reviewed before it has an outcome.
HONOUR_NEXT = {RECOMMENDED: (REVIEWING,), REVIEWING: (AWARDED, DECLINED)}
OUTCOMES = (AWARDED, DECLINED)
OTHER = "other"

ANSWERS = {"accepted": "将参加", "declined": "不能参加"}


# --- honours ------------------------------------------------------------------------------


def honour_label(rec) -> str:
    """两代表一委员 …, or the name typed for another honour."""
    if rec.honour == OTHER and rec.honour_name:
        return rec.honour_name
    return HONOURS.get(rec.honour, rec.honour)


def recommend(
    member: Member, actor: User, data: dict, request_id: str | None = None
) -> HonourRecommendation:
    """Recommend a member in scope for an honour. data: honour, honour_name, reason, evidence."""
    if data["honour"] != OTHER:
        # Only "other" is named. Blanked before the replay check, so that the key's
        # fingerprint is of the same data on the first submit and on a replay.
        data = data | {"honour_name": ""}
    if (
        earlier := replayed(HonourRecommendation, request_id, data, member_id=member.id)
    ) is not None:
        return earlier
    errors: dict[str, str] = {}
    if member.status != ACTIVE:
        errors["honour"] = "该党员已不在流动党员名册中"
    if data["honour"] not in HONOURS:
        errors["honour"] = "请选择推荐的荣誉"
    elif data["honour"] == OTHER and not data["honour_name"]:
        errors["honour_name"] = "请填写荣誉名称"
    if not errors:
        pending = db.session.scalar(
            select(HonourRecommendation.id).where(
                HonourRecommendation.member_id == member.id,
                HonourRecommendation.honour == data["honour"],
                HonourRecommendation.honour_name == data["honour_name"],
                HonourRecommendation.status.in_(OPEN_HONOUR),
            )
        )
        if pending:
            errors["honour"] = "这名党员已有同一荣誉的推荐正在办理，请在原推荐上跟进"
    if errors:
        raise RuleViolation(errors)
    rec = HonourRecommendation(
        member_id=member.id, village_id=member.village_id, township_id=member.township_id,
        recommended_by_id=actor.id, status=RECOMMENDED, **data, **keyed(request_id, data),
    )  # fmt: skip
    db.session.add(rec)
    db.session.flush()
    points = points_earned(member.id)
    audit.record(
        "honour.recommend", rec,
        after={"member_id": member.id, "honour": rec.honour, "honour_name": rec.honour_name,
               "points_earned": points.ever, "points_earned_this_year": points.this_year},
    )  # fmt: skip
    return rec


@dataclass(frozen=True)
class PointsEarned:
    """What a recommendation shows of a member's points: earned, not left to spend."""

    this_year: int
    ever: int


def points_earned(member_id: int) -> PointsEarned:
    """The points earned by the rules this year and ever (ledger.earned): a member who
    spent theirs at the store earned them all the same."""
    return PointsEarned(*earned(member_id, date(local_today().year, 1, 1)))


def next_statuses(rec: HonourRecommendation, actor: User) -> tuple[str, ...]:
    """Where this user may move the recommendation: deciders only, one step on."""
    if actor.role not in DECIDERS:
        return ()
    return HONOUR_NEXT.get(rec.status, ())


def move(rec: HonourRecommendation, actor: User, data: dict) -> HonourRecommendation:
    """已推荐 → 审核中 → 已获评 / 未获评. data: status, decided_on, decision_note."""
    status = data["status"]
    final = status in OUTCOMES
    decided_on = data["decided_on"] if final else None
    note = data["decision_note"]
    if status == rec.status and decided_on == rec.decided_on and note in ("", rec.decision_note):
        return rec  # the same form sent twice
    if status not in next_statuses(rec, actor):
        if status in OUTCOMES and rec.status == RECOMMENDED:
            raise RuleViolation({"status": "请先改为“审核中”，审核后才能登记结果"})
        raise RuleViolation({"status": "不能改成这个状态"})
    if final:
        proposed = rec.created_at.astimezone(SHANGHAI).date()
        if decided_on is None:
            raise RuleViolation({"decided_on": "请填写评定日期"})
        if decided_on > local_today():
            raise RuleViolation({"decided_on": "评定日期不能晚于今天"})
        if decided_on < proposed:
            raise RuleViolation({"decided_on": "评定日期不能早于推荐的日期"})
    before = {"status": rec.status}
    rec.status = status
    rec.decided_on = decided_on
    if note:
        rec.decision_note = note
    db.session.flush()
    audit.record(
        "honour.status", rec, before=before,
        after={"status": status, "decided_on": decided_on.isoformat() if decided_on else None,
               "decision_note": note},
    )  # fmt: skip
    return rec


def list_recommendations(user: User, *, status: str = "", page: int = 1) -> Page:
    """Recommendations in scope. status: '' (open ones) | one of HONOUR_STATUSES | all."""
    village = OrgUnit.__table__.alias("village")
    stmt = (
        select(
            HonourRecommendation.id,
            HonourRecommendation.honour,
            HonourRecommendation.honour_name,
            HonourRecommendation.status,
            HonourRecommendation.decided_on,
            HonourRecommendation.created_at,
            Member.name.label("member_name"),
            village.c.name.label("village_name"),
        )
        .join(Member, Member.id == HonourRecommendation.member_id)
        .join(village, village.c.id == HonourRecommendation.village_id)
        .where(member_condition(user, HonourRecommendation))
        .order_by(HonourRecommendation.created_at.desc(), HonourRecommendation.id.desc())
    )
    if status in HONOUR_STATUSES:
        stmt = stmt.where(HonourRecommendation.status == status)
    elif status != "all":
        stmt = stmt.where(HonourRecommendation.status.in_(OPEN_HONOUR))
    return fetch_page(stmt, page)


def who_and_where(rec: HonourRecommendation) -> tuple[str, str]:
    """(the member's village, who recommended) for the recommendation's page."""
    village = db.session.scalar(select(OrgUnit.name).where(OrgUnit.id == rec.village_id))
    by = db.session.scalar(select(User.display_name).where(User.id == rec.recommended_by_id))
    return village or "", by or ""


def honours_of_member(member_id: int) -> list[HonourRecommendation]:
    return list(
        db.session.scalars(
            select(HonourRecommendation)
            .where(HonourRecommendation.member_id == member_id)
            .order_by(HonourRecommendation.id.desc())
        )
    )


# --- events -------------------------------------------------------------------------------


def event_in_scope(user: User, event_id: int) -> Event | None:
    return db.session.scalar(select(Event).where(Event.id == event_id, event_condition(user)))


def can_create_event(user: User) -> bool:
    return user.role == COUNTY_ADMIN or (user.role == TOWNSHIP_OFFICER and bool(user.township_id))


def create_event(actor: User, data: dict, request_id: str | None = None) -> Event:
    """A county-wide event (county admin) or the township's own (township officer).

    data: title, held_on, place, description.
    """
    township_id = None if actor.role == COUNTY_ADMIN else actor.township_id
    if (earlier := replayed(Event, request_id, data, township_id=township_id)) is not None:
        return earlier
    if not can_create_event(actor):
        raise RuleViolation({"title": "只有县委组织部和乡镇可以创建活动"})
    if (local_today() - data["held_on"]).days > 366:
        raise RuleViolation({"held_on": "活动日期在一年以前，请核对"})
    event = Event(
        township_id=township_id, created_by_id=actor.id, **data, **keyed(request_id, data)
    )
    db.session.add(event)
    db.session.flush()
    audit.record(
        "event.create", event,
        after={"title": event.title, "held_on": event.held_on.isoformat(),
               "township_id": township_id},
    )  # fmt: skip
    return event


def event_township_name(event: Event) -> str:
    """全县 for a county-wide event, else the township's name."""
    if event.township_id is None:
        return "全县"
    return db.session.scalar(select(OrgUnit.name).where(OrgUnit.id == event.township_id))


def invitable_villages(user: User, event: Event, villages: list[tuple[int, str]]):
    """The villages (of those the user manages) whose members this event may invite."""
    if event.township_id is None:
        return villages
    allowed = set(
        db.session.scalars(select(OrgUnit.id).where(OrgUnit.township_id == event.township_id))
    )
    return [(vid, name) for vid, name in villages if vid in allowed]


def invited_ids(event: Event, member_ids) -> set[int]:
    ids = list(member_ids)
    if not ids:
        return set()
    return set(
        db.session.scalars(
            select(Invitation.member_id).where(
                Invitation.event_id == event.id, Invitation.member_id.in_(ids)
            )
        )
    )


@dataclass(frozen=True)
class Invited:
    added: int
    already: int


def invite(
    event: Event, actor: User, members: list[Member], said: dict, request_id: str | None = None
) -> Invited:
    """Invite members (already checked to be in the caller's scope); the invited stay once.

    said: what the form asked for (village_id, everyone, member_ids), for the replay check.
    """
    data = {"event_id": event.id, **said}
    if (replay := replayed_in_log("event.invite", event, request_id, data)) is not None:
        # The first submit's numbers: for 全村, `members` no longer holds those it invited.
        return Invited(replay.get("count", 0), replay.get("already", 0))
    if not members:
        message = "本村党员都已邀请过了" if said.get("everyone") else "请至少勾选一名党员"
        raise RuleViolation({"member_ids": message})
    if local_today() > event.held_on:
        raise RuleViolation({"member_ids": "活动已经结束，不能再邀请"})
    if event.township_id is not None and any(m.township_id != event.township_id for m in members):
        raise RuleViolation({"member_ids": "乡镇自己的活动只能邀请本乡镇的党员"})
    if any(m.status != ACTIVE for m in members):
        raise RuleViolation({"member_ids": "勾选的党员中有人已不在流动党员名册中"})
    already = invited_ids(event, (m.id for m in members))
    now = utcnow()
    rows = [
        {
            "event_id": event.id,
            "member_id": m.id,
            "village_id": m.village_id,
            "township_id": m.township_id,
            "status": "invited",
            "attended": None,
            "invited_by_id": actor.id,
            "created_at": now,
        }
        for m in members
        if m.id not in already
    ]
    if rows:
        db.session.execute(insert(Invitation), rows)
    audit.record(
        "event.invite", event,
        after={"count": len(rows), "already": len(already),
               "member_ids": [r["member_id"] for r in rows], **logged_key(request_id, data)},
    )  # fmt: skip
    return Invited(len(rows), len(already))


def answer(invitation: Invitation, actor: User, status: str) -> Invitation:
    """将参加 / 不能参加: the member themself, or their branch on the phone with them."""
    if status not in ANSWERS:
        raise RuleViolation({"answer": "请选择将参加或不能参加"})
    if status == invitation.status:
        return invitation
    event = db.session.get(Event, invitation.event_id)
    if local_today() > event.held_on:
        raise RuleViolation({"answer": "活动已经结束，不能再回复"})
    before = {"status": invitation.status}
    invitation.status = status
    db.session.flush()
    audit.record(
        "event.answer", invitation, before=before,
        after={"status": status, "event_id": event.id, "member_id": invitation.member_id,
               "by": "member" if actor.role == MEMBER else "branch"},
    )  # fmt: skip
    return invitation


def record_attendance(
    event: Event, actor: User, invitations: list[Invitation], attended_ids: set[int]
) -> tuple[int, int]:
    """Tick who came, among the invitations the caller may see; (came, did not)."""
    if local_today() < event.held_on:
        raise RuleViolation({"attended": f"活动在 {event.held_on} 举行，当天或之后才能登记出席"})
    if not invitations:
        raise RuleViolation({"attended": "您的范围内没有受邀的党员"})
    came = 0
    for inv in invitations:
        inv.attended = inv.id in attended_ids
        came += inv.attended
    db.session.flush()
    audit.record(
        "event.attendance", event,
        after={"attended": came, "absent": len(invitations) - came,
               "member_ids": sorted(i.member_id for i in invitations if i.attended)},
    )  # fmt: skip
    return came, len(invitations) - came


@dataclass(frozen=True)
class Counts:
    invited: int = 0
    accepted: int = 0
    declined: int = 0
    attended: int = 0


def _counts_stmt(user: User):
    return select(
        Invitation.event_id,
        func.count(),
        func.count().filter(Invitation.status == "accepted"),
        func.count().filter(Invitation.status == "declined"),
        func.count().filter(Invitation.attended.is_(True)),
    ).where(member_condition(user, Invitation))


def count_invitations(rows) -> Counts:
    """Invited / accepted / declined / attended among invitation rows (invitations_of),
    which are already the ones the user may see: counted without asking again."""
    return Counts(
        invited=len(rows),
        accepted=sum(r.status == "accepted" for r in rows),
        declined=sum(r.status == "declined" for r in rows),
        attended=sum(bool(r.attended) for r in rows),
    )


def list_events(user: User, today: date, *, past: bool = False, page: int = 1):
    """Events in scope, upcoming first (or past ones, newest first), with counts in scope."""
    township = OrgUnit.__table__.alias("township")
    stmt = (
        select(
            Event.id,
            Event.title,
            Event.held_on,
            Event.place,
            Event.township_id,
            township.c.name.label("township_name"),
        )
        .outerjoin(township, township.c.id == Event.township_id)
        .where(event_condition(user))
    )
    if past:
        stmt = stmt.where(Event.held_on < today).order_by(Event.held_on.desc(), Event.id.desc())
    else:
        stmt = stmt.where(Event.held_on >= today).order_by(Event.held_on, Event.id)
    result = fetch_page(stmt, page)
    ids = [r.id for r in result.rows]
    by_event = {}
    if ids:
        stmt = _counts_stmt(user).where(Invitation.event_id.in_(ids)).group_by(Invitation.event_id)
        by_event = {row[0]: Counts(*row[1:]) for row in db.session.connection().execute(stmt)}
    return result, by_event


def invitations_of(event: Event, user: User) -> list:
    """The event's invitations the user may see: id, member, village, answer, attended."""
    village = OrgUnit.__table__.alias("village")
    return list(
        db.session.execute(
            select(
                Invitation.id,
                Invitation.member_id,
                Invitation.status,
                Invitation.attended,
                Member.name.label("member_name"),
                village.c.name.label("village_name"),
            )
            .join(Member, Member.id == Invitation.member_id)
            .join(village, village.c.id == Invitation.village_id)
            .where(Invitation.event_id == event.id, member_condition(user, Invitation))
            .order_by(Invitation.village_id, Member.name, Invitation.id)
        ).all()
    )


def scoped_invitations(event: Event, user: User) -> list[Invitation]:
    return list(
        db.session.scalars(
            select(Invitation).where(
                Invitation.event_id == event.id, member_condition(user, Invitation)
            )
        )
    )


def invitations_for_member(member_id: int, today: date) -> list:
    """A member's own invitations with their events: coming ones soonest first, then past."""
    rows = db.session.execute(
        select(
            Invitation.id,
            Invitation.status,
            Invitation.attended,
            Event.title,
            Event.held_on,
            Event.place,
            Event.description,
        )
        .join(Event, Event.id == Invitation.event_id)
        .where(Invitation.member_id == member_id)
        .order_by(Event.held_on.desc(), Invitation.id.desc())
        .limit(50)
    ).all()
    coming = sorted((r for r in rows if r.held_on >= today), key=lambda r: (r.held_on, r.id))
    return coming + [r for r in rows if r.held_on < today]


def village_members(village_id: int) -> list[Member]:
    return list(
        db.session.scalars(
            select(Member)
            .where(Member.village_id == village_id, Member.status == ACTIVE)
            .order_by(Member.name, Member.id)
        )
    )


def for_home(user) -> list[HomeItem]:
    """A member's home page: the events they are invited to that are still to come (the
    Spring-Festival 座谈会 …), soonest first, with their answer (services/home.py)."""
    if not user.member_id:
        return []
    today = local_today()
    rows = db.session.execute(
        select(Invitation.status, Event.title, Event.held_on, Event.place)
        .join(Event, Event.id == Invitation.event_id)
        .where(Invitation.member_id == user.member_id, Event.held_on >= today)
        .order_by(Event.held_on, Invitation.id)
        .limit(5)
    ).all()
    events = url_for("mentors.event_list")
    return [
        HomeItem(
            "event",
            r.title,
            events,
            due_on=r.held_on,
            note=f"{r.place} · {ANSWERS.get(r.status, '请回复是否参加')}",
        )  # fmt: skip
        for r in rows
    ]
