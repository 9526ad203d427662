"""Demo data for care: about 2.5 care cases per member over two years, pairings, requests.

Most cases are long closed with one visit; a few per village are open (some overdue,
some following up) so that every secretary's to-do has something on it. Written in
bulk: 20,000 members give about 50,000 cases (the to-do benchmark's size).
"""

import random
from datetime import date, timedelta

from sqlalchemy import func, insert, select, update

from baojing.dates import quarter_start
from baojing.models.care import (
    CANCELLED,
    CARE_KINDS,
    CLOSED,
    DEFAULT_DUE_DAYS,
    DONE,
    FOLLOW_UP,
    HELP_KINDS,
    IN_PROGRESS,
    OPEN,
    RECEIVED,
    SERVICE_KINDS,
    CareCase,
    CareVisit,
    FamilyPairing,
    PairingHelp,
    ServiceRequest,
    ServiceUpdate,
)
from baojing.models.members import Member
from baojing.models.types import utcnow

CASES_PER_MEMBER = 2.5
STORIES = {
    "wedding_funeral": ("父亲去世，丧事在家中办理", "儿子结婚，婚宴在村里办", "母亲去世"),
    "illness": ("母亲摔伤住院", "父亲脑梗住进县人民医院", "孩子肺炎住院"),
    "setback": ("在浙江开的装修公司亏损停业", "承包的工程款被拖欠", "养殖场受灾"),
    "hardship": ("房屋漏雨需要修缮", "老人独居无人照看", "家里农田被水冲毁"),
}
SERVICE_SUBJECTS = {
    "land": "家里承包地续签合同",
    "loan": "办理创业贷款需要担保",
    "school": "孩子秋季转回县城读书",
    "other": "帮忙办理父母的医保",
}


def _case_row(rng, member, kind, opened_on, users):
    event_on = opened_on - timedelta(days=rng.randint(0, 3))
    return {
        "member_id": member.id, "village_id": member.village_id, "township_id": member.township_id,
        "kind": kind, "event_on": event_on, "description": rng.choice(STORIES[kind]),
        "reported_via": rng.choice(("liaison", "family", "member", "branch")),
        "reported_by_id": users["secretary"].id, "opened_on": opened_on,
        "due_on": opened_on + timedelta(days=DEFAULT_DUE_DAYS[kind]), "status": OPEN,
        "first_visit_on": None, "closed_on": None, "cancel_reason": "",
    }  # fmt: skip


def load(session, rng: random.Random, today: date, users: dict) -> dict:
    members = session.execute(select(Member.id, Member.village_id, Member.township_id)).all()
    secretary_village = users["secretary"].org_unit_id
    kinds = list(CARE_KINDS)
    cases, visits_for = [], []
    for member in members:
        n = int(CASES_PER_MEMBER) + (rng.random() < CASES_PER_MEMBER % 1)
        for _ in range(n):
            opened_on = today - timedelta(days=rng.randint(0, 730))
            row = _case_row(rng, member, rng.choice(kinds), opened_on, users)
            roll = rng.random()
            if opened_on > today - timedelta(days=14) and roll < 0.6:
                pass  # recent and not yet visited: open, maybe overdue
            elif roll < 0.02:
                row.update(status=CANCELLED, cancel_reason="重复登记")
            else:
                visited = min(
                    today, opened_on + timedelta(days=rng.choice((0, 1, 1, 2, 3, 4, 6, 9)))
                )
                row.update(status=CLOSED, first_visit_on=visited, closed_on=visited)
                visits_for.append(len(cases))
            cases.append(row)
    # The demo secretary's to-do: one case overdue, one due soon, one being followed up.
    mine = [m for m in members if m.village_id == secretary_village]
    for member, days_ago, kind in zip(
        mine[1:3], (8, 1), ("illness", "wedding_funeral"), strict=False
    ):
        cases.append(_case_row(rng, member, kind, today - timedelta(days=days_ago), users))
    follow = next((m for m in members if m.village_id == secretary_village), None)
    if follow is not None:
        row = _case_row(rng, follow, "setback", today - timedelta(days=20), users)
        row.update(status=FOLLOW_UP, first_visit_on=today - timedelta(days=18),
                   due_on=today + timedelta(days=5))  # fmt: skip
        visits_for.append(len(cases))
        cases.append(row)

    now = utcnow()
    for row in cases:
        row["created_at"] = now
    session.execute(insert(CareCase), cases)
    case_ids = session.scalars(select(CareCase.id).order_by(CareCase.id)).all()
    visit_rows = []
    for index in visits_for:
        row = cases[index]
        money = rng.choice((0, 0, 20000, 50000, 100000))
        visit_rows.append({
            "case_id": case_ids[index], "visited_on": row["first_visit_on"],
            "visitors": "支部书记、联络员", "method": rng.choice(("home", "home", "hospital", "home")),
            "findings": "家属情绪稳定，已转达支部问候", "money_fen": money,
            "goods": rng.choice(("", "大米一袋", "牛奶两箱")), "help_arranged": "",
            "follow_up": row["status"] == FOLLOW_UP,
            "follow_up_on": row["due_on"] if row["status"] == FOLLOW_UP else None,
            "shared_with_member": rng.random() < 0.5,
            "recorded_by_id": users["secretary"].id, "created_at": now,
        })  # fmt: skip
    if visit_rows:
        session.execute(insert(CareVisit), visit_rows)

    pairings, helps = _pairings(session, rng, today, members, users, now)
    requests = _requests(session, rng, today, members, users, now)
    return {"care_cases": len(cases), "care_visits": len(visit_rows), "pairings": pairings,
            "pairing_helps": helps, "service_requests": requests}  # fmt: skip


def _pairings(session, rng, today, members, users, now) -> tuple[int, int]:
    """One family in ten is paired; help in earlier quarters, and in this one for most."""
    secretary_village = users["secretary"].org_unit_id
    # The demo secretary's village always has two paired families (one idle this quarter).
    theirs = [m for m in members if m.village_id == secretary_village][3:5]
    chosen = theirs + [m for m in members if rng.random() < 0.1 and m not in theirs]
    rows = [
        {
            "member_id": m.id,
            "village_id": m.village_id,
            "township_id": m.township_id,
            "branch_id": m.village_id,
            "helpers": rng.choice(("彭光华、田小兰", "龙建国", "向红梅、石磊")),
            "family_note": rng.choice(("父母年迈，家有 3 亩水田", "妻子在家带两个孩子", "")),
            "started_on": today - timedelta(days=500),
            "ended_on": None,
            "end_reason": "",
            "created_by_id": users["secretary"].id,
            "created_at": now,
        }  # fmt: skip
        for m in chosen
    ]
    if not rows:
        return 0, 0
    session.execute(insert(FamilyPairing), rows)
    ids = session.scalars(select(FamilyPairing.id).order_by(FamilyPairing.id)).all()
    season = quarter_start(today)
    helps = []
    for n, pairing_id in enumerate(ids):
        for back in (300, 200, 100):
            helps.append(
                _help(
                    rng, pairing_id, today - timedelta(days=back + rng.randint(0, 30)), users, now
                )
            )
        helped = n == 0 or (n > 1 and rng.random() < 0.7)  # n == 1: the demo's idle family
        if helped and today > season:
            day = season + timedelta(days=rng.randint(0, (today - season).days))
            helps.append(_help(rng, pairing_id, day, users, now))
    session.execute(insert(PairingHelp), helps)
    # What log_help keeps on the pairing as help is logged.
    latest = (
        select(func.max(PairingHelp.helped_on))
        .where(PairingHelp.pairing_id == FamilyPairing.id)
        .scalar_subquery()
    )
    session.execute(update(FamilyPairing).values(last_helped_on=latest))
    return len(rows), len(helps)


def _help(rng, pairing_id, day, users, now) -> dict:
    kind = rng.choice(list(HELP_KINDS))
    return {
        "pairing_id": pairing_id, "helped_on": day, "kind": kind,
        "description": {"farming": "帮忙插秧", "flood": "汛期转移老人", "illness": "送老人去卫生院",
                        "supplies": "送去防疫物资", "other": "帮忙修缮屋顶"}[kind],
        "supplies": "口罩 200 只" if kind == "supplies" else "", "helpers": "",
        "recorded_by_id": users["secretary"].id, "created_at": now,
    }  # fmt: skip


def _requests(session, rng, today, members, users, now) -> int:
    """One member in twenty has asked their liaison for something; most are done."""
    chosen = [m for m in members if rng.random() < 0.05]
    secretary_village = users["secretary"].org_unit_id
    # The demo secretary has one request just in and one under way.
    theirs = [m for m in members if m.village_id == secretary_village][:2]
    forced = dict(zip((m.id for m in theirs), (RECEIVED, IN_PROGRESS), strict=False))
    chosen = theirs + [m for m in chosen if m not in theirs]
    rows, statuses = [], []
    for m in chosen:
        kind = rng.choice(list(SERVICE_KINDS))
        status = forced.get(m.id) or rng.choice((DONE, DONE, DONE, IN_PROGRESS, RECEIVED))
        rows.append({
            "member_id": m.id, "village_id": m.village_id, "township_id": m.township_id,
            "kind": kind, "subject": SERVICE_SUBJECTS[kind], "description": "在外务工回不去，请联络人帮忙办理。",
            "status": status, "opened_via": rng.choice(("member", "liaison")),
            "opened_by_id": users["secretary"].id, "liaison_id": None,
            "closed_on": today - timedelta(days=10) if status == DONE else None,
            "created_at": now, "updated_at": now,
        })  # fmt: skip
        statuses.append(status)
    if not rows:
        return 0
    session.execute(insert(ServiceRequest), rows)
    ids = session.scalars(select(ServiceRequest.id).order_by(ServiceRequest.id)).all()
    updates = [
        {"service_request_id": rid, "author_id": users["secretary"].id, "body": "已联系村委会，正在办理。",
         "status": IN_PROGRESS, "created_at": now}
        for rid, status in zip(ids, statuses, strict=True) if status != RECEIVED
    ]  # fmt: skip
    updates += [
        {"service_request_id": rid, "author_id": users["secretary"].id, "body": "已办好，材料交给家属。",
         "status": DONE, "created_at": now}
        for rid, status in zip(ids, statuses, strict=True) if status == DONE
    ]  # fmt: skip
    if updates:
        session.execute(insert(ServiceUpdate), updates)
    return len(rows)
