"""Demo upkeep of the org tree: contact people for the public /contacts list, the hosts
of the 流动党组织, members taking part at their destination, and the demo `leader`.

Runs after everything else with its own generator, so the main one (and the members
the other demo modules draw) stays exactly as before.
"""

import random

from sqlalchemy import bindparam, select, update

from baojing.models.members import Member
from baojing.models.org import MOBILE_ORG, ONLINE_BRANCH, TOWNSHIP, VILLAGE, OrgUnit
from baojing.models.users import ORG_LEADER, User

# The 流动党组织's host at the destination (DOMAIN.md: a company or a destination committee).
HOSTS = {
    "迁陵镇": "宁波某建工集团项目部",
    "比耳镇": "余姚市某工业园区党委",
    "普戎镇": "深圳某电子厂党委",
    "水田河镇": "东莞市某镇流动党员服务中心",
    "清水坪镇": "杭州某建设集团项目部",
}
# Shares: contact people who publish a number, members who take part at the destination.
PUBLISH_SHARE = 0.8
TAKING_PART_SHARE = 0.6
LEADER = "leader"


def load(
    session, rng: random.Random, users: dict, *, person, mobile, used_phones: set, password_hash
) -> dict:
    """Contacts on every open unit, mobile_org_id on members, the org_leader account.

    person(rng) and mobile(rng, used_phones) are the demo's own name and number makers.
    """
    units = session.execute(
        select(OrgUnit.id, OrgUnit.kind, OrgUnit.township_id, OrgUnit.location)
        .where(OrgUnit.kind.in_((VILLAGE, ONLINE_BRANCH, MOBILE_ORG)))
        .order_by(OrgUnit.id)
    ).all()
    township_names = dict(
        session.execute(select(OrgUnit.id, OrgUnit.name).where(OrgUnit.kind == TOWNSHIP)).all()
    )
    offices: set[str] = set()
    rows = []
    for unit in units:
        row = {
            "id": unit.id, "contact_name": person(rng), "contact_title": "书记",
            "contact_mobile": mobile(rng, used_phones), "contact_office": "", "host_org": "",
        }  # fmt: skip
        publishes = rng.random() < PUBLISH_SHARE
        row["publish_phone"] = "mobile" if publishes else ""
        if unit.kind == ONLINE_BRANCH:
            # The township's 组织委员 is the online branch's secretary, at the office.
            row["contact_office"] = _office(rng, offices)
            row["publish_phone"] = "office" if publishes else "mobile"
        elif unit.kind == MOBILE_ORG:
            row["contact_title"] = "负责人"
            row["host_org"] = HOSTS.get(township_names[unit.township_id], "")
        rows.append(row)
    session.execute(update(OrgUnit), rows)  # one executemany, by primary key

    taking_part = _taking_part(session, rng, [u for u in units if u.kind == MOBILE_ORG])
    if taking_part:
        table = Member.__table__
        session.execute(
            update(table)
            .where(table.c.id == bindparam("member"))
            .values(mobile_org_id=bindparam("org")),
            taking_part,
        )

    # 迁陵镇's organisation in Ningbo, where the demo's own township sends most people.
    ningbo = next(
        u for u in units if u.kind == MOBILE_ORG and township_names[u.township_id] == "迁陵镇"
    )
    account = User(
        username=LEADER, display_name="驻宁波流动党支部负责人", role=ORG_LEADER,
        org_unit_id=ningbo.id, password_hash=password_hash, is_demo=True,
    )  # fmt: skip
    session.add(account)
    session.flush()
    users[LEADER] = account
    return {"contacts": len(units), "taking_part": len(taking_part)}


def _taking_part(session, rng: random.Random, orgs: list) -> list[dict]:
    """Some members of the org's township working in its city take part there."""
    with_accounts = select(User.member_id).where(User.member_id.is_not(None))
    rows = []
    for org in orgs:
        members = session.scalars(
            select(Member.id)
            .where(
                Member.township_id == org.township_id,
                (Member.dest_province + Member.dest_city) == org.location,
                Member.id.not_in(with_accounts),  # the demo accounts' members stay as they are
            )
            .order_by(Member.id)
        ).all()
        # A fixed share rather than a coin per member: the leader always has people to see.
        chosen = rng.sample(members, k=round(len(members) * TAKING_PART_SHARE))
        rows += [{"member": mid, "org": org.id} for mid in sorted(chosen)]
    return rows


def _office(rng: random.Random, used: set) -> str:
    """A Baojing landline: area code 0743, local numbers 87xxxxx."""
    while True:
        value = f"0743-87{rng.randrange(10**5):05d}"
        if value not in used:
            used.add(value)
            return value
