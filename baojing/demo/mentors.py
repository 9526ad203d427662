"""Demo mentors: about one member in 25 volunteers, and a few mentorships under way.

The demo account `mentor` is a member of another 迁陵镇 village in the same trade and
city as the demo `member` (向光明): the first mentor suggested for him, so the
walkthrough "find a mentor → mentor accepts → both see it" works on a fresh demo.
"""

import random
from datetime import date, timedelta

from sqlalchemy import insert, select

from baojing import security
from baojing.models.members import Member
from baojing.models.mentors import ACTIVE, MentorCheckin, MentorProfile, Mentorship
from baojing.models.types import utcnow
from baojing.models.users import MEMBER, User

SHARE = 0.04


def load(session, rng: random.Random, today: date, users: dict, password: str) -> dict:
    mentee = session.get(Member, users["member"].member_id)
    demo_mentor = session.scalar(
        select(Member)
        .where(Member.township_id == mentee.township_id, Member.village_id != mentee.village_id)
        .order_by(Member.id)
    )
    demo_mentor.trade, demo_mentor.dest_province = mentee.trade, mentee.dest_province
    demo_mentor.dest_city = mentee.dest_city
    session.flush()
    members = session.execute(
        select(
            Member.id,
            Member.village_id,
            Member.township_id,
            Member.trade,
            Member.dest_province,
            Member.dest_city,
        )  # fmt: skip
    ).all()
    now = utcnow()
    rows = []
    for m in members:
        if m.id == demo_mentor.id or (m.id != mentee.id and rng.random() < SHARE):
            rows.append({
                "member_id": m.id, "village_id": m.village_id, "township_id": m.township_id,
                "trade": m.trade, "dest_province": m.dest_province, "dest_city": m.dest_city,
                "experience": rng.choice(("在外务工十年，带过班组", "自己开店八年", "做工程项目经理")),
                "capacity": 2 if m.id == demo_mentor.id else rng.choice((1, 2, 3)),
                "active_mentees": 0, "available": True, "created_at": now, "updated_at": now,
            })  # fmt: skip
    session.execute(insert(MentorProfile), rows)
    account = User(
        username="mentor", display_name=f"{demo_mentor.name}（帮带导师）", role=MEMBER,
        org_unit_id=demo_mentor.village_id, member_id=demo_mentor.id,
        password_hash=security.hash_password(password), is_demo=True,
    )  # fmt: skip
    session.add(account)
    session.flush()
    users["mentor"] = account
    active = _mentorships(session, rng, today, users, now, exclude={mentee.id, demo_mentor.id})
    return {"mentors": len(rows), "mentorships": active}


def _mentorships(session, rng, today, users, now, exclude) -> int:
    """A mentorship under way for some mentors, with a check-in; places counted."""
    profiles = session.scalars(select(MentorProfile).order_by(MentorProfile.id)).all()
    taken = set(exclude) | {p.member_id for p in profiles}
    candidates = [
        m
        for m in session.execute(select(Member.id, Member.village_id, Member.township_id)).all()
        if m.id not in taken
    ]
    made = 0
    for profile in profiles[::5]:
        if profile.member_id in exclude or not candidates:
            continue
        mentee = candidates.pop(rng.randrange(len(candidates)))
        started = today - timedelta(days=rng.randint(10, 200))
        ms = Mentorship(
            mentor_id=profile.id, mentor_member_id=profile.member_id, mentee_member_id=mentee.id,
            village_id=mentee.village_id, township_id=mentee.township_id,
            situation=rng.choice(("business", "job")), status=ACTIVE,
            proposed_by_id=users["township"].id, proposed_at=now, mentor_accepted_at=now,
            mentee_accepted_at=now, started_on=started,
        )  # fmt: skip
        session.add(ms)
        profile.active_mentees += 1
        session.flush()
        session.add(MentorCheckin(
            mentorship_id=ms.id, author_id=users["township"].id, side="branch",
            checked_on=started + timedelta(days=7), note="电话回访：已上手，导师每周联系一次",
        ))  # fmt: skip
        made += 1
    return made
