"""Deterministic demo data: Baojing's real townships, a plausible set of villages, N members.

Real village names come from DOMAIN.md; every invented village is marked is_demo.
Rows are inserted with executemany, so 20,000 members load in seconds.
"""

import random
from datetime import date, timedelta

from flask import current_app
from sqlalchemy import and_, func, insert, or_, select

from baojing import audit, security
from baojing.dates import local_today
from baojing.demo import care as demo_care
from baojing.demo import certificates as demo_certificates
from baojing.demo import enterprises as demo_enterprises
from baojing.demo import hub as demo_hub
from baojing.demo import mentors as demo_mentors
from baojing.demo import org as demo_org
from baojing.demo import points as demo_points
from baojing.demo import tasks as demo_tasks
from baojing.demo import thoughts as demo_thoughts
from baojing.extensions import db
from baojing.models.audit import AuditEntry
from baojing.models.members import (
    BranchContact,
    ContactLog,
    LiaisonAssignment,
    Member,
    RegistrationVisit,
)
from baojing.models.meta import AppMeta, is_demo_marked
from baojing.models.org import COUNTY, MOBILE_ORG, ONLINE_BRANCH, TOWNSHIP, VILLAGE, OrgUnit
from baojing.models.roster import RosterImport
from baojing.models.types import utcnow
from baojing.models.users import (
    CLERK,
    COUNTY_ADMIN,
    MEMBER,
    TOWNSHIP_OFFICER,
    VILLAGE_SECRETARY,
    User,
)
from baojing.services import rankings, setup
from baojing.validators import id_check_char

DEMO_PASSWORD = "baojing-demo-2020"  # noqa: S105 - published in DESIGN.md, demo instances only
SEED = 20200522  # the day the county's report was published

KNOWN_VILLAGES = {
    "迁陵镇": ["踏梯村", "昂洞村"],
    "葫芦镇": [
        "新民村", "印山村", "排花村", "枫香村", "桥上村", "瓦厂村", "岩坎村", "官庄村", "黄皮村",
        "贝土村", "两路村", "木耳村", "半白村", "耳容村", "仁伍村", "中寨村", "排香村", "尖岩村",
        "葫芦村",
    ],
}  # fmt: skip
INVENTED_VILLAGES = (
    "和平村", "新寨村", "龙溪村", "白岩村", "长坪村", "大坪村", "高峰村", "岩门村", "洞坪村",
    "茶园村", "马湖村", "梅花村", "金星村", "中心村", "塔卧村", "树木村", "陇木村", "夯沙村",
)  # fmt: skip
MOBILE_ORGS = {  # DOMAIN/report: 流动党组织 in these five townships
    "迁陵镇": ("驻宁波流动党支部", "浙江省宁波市"),
    "比耳镇": ("驻余姚流动党支部", "浙江省宁波市"),
    "普戎镇": ("驻深圳流动党支部", "广东省深圳市"),
    "水田河镇": ("驻东莞流动党支部", "广东省东莞市"),
    "清水坪镇": ("驻杭州流动党支部", "浙江省杭州市"),
}
SURNAMES = "彭向田龙石张王李刘杨吴麻梁胡唐黄瞿符姚贾周宋谭陈"
GIVEN = "光明华军勇林平建国志强秀英兰芳红丽春生文武德海波涛云清松柏玉金银凤桂福寿"
DESTINATIONS = (
    ("浙江省", "宁波市", 30), ("浙江省", "杭州市", 12), ("浙江省", "温州市", 6),
    ("浙江省", "绍兴市", 6), ("广东省", "深圳市", 14), ("广东省", "东莞市", 10),
    ("广东省", "广州市", 8), ("广东省", "佛山市", 4), ("江苏省", "苏州市", 4),
    ("上海市", "浦东新区", 3), ("湖南省", "长沙市", 3),
)  # fmt: skip
TRADES = (("建筑业", 55), ("制造业", 18), ("交通运输", 6), ("批发零售", 6), ("住宿餐饮", 6),
          ("个体经营", 5), ("居民服务", 4))  # fmt: skip
EMPLOYERS = ("建工集团", "建设有限公司", "电子厂", "物流公司", "装饰工程公司", "机械制造厂")


class RealDataPresent(Exception):
    """The database holds non-demo data; demo load must not touch it."""


def refuse_if_real(session) -> bool:
    """Raise if real data is present; return True if the database already holds demo data."""
    is_demo = is_demo_marked(session)
    real_users = session.scalar(
        select(func.count()).select_from(User).where(User.is_demo.is_(False))
    )
    if is_demo and real_users:
        raise RealDataPresent(f"演示数据库中已有 {real_users} 个非演示账户，拒绝重建")
    if is_demo:
        _refuse_if_real_activity(session)
        return True
    users = session.scalar(select(func.count()).select_from(User))
    members = session.scalar(select(func.count()).select_from(Member))
    if users or members:
        raise RealDataPresent(
            f"数据库中已有 {users} 个账户、{members} 名党员（非演示数据），拒绝载入演示数据"
        )
    return False


def _refuse_if_real_activity(session) -> None:
    """A demo database someone worked in for real keeps its audit rows: refuse to drop them.

    Real activity is an audit row younger than the retention period (they may not be
    purged yet) written after the load by anyone but a demo account: an operator's
    command, an account since removed. An anonymous failed login is what any
    instance on the internet gets, and does not count.
    """
    days = current_app.config["AUDIT_RETENTION_DAYS"]
    # The load writes its own rows first and its demo.load row last.
    loaded = session.scalar(
        select(func.max(AuditEntry.id)).where(
            AuditEntry.action == "demo.load", AuditEntry.username == "cli"
        )
    )
    failed_login = and_(
        AuditEntry.user_id.is_(None), AuditEntry.action == "auth.login", AuditEntry.outcome != "ok"
    )
    by_demo_account = AuditEntry.user_id.in_(select(User.id).where(User.is_demo.is_(True)))
    found = session.execute(
        select(AuditEntry.action, func.count())
        .where(
            AuditEntry.at >= utcnow() - timedelta(days=days),
            AuditEntry.id > (loaded or 0),
            or_(AuditEntry.user_id.is_(None), ~by_demo_account),
            ~failed_login,
        )
        .group_by(AuditEntry.action)
        .order_by(func.count().desc(), AuditEntry.action)
    ).all()
    if found:
        total = sum(count for _, count in found)
        actions = "、".join(f"{action} {count} 条" for action, count in found[:5])
        raise RealDataPresent(
            f"演示数据库中有 {total} 条近 {days} 天内非演示账户的操作记录（{actions}），"
            "可能含真实数据，拒绝重建"
        )
    # A roster uploaded, or members registered, even through a demo account, may be real
    # people's records: someone tried the demo with their own spreadsheet.
    imports = session.scalar(select(func.count()).select_from(RosterImport))
    registered = session.scalar(
        select(func.count()).where(
            AuditEntry.action == "member.create",
            AuditEntry.id > (loaded or 0),
            AuditEntry.at >= utcnow() - timedelta(days=days),
        )
    )
    if imports or registered:
        raise RealDataPresent(
            f"演示数据库中导入过 {imports} 次花名册、登记过 {registered} 名党员，"
            "可能含真实人员信息，拒绝重建"
        )


def _weighted(rng: random.Random, table):
    return rng.choices([t[:-1] for t in table], weights=[t[-1] for t in table])[0]


def _resident_id(rng: random.Random, birth: date, male: bool, used: set) -> str:
    while True:
        seq = rng.randrange(0, 499) * 2 + (1 if male else 0)
        first17 = f"433125{birth:%Y%m%d}{seq:03d}"
        value = first17 + id_check_char(first17)
        if value not in used:
            used.add(value)
            return value


def _person(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choices(GIVEN, k=rng.choice((1, 2))))


def _mobile(rng: random.Random, used: set) -> str:
    while True:
        value = f"1{rng.choice('3456789')}{rng.randrange(10**9):09d}"
        if value not in used:
            used.add(value)
            return value


def load(members: int = 300, today: date | None = None) -> dict:
    """Fill an empty (freshly migrated) database; returns counts of what was created."""
    rng = random.Random(SEED)
    today = today or local_today()
    session = db.session

    county = OrgUnit(kind=COUNTY, name="保靖县", code="433125")
    session.add(county)
    session.flush()

    townships, villages = [], []
    rows = setup.township_rows()  # the file `flask setup` reads, shipped in the package
    for row in rows:
        t = OrgUnit(kind=TOWNSHIP, name=row["name"], code=row["code"], parent_id=county.id)
        session.add(t)
        session.flush()
        t.township_id = t.id
        townships.append(t)
        session.add(
            OrgUnit(
                kind=ONLINE_BRANCH, name=f"{t.name}网络党支部", parent_id=t.id, township_id=t.id
            )
        )
        if t.name in MOBILE_ORGS:
            name, where = MOBILE_ORGS[t.name]
            session.add(OrgUnit(kind=MOBILE_ORG, name=f"{t.name}{name}", location=where,
                                parent_id=t.id, township_id=t.id))  # fmt: skip
        known = KNOWN_VILLAGES.get(t.name, [])
        invented = [v for v in INVENTED_VILLAGES if v not in known]
        rng.shuffle(invented)
        names = known + invented[: max(0, 6 - len(known))]
        for vname in names:
            v = OrgUnit(kind=VILLAGE, name=vname, parent_id=t.id, township_id=t.id,
                        is_demo=vname not in known)  # fmt: skip
            session.add(v)
            villages.append(v)
    session.flush()

    # Two or three liaisons per village: committee members and young members.
    used_phones: set[str] = set()
    contact_rows = []
    for v in villages:
        for i in range(rng.choice((2, 3))):
            contact_rows.append({
                "village_id": v.id,
                "name": rng.choice(SURNAMES) + "".join(rng.choices(GIVEN, k=2)),
                "phone": _mobile(rng, used_phones),
                "role": "支委委员" if i == 0 else "青年党员",
                "active": True,
            })  # fmt: skip
    session.execute(insert(BranchContact), contact_rows)
    contacts_by_village: dict[int, list[int]] = {}
    for cid, vid in session.execute(select(BranchContact.id, BranchContact.village_id)):
        contacts_by_village.setdefault(vid, []).append(cid)

    # Demo accounts need their villages first: 踏梯村 (迁陵镇) and 新民村 (葫芦镇).
    by_name = {(t.name, v.name): v for t in townships for v in villages if v.township_id == t.id}
    tati = by_name[("迁陵镇", "踏梯村")]
    xinmin = by_name[("葫芦镇", "新民村")]
    qianling = next(t for t in townships if t.name == "迁陵镇")

    # Villages close to the county seat send more people out; weight them a little.
    weights = [3 if v.township_id == qianling.id else 2 for v in villages]
    used_ids: set[str] = set()
    member_rows, visit_rows, liaison_rows, contact_log_rows = [], [], [], []
    for n in range(members):
        village = tati if n == 0 else rng.choices(villages, weights=weights)[0]
        male = rng.random() < 0.82
        birth = date(rng.randint(1962, 2000), rng.randint(1, 12), rng.randint(1, 28))
        name = rng.choice(SURNAMES) + "".join(rng.choices(GIVEN, k=rng.choice((1, 2))))
        if n == 0:
            name, male, birth = "向光明", True, date(1985, 6, 18)
        id_number = _resident_id(rng, birth, male, used_ids)
        join = date(
            min(birth.year + rng.randint(20, 35), today.year - 1),
            rng.randint(1, 12),
            rng.randint(1, 28),
        )
        province, city = _weighted(rng, DESTINATIONS)
        trade = _weighted(rng, TRADES)[0]
        out_since = today - timedelta(days=rng.randint(60, 365 * 12))
        verified = None if rng.random() < 0.12 else today - timedelta(days=rng.randint(0, 700))
        contacted = verified
        if rng.random() < 0.6:
            contacted = today - timedelta(days=rng.randint(0, 240))
            if verified and contacted < verified:
                contacted = verified
        liaisons = contacts_by_village[village.id]
        liaison = rng.choice(liaisons) if rng.random() < 0.88 else None
        member_rows.append({
            "village_id": village.id, "township_id": village.township_id, "name": name,
            "gender": "男" if male else "女",
            "ethnicity": rng.choices(("土家族", "苗族", "汉族", "回族"), weights=(55, 30, 13, 2))[0],
            "birth_date": birth, "id_number": id_number, "id_tail": id_number[-4:],
            "phone": _mobile(rng, used_phones), "join_date": join,
            "membership": "probationary" if rng.random() < 0.05 else "full",
            "out_since": out_since, "dest_province": province, "dest_city": city,
            "dest_address": f"{city}{rng.choice(('工业园', '新区', '开发区', '城区'))}{rng.randint(1, 300)}号",
            "employer": f"{city[:2]}{rng.choice(EMPLOYERS)}", "trade": trade,
            # 持证 follows the papers demo/certificates.py issues; the draw stays, so that
            # the rest of the demo (names, phones …) comes out as it always has.
            "has_certificate": rng.random() and False,
            "family_contact_name": rng.choice(SURNAMES) + "".join(rng.choices(GIVEN, k=2)),
            "family_contact_relation": rng.choice(("配偶", "父亲", "母亲", "兄弟姐妹")),
            "family_contact_phone": _mobile(rng, used_phones), "liaison_id": liaison,
            "last_verified_on": verified, "last_contact_on": contacted, "status": "active",
            "version": 1,
        })  # fmt: skip
    session.execute(insert(Member), member_rows)

    # The demo accounts; the member account is 向光明 of 踏梯村.
    accounts = [
        ("admin", "县委组织部管理员", COUNTY_ADMIN, None, None),
        ("township", "迁陵镇组织委员", TOWNSHIP_OFFICER, qianling.id, None),
        ("secretary", "踏梯村党支部书记", VILLAGE_SECRETARY, tati.id, None),
        ("secretary2", "新民村党支部书记", VILLAGE_SECRETARY, xinmin.id, None),
        ("clerk", "积分超市柜台", CLERK, None, None),
    ]
    first_member = session.scalar(
        select(Member)
        .where(Member.name == "向光明", Member.village_id == tati.id)
        .order_by(Member.id)
    )
    accounts.append(("member", "向光明", MEMBER, tati.id, first_member.id))
    password_hash = security.hash_password(DEMO_PASSWORD)
    users = {}
    for username, display, role, unit, member_id in accounts:
        user = User(username=username, display_name=display, role=role, org_unit_id=unit,
                    member_id=member_id, password_hash=password_hash, is_demo=True)  # fmt: skip
        session.add(user)
        users[username] = user
    session.flush()

    # History behind the dates: a visit for every verified member, the current
    # liaison assignment, and a contact note where the last contact is newer.
    rows = session.execute(
        select(
            Member.id,
            Member.village_id,
            Member.last_verified_on,
            Member.last_contact_on,
            Member.liaison_id,
        )
    )
    secretary_id = users["secretary"].id
    for mid, _vid, verified, contacted, liaison in rows:
        if verified:
            visit_rows.append({
                "member_id": mid, "visited_on": verified, "verified_by_id": secretary_id,
                "met_with": rng.choice(("本人", "配偶", "父母")),
                "items_verified": "identity,phone,whereabouts,employer,family",
                "whereabouts_confirmed": True, "note": "",
            })  # fmt: skip
        if contacted and contacted != verified:
            contact_log_rows.append({
                "member_id": mid, "contacted_on": contacted, "channel": rng.choice(("电话", "微信")),
                "note": "", "by_user_id": secretary_id,
            })  # fmt: skip
        if liaison:
            liaison_rows.append({
                "member_id": mid, "liaison_id": liaison, "started_on": today - timedelta(days=400),
                "ended_on": None, "assigned_by_id": secretary_id, "note": "",
            })  # fmt: skip
    if visit_rows:
        session.execute(insert(RegistrationVisit), visit_rows)
    if contact_log_rows:
        session.execute(insert(ContactLog), contact_log_rows)
    if liaison_rows:
        session.execute(insert(LiaisonAssignment), liaison_rows)

    points = demo_points.load(
        session, rng, today, clerk_id=users["clerk"].id, secretary_id=secretary_id
    )
    care = demo_care.load(session, rng, today, users)
    care |= demo_certificates.load(session, today, users)
    care |= demo_mentors.load(session, rng, today, users, DEMO_PASSWORD)
    care |= demo_enterprises.load(session, rng, today, users)
    # Last quarter's 比积分 of 迁陵镇, published, so that the page has something to show.
    session.flush()
    rankings.publish(users["township"], qianling, rankings.completed_quarters(1, today)[0])
    # Contact people, hosts, members taking part at destinations and the `leader`
    # account: last, on a generator of their own, so nothing drawn above changes.
    care |= demo_org.load(
        session, random.Random(SEED + 13), users, person=_person, mobile=_mobile,
        used_phones=used_phones, password_hash=password_hash,
    )  # fmt: skip
    # Thought reports: on a generator of their own, so nothing drawn above changes.
    care |= demo_thoughts.load(session, random.Random(SEED + 16), today, users)
    # Monthly tasks, on a generator of their own too.
    care |= demo_tasks.load(session, random.Random(SEED + 16), today, users)
    # The county hub: its own generator too (issue 16).
    care |= demo_hub.load(session, today, users, seed=SEED + 16)
    session.merge(AppMeta(key="demo", value="1"))
    counts = {
        "townships": len(townships),
        "villages": len(villages),
        "members": members,
        "users": len(users),
        "visits": len(visit_rows),
        **points,
        **care,
    }
    audit.record("demo.load", entity_type="app_meta", after=counts, username="cli")
    return counts
