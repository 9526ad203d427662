"""The organisation tree as a user may see it."""

from dataclasses import dataclass, field

from sqlalchemy import func, select

from baojing.extensions import db
from baojing.models.members import ACTIVE, Member
from baojing.models.org import MOBILE_ORG, ONLINE_BRANCH, TOWNSHIP, VILLAGE, OrgUnit
from baojing.models.users import COUNTY_ADMIN, TOWNSHIP_OFFICER, User


@dataclass
class TownshipNode:
    township: OrgUnit
    villages: list[OrgUnit] = field(default_factory=list)
    online_branches: list[OrgUnit] = field(default_factory=list)
    mobile_orgs: list[OrgUnit] = field(default_factory=list)
    member_count: int = 0


def tree(user: User) -> tuple[list[TownshipNode], dict[int, int]]:
    """Townships with their units, and active members per village — three queries in all."""
    units = select(OrgUnit).where(OrgUnit.kind != "county")
    counts_q = select(Member.village_id, func.count()).where(Member.status == ACTIVE)
    if user.role == TOWNSHIP_OFFICER:
        units = units.where(OrgUnit.township_id == user.township_id)
        counts_q = counts_q.where(Member.township_id == user.township_id)
    elif user.role != COUNTY_ADMIN:
        return [], {}
    nodes: dict[int, TownshipNode] = {}
    rows = list(db.session.scalars(units.order_by(OrgUnit.code, OrgUnit.id)))
    for unit in rows:
        if unit.kind == TOWNSHIP:
            nodes[unit.id] = TownshipNode(unit)
    for unit in rows:
        node = nodes.get(unit.township_id)
        if node is None:
            continue
        if unit.kind == VILLAGE:
            node.villages.append(unit)
        elif unit.kind == ONLINE_BRANCH:
            node.online_branches.append(unit)
        elif unit.kind == MOBILE_ORG:
            node.mobile_orgs.append(unit)
    counts = dict(db.session.execute(counts_q.group_by(Member.village_id)).all())
    for node in nodes.values():
        node.member_count = sum(counts.get(v.id, 0) for v in node.villages)
    return list(nodes.values()), counts


def county() -> OrgUnit | None:
    return db.session.scalar(select(OrgUnit).where(OrgUnit.kind == "county"))
