"""帮带: the mentor pool and a mentorship's life, proposed → active → completed / ended.

A mentor's places are taken when a mentorship starts (both sides accepted), by one
guarded UPDATE inside the request's write transaction: two acceptances at the same
moment are serialised by BEGIN IMMEDIATE, and the second finds no place left. The
database's CHECK (active_mentees <= capacity) is the last line behind it.
"""

from sqlalchemy import or_, select, update
from sqlalchemy.orm import aliased

from baojing import audit
from baojing.dates import local_today
from baojing.extensions import db
from baojing.models.members import ACTIVE as MEMBER_ACTIVE
from baojing.models.members import Member
from baojing.models.mentors import (
    ACTIVE,
    COMPLETED,
    ENDED,
    OPEN_MENTORSHIP,
    OUTCOMES,
    PROPOSED,
    SITUATIONS,
    MentorCheckin,
    MentorProfile,
    Mentorship,
)
from baojing.models.types import utcnow
from baojing.models.users import MEMBER, User
from baojing.scoping import member_condition
from baojing.services import RuleViolation
from baojing.services.idempotency import keyed, replayed
from baojing.services.paging import Page, fetch_page

PROFILE_FIELDS = ("trade", "dest_province", "dest_city", "experience", "capacity", "available")


# --- the pool -----------------------------------------------------------------------------


def profile_of(member_id: int) -> MentorProfile | None:
    return db.session.scalar(select(MentorProfile).where(MentorProfile.member_id == member_id))


def save_profile(member: Member, actor: User, data: dict) -> MentorProfile:
    """Put a member in the mentor pool, or change what they offer."""
    profile = profile_of(member.id)
    if profile is not None and data["capacity"] < profile.active_mentees:
        raise RuleViolation(
            {"capacity": f"正在帮带 {profile.active_mentees} 人，名额不能少于这个数"}
        )
    if member.status != MEMBER_ACTIVE:
        raise RuleViolation({"trade": "该党员已不在流动党员名册中"})
    before = audit.snapshot(profile, PROFILE_FIELDS) if profile else None
    if profile is None:
        profile = MentorProfile(
            member_id=member.id, village_id=member.village_id, township_id=member.township_id
        )
        db.session.add(profile)
    for name in PROFILE_FIELDS:
        setattr(profile, name, data[name])
    db.session.flush()
    audit.record(
        "mentor.profile", profile, before=before, after=audit.snapshot(profile, PROFILE_FIELDS)
    )
    return profile


# --- who may see a mentorship -------------------------------------------------------------


def managed_condition(user: User):
    """Who runs a mentorship (check-ins, completing, ending): the two members in it and
    the mentee's branch, which arranged it (the row's scope is copied from the mentee)."""
    if user.role == MEMBER:
        mid = user.member_id or 0
        return or_(Mentorship.mentor_member_id == mid, Mentorship.mentee_member_id == mid)
    return member_condition(user, Mentorship)


def mentorship_condition(user: User):
    """Who sees a mentorship: those who run it, and the mentor's own branch.

    The mentor's branch must see the pairing: it is the one that may confirm for a
    mentor without an account (sides_staff_may_confirm). It runs nothing else.
    """
    if user.role == MEMBER:
        return managed_condition(user)
    its_mentors = select(Member.id).where(member_condition(user))
    return or_(managed_condition(user), Mentorship.mentor_member_id.in_(its_mentors))


def manages(ms: Mentorship, user: User) -> bool:
    """managed_condition for one loaded mentorship."""
    return (
        db.session.scalar(
            select(Mentorship.id).where(Mentorship.id == ms.id, managed_condition(user))
        )
        is not None
    )


def side_of(ms: Mentorship, user: User) -> str:
    """'mentor' or 'mentee' for the members in it; 'branch' for the staff who arranged it."""
    if user.role == MEMBER:
        if user.member_id == ms.mentor_member_id:
            return "mentor"
        if user.member_id == ms.mentee_member_id:
            return "mentee"
    return "branch"


def sides_staff_may_confirm(ms: Mentorship, actor: User) -> set[str]:
    """The sides a secretary or officer may confirm for: members in their own scope.

    Confirming for the mentor is what reveals the mentor's phone to the other branch,
    so a branch may speak only for members it looks after itself.
    """
    if actor.role == MEMBER:
        return set()
    in_scope = set(
        db.session.scalars(
            select(Member.id).where(
                Member.id.in_([ms.mentor_member_id, ms.mentee_member_id]),
                member_condition(actor),
            )
        )
    )
    return {
        side
        for side, member_id in (("mentor", ms.mentor_member_id), ("mentee", ms.mentee_member_id))
        if member_id in in_scope
    }


# --- the life of a mentorship -------------------------------------------------------------


def mentor_to_propose(mentor_id: int) -> MentorProfile | None:
    """A mentor of the pool as the suggestions show it: one whose member is still on the
    county's active register. Anyone else (transferred out, deceased, no such id) is
    None, a 404, so that the refusal page never names whoever an id belongs to."""
    return db.session.scalar(
        select(MentorProfile)
        .join(Member, Member.id == MentorProfile.member_id)
        .where(MentorProfile.id == mentor_id, Member.status == MEMBER_ACTIVE)
    )


def propose(
    mentor: MentorProfile, mentee: Member, actor: User, data: dict, request_id: str | None = None
) -> Mentorship:
    """The branch proposes a mentor to a member in its scope.

    data: situation, note, mentee_consents (the member already said yes to the branch).
    """
    if (earlier := replayed(Mentorship, request_id, data, mentee_member_id=mentee.id)) is not None:
        return earlier
    errors = {}
    if data["situation"] not in SITUATIONS:
        errors["situation"] = "请选择新创业或新就业"
    if mentor.member_id == mentee.id:
        errors["mentor_id"] = "不能做自己的导师"
    elif not mentor.available or mentor.active_mentees >= mentor.capacity:
        errors["mentor_id"] = "这位导师暂时没有名额"
    if db.session.scalar(
        select(Mentorship.id).where(
            Mentorship.mentee_member_id == mentee.id, Mentorship.status.in_(OPEN_MENTORSHIP)
        )
    ):
        errors["mentor_id"] = "这位党员已有导师在帮带或待确认"
    if errors:
        raise RuleViolation(errors)
    now = utcnow()
    ms = Mentorship(
        mentor_id=mentor.id, mentor_member_id=mentor.member_id, mentee_member_id=mentee.id,
        village_id=mentee.village_id, township_id=mentee.township_id,
        situation=data["situation"], note=data["note"], status=PROPOSED,
        proposed_by_id=actor.id, proposed_at=now,
        mentee_accepted_at=now if data["mentee_consents"] else None,
        **keyed(request_id, data),
    )  # fmt: skip
    db.session.add(ms)
    db.session.flush()
    audit.record(
        "mentor.propose", ms,
        after={"mentor_id": mentor.id, "mentee_member_id": mentee.id,
               "situation": ms.situation, "mentee_consents": bool(data["mentee_consents"])},
    )  # fmt: skip
    return ms


def accept(ms: Mentorship, actor: User, side: str) -> Mentorship:
    """One side says yes (a member for themself, the branch on a member's behalf).

    When both have, the mentorship starts and takes one of the mentor's places.
    """
    if ms.status != PROPOSED:
        raise RuleViolation({"side": "这个结对已经不在待确认状态"})
    if actor.role == MEMBER and side_of(ms, actor) != side:
        raise RuleViolation({"side": "只能为自己确认"})
    if actor.role != MEMBER and side not in sides_staff_may_confirm(ms, actor):
        raise RuleViolation({"side": "只能为本辖区的党员代为确认，请联系对方所在支部"})
    now = utcnow()
    if side == "mentor":
        ms.mentor_accepted_at = ms.mentor_accepted_at or now
    elif side == "mentee":
        ms.mentee_accepted_at = ms.mentee_accepted_at or now
    else:
        raise RuleViolation({"side": "不明确是哪一方确认"})
    started = False
    if ms.mentor_accepted_at and ms.mentee_accepted_at:
        taken = db.session.execute(
            update(MentorProfile)
            .where(
                MentorProfile.id == ms.mentor_id,
                MentorProfile.active_mentees < MentorProfile.capacity,
            )
            .values(active_mentees=MentorProfile.active_mentees + 1)
            .execution_options(synchronize_session=False)
        ).rowcount
        if taken != 1:
            raise RuleViolation({"side": "导师的名额刚刚已满，这个结对没有开始"})
        ms.status = ACTIVE
        ms.started_on = local_today()
        started = True
    db.session.flush()
    audit.record(
        "mentor.accept", ms,
        after={"side": side, "by": "self" if actor.role == MEMBER else "branch",
               "status": ms.status},
    )  # fmt: skip
    if started:
        db.session.expire_all()  # the profile's count changed in SQL
    return ms


def _release_place(ms: Mentorship) -> None:
    db.session.execute(
        update(MentorProfile)
        .where(MentorProfile.id == ms.mentor_id, MentorProfile.active_mentees > 0)
        .values(active_mentees=MentorProfile.active_mentees - 1)
        .execution_options(synchronize_session=False)
    )


def complete(ms: Mentorship, actor: User, outcome: str) -> Mentorship:
    """Active → completed, with how it turned out; the mentor's place is free again."""
    if ms.status != ACTIVE:
        raise RuleViolation({"outcome": "只有帮带中的结对可以办结"})
    if outcome not in OUTCOMES:
        raise RuleViolation({"outcome": "请选择帮带结果"})
    ms.status, ms.outcome, ms.finished_on = COMPLETED, outcome, local_today()
    _release_place(ms)
    db.session.flush()
    audit.record("mentor.complete", ms, after={"outcome": outcome})
    return ms


def end(ms: Mentorship, actor: User, reason: str) -> Mentorship:
    """Declined before it started, or ended early; always with a reason."""
    if ms.status not in OPEN_MENTORSHIP:
        raise RuleViolation({"reason": "这个结对已经结束了"})
    if ms.status == ACTIVE:
        _release_place(ms)
    before = {"status": ms.status}
    ms.status, ms.end_reason, ms.finished_on = ENDED, reason, local_today()
    db.session.flush()
    audit.record("mentor.end", ms, before=before, after={"reason": reason})
    return ms


def check_in(
    ms: Mentorship, actor: User, data: dict, request_id: str | None = None
) -> MentorCheckin:
    """A periodic check-in by either side (or the branch). data: checked_on, note."""
    if (earlier := replayed(MentorCheckin, request_id, data, mentorship_id=ms.id)) is not None:
        return earlier
    if ms.status != ACTIVE:
        raise RuleViolation({"note": "只有帮带中的结对可以记录回访"})
    if data["checked_on"] > local_today():
        raise RuleViolation({"checked_on": "日期不能晚于今天"})
    row = MentorCheckin(
        mentorship_id=ms.id, author_id=actor.id, side=side_of(ms, actor), **data,
        **keyed(request_id, data),
    )  # fmt: skip
    db.session.add(row)
    db.session.flush()
    audit.record("mentor.checkin", row, after={"mentorship_id": ms.id, "side": row.side})
    return row


def checkins(ms: Mentorship) -> list[MentorCheckin]:
    return list(
        db.session.scalars(
            select(MentorCheckin)
            .where(MentorCheckin.mentorship_id == ms.id)
            .order_by(MentorCheckin.checked_on.desc(), MentorCheckin.id.desc())
        )
    )


def mentorships_for(user: User, page: int = 1) -> Page:
    """Open ones first, then the rest, newest first; both sides' names in the same query."""
    mentor, mentee = aliased(Member), aliased(Member)
    stmt = (
        select(
            Mentorship.id,
            Mentorship.status,
            Mentorship.situation,
            Mentorship.started_on,
            mentor.name.label("mentor_name"),
            mentee.name.label("mentee_name"),
        )
        .join(mentor, mentor.id == Mentorship.mentor_member_id)
        .join(mentee, mentee.id == Mentorship.mentee_member_id)
        .where(mentorship_condition(user))
        .order_by(
            Mentorship.status.not_in(OPEN_MENTORSHIP),
            Mentorship.proposed_at.desc(),
            Mentorship.id.desc(),
        )
    )
    return fetch_page(stmt, page)
