"""Factories for tests: valid IDs and phones, an org tree, users of every role, members."""

import itertools
from dataclasses import dataclass, field
from datetime import date, timedelta

from baojing import security
from baojing.dates import local_today
from baojing.extensions import db
from baojing.models.members import BranchContact, Member
from baojing.models.org import COUNTY, TOWNSHIP, VILLAGE, OrgUnit
from baojing.models.users import User
from baojing.validators import id_check_char

_seq = itertools.count(1)
PASSWORD = "correct horse battery staple"


def resident_id(birth: date = date(1985, 6, 18), male: bool = True) -> str:
    n = next(_seq)
    seq = (n % 499) * 2 + (1 if male else 0)
    area = f"4331{25 + n // 499:02d}"
    first17 = f"{area}{birth:%Y%m%d}{seq:03d}"
    return first17 + id_check_char(first17)


def mobile() -> str:
    return f"139{next(_seq):08d}"


def village(township: OrgUnit, name: str) -> OrgUnit:
    unit = OrgUnit(kind=VILLAGE, name=name, parent_id=township.id, township_id=township.id)
    db.session.add(unit)
    db.session.flush()
    return unit


def liaison(village_unit: OrgUnit, name: str = "联络员") -> BranchContact:
    contact = BranchContact(village_id=village_unit.id, name=name, phone=mobile(), role="支委委员")
    db.session.add(contact)
    db.session.flush()
    return contact


def member(village_unit: OrgUnit, **kw) -> Member:
    today = local_today()
    idn = kw.pop("id_number", None) or resident_id()
    values = {
        "name": "测试党员", "gender": "男", "ethnicity": "土家族", "birth_date": date(1985, 6, 18),
        "id_number": idn, "id_tail": idn[-4:], "phone": mobile(), "join_date": date(2010, 7, 1),
        "membership": "full", "dest_province": "浙江省", "dest_city": "宁波市", "trade": "建筑业",
        "last_verified_on": today - timedelta(days=30), "last_contact_on": today - timedelta(days=10),
    }  # fmt: skip
    values.update(kw)
    m = Member(village_id=village_unit.id, township_id=village_unit.township_id, **values)
    db.session.add(m)
    db.session.flush()
    return m


def user(username: str, role: str, unit: OrgUnit | None = None, member_obj=None, **kw) -> User:
    u = User(
        username=username, display_name=kw.pop("display_name", username), role=role,
        org_unit_id=unit.id if unit else None, member_id=member_obj.id if member_obj else None,
        password_hash=security.hash_password(kw.pop("password", PASSWORD)), **kw,
    )  # fmt: skip
    db.session.add(u)
    db.session.flush()
    return u


@dataclass
class Org:
    county: OrgUnit
    townships: dict[str, OrgUnit] = field(default_factory=dict)
    villages: dict[str, OrgUnit] = field(default_factory=dict)
    liaisons: dict[str, BranchContact] = field(default_factory=dict)
    members: dict[str, Member] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)


def build_org() -> Org:
    """迁陵镇 (踏梯村, 昂洞村) and 葫芦镇 (新民村); one member per village and a user per role."""
    county = OrgUnit(kind=COUNTY, name="保靖县", code="433125")
    db.session.add(county)
    db.session.flush()
    org = Org(county)
    for code, name in (("433125109", "迁陵镇"), ("433125114", "葫芦镇")):
        t = OrgUnit(kind=TOWNSHIP, name=name, code=code, parent_id=county.id)
        db.session.add(t)
        db.session.flush()
        t.township_id = t.id
        org.townships[name] = t
    org.villages["tati"] = village(org.townships["迁陵镇"], "踏梯村")
    org.villages["angdong"] = village(org.townships["迁陵镇"], "昂洞村")
    org.villages["xinmin"] = village(org.townships["葫芦镇"], "新民村")
    for key, v in org.villages.items():
        org.liaisons[key] = liaison(v, name=f"{v.name}联络员")
    org.members["tati"] = member(
        org.villages["tati"], name="向光明", liaison_id=org.liaisons["tati"].id
    )
    org.members["angdong"] = member(org.villages["angdong"], name="彭昂洞")
    org.members["xinmin"] = member(org.villages["xinmin"], name="田新民")
    org.users["admin"] = user("admin", "county_admin")
    org.users["township"] = user("township", "township_officer", org.townships["迁陵镇"])
    org.users["secretary"] = user("secretary", "village_secretary", org.villages["tati"])
    org.users["secretary2"] = user("secretary2", "village_secretary", org.villages["xinmin"])
    org.users["clerk"] = user("clerk", "clerk")
    org.users["member"] = user("member", "member", org.villages["tati"], org.members["tati"])
    return org
