"""Demo data for 小个专 enterprises, honours and the Spring Festival meeting.

A handful of enterprises per township; loans (in fen) and difficulties spread over them so
that the county totals come to the report's figures, 1.2 亿元 lent and 129 difficulties
coordinated; a few honour recommendations at every stage; one county-wide 春节座谈会
coming up, to which the demo secretary's village and one member in twenty elsewhere are
invited. Written in bulk: 20,000 members give about a thousand invitations.
"""

import random
from datetime import date, timedelta

from sqlalchemy import insert, select

from baojing.models.members import ACTIVE, Member
from baojing.models.mentors import (
    CreditSupport,
    Difficulty,
    Enterprise,
    EnterpriseMember,
    Event,
    HonourRecommendation,
    Invitation,
)
from baojing.models.org import TOWNSHIP, OrgUnit
from baojing.models.types import utcnow

PRODUCTS = ("黄金茶", "腊肉", "椪柑", "猕猴桃", "土家织锦", "油茶", "装修", "劳务", "物流", "酒店")
SUFFIXES = ("专业合作社", "有限公司", "经营部", "农庄", "工作室")
KINDS = (("micro", 5), ("individual", 4), ("market", 1))
TRADES = {"黄金茶": "茶叶", "腊肉": "食品加工", "椪柑": "种植", "猕猴桃": "种植", "土家织锦": "手工艺",
          "油茶": "种植", "装修": "建筑装修", "劳务": "劳务派遣", "物流": "物流", "酒店": "餐饮住宿"}  # fmt: skip
PLACES = ("浙江省宁波市", "广东省东莞市", "广东省深圳市", "湖南省长沙市", "本乡镇")
BANKS = ("保靖农商银行", "中国农业银行保靖支行", "邮储银行保靖支行", "湘西村镇银行")
LOAN_YUAN = (100_000, 200_000, 300_000, 500_000, 1_000_000, 2_000_000, 3_000_000, 5_000_000)
# The figures the county's report quotes: 1.2 亿元 lent and 129 difficulties coordinated.
LENT_FEN = 120_000_000 * 100
RESOLVED, OPEN = 129, 12
DIFFICULTIES = (
    ("流动资金周转困难，希望协调贷款", "县农商银行、乡镇党委", "办理了创业担保贷款"),
    ("厂房租金上涨，需要新的场地", "县工业园管委会", "协调入驻工业园标准厂房"),
    ("招工难，缺少熟练工人", "县人社局", "组织专场招聘会，招到 12 人"),
    ("产品销路不畅", "县商务局、驻外流动党组织", "对接外地商超，签订供货协议"),
    ("办理食品经营许可不熟悉流程", "县市场监管局", "上门指导，一周内办结"),
)
HONOUR_STORIES = (
    ("two_reps", "", "在外创业十年，带动本村 20 余人就业，积极为家乡发展建言"),
    ("model_member", "", "疫情期间组织在外党员捐赠物资，带头参与家乡防汛"),
    ("labour_model", "", "扎根一线的技术能手，获评所在城市优秀外来务工人员"),
    ("other", "优秀农民工", "吃苦耐劳，帮助新外出的老乡找工作、适应城市生活"),
)
MEETING = {
    "title": "春节返乡流动党员座谈会",
    "place": "县委党校报告厅",
    "description": "通报家乡发展情况，听取流动党员意见建议，为返乡创业党员送政策",
}


def _weighted(rng: random.Random, table):
    return rng.choices([t[0] for t in table], weights=[t[-1] for t in table])[0]


def load(session, rng: random.Random, today: date, users: dict) -> dict:
    """Enterprises with loans and difficulties, honours, and the Spring Festival meeting."""
    now = utcnow()
    members = session.execute(
        select(Member.id, Member.village_id, Member.township_id).where(Member.status == ACTIVE)
    ).all()
    by_township: dict[int, list] = {}
    for m in members:
        by_township.setdefault(m.township_id, []).append(m)
    townships = session.execute(
        select(OrgUnit.id, OrgUnit.name).where(OrgUnit.kind == TOWNSHIP).order_by(OrgUnit.id)
    ).all()
    counts = _enterprises(session, rng, today, users, townships, by_township, now)
    counts["honour_recommendations"] = _honours(session, rng, today, users, members, now)
    counts |= _meeting(session, rng, today, users, members, now)
    return counts


def _enterprises(session, rng, today, users, townships, by_township, now) -> dict:
    demo_township = users["township"].org_unit_id
    rows, owners = [], []
    for township_id, township_name in townships:
        names = set()
        for _ in range(rng.randint(4, 7)):
            product = rng.choice(PRODUCTS)
            name = f"{township_name[:2]}{product}{rng.choice(SUFFIXES)}"
            if name in names:
                continue
            names.add(name)
            party_members = rng.randint(1, 12)
            rows.append({
                "name": name, "kind": _weighted(rng, KINDS), "township_id": township_id,
                "location": rng.choice(PLACES).replace("本乡镇", f"保靖县{township_name}"),
                "trade": TRADES[product], "party_members": party_members,
                "has_party_org": party_members >= 3 and rng.random() < 0.6,
                "created_by_id": users["township" if township_id == demo_township else "admin"].id,
                "created_at": now,
            })  # fmt: skip
            owners.append(township_id)
    if not rows:
        return {"enterprises": 0}
    session.execute(insert(Enterprise), rows)
    ids = session.scalars(select(Enterprise.id).order_by(Enterprise.id)).all()[-len(rows) :]

    links = []
    recorder = {}
    for enterprise_id, township_id in zip(ids, owners, strict=True):
        pool = by_township.get(township_id, [])
        for n, m in enumerate(rng.sample(pool, min(len(pool), rng.randint(1, 3)))):
            links.append({"enterprise_id": enterprise_id, "member_id": m.id,
                          "role": "owner" if n == 0 else "employee"})  # fmt: skip
        recorder[enterprise_id] = users["township" if township_id == demo_township else "admin"].id
    # One enterprise per township takes the first loans, so no township's page is empty
    # whatever the draw (the draws before this one depend on the day the demo is loaded).
    firsts = list({township_id: eid for eid, township_id in zip(ids, owners, strict=True)}.values())
    credits = _loans(rng, today, ids, recorder, now, firsts)
    difficulties = _difficulties(rng, today, ids, recorder, now)
    for model, batch in (
        (EnterpriseMember, links),
        (CreditSupport, credits),
        (Difficulty, difficulties),
    ):
        if batch:
            session.execute(insert(model), batch)
    return {"enterprises": len(rows), "enterprise_members": len(links),
            "credit_supports": len(credits), "enterprise_difficulties": len(difficulties)}  # fmt: skip


def _loans(rng, today, ids, recorder, now, firsts) -> list[dict]:
    """Loans granted adding up to exactly the report's 1.2 亿元, and a few still applied for;
    the enterprises in `firsts` get the first ones."""
    rows, left = [], LENT_FEN
    while left > 0:
        amount = min(left, rng.choice(LOAN_YUAN) * 100)
        left -= amount
        status = "repaid" if rng.random() < 0.3 else "granted"
        borrower = firsts[len(rows)] if len(rows) < len(firsts) else rng.choice(ids)
        rows.append(_loan(rng, borrower, amount, status, today, recorder, now))
    for enterprise_id in rng.sample(ids, min(len(ids), 8)):
        rows.append(_loan(rng, enterprise_id, rng.choice(LOAN_YUAN) * 100, "applied", today,
                          recorder, now))  # fmt: skip
    return rows


def _loan(rng, enterprise_id, amount_fen, status, today, recorder, now) -> dict:
    granted_on = None if status == "applied" else today - timedelta(days=rng.randint(20, 900))
    return {
        "enterprise_id": enterprise_id, "bank": rng.choice(BANKS), "amount_fen": amount_fen,
        "status": status, "granted_on": granted_on, "recorded_by_id": recorder[enterprise_id],
        "created_at": now,
    }  # fmt: skip


def _difficulties(rng, today, ids, recorder, now) -> list[dict]:
    """The report's 129 difficulties coordinated, and a few recent ones still open."""
    rows = []
    for n in range(RESOLVED + OPEN):
        enterprise_id = rng.choice(ids)
        what, helper, how = rng.choice(DIFFICULTIES)
        solved = n < RESOLVED
        raised = today - timedelta(days=rng.randint(30, 700) if solved else rng.randint(1, 40))
        rows.append({
            "enterprise_id": enterprise_id, "description": what, "raised_on": raised,
            "helped_by": helper if solved else "",
            "resolved_on": min(today, raised + timedelta(days=rng.randint(3, 60))) if solved else None,
            "resolution": how if solved else "", "recorded_by_id": recorder[enterprise_id],
            "created_at": now,
        })  # fmt: skip
    return rows


def _honours(session, rng, today, users, members, now) -> int:
    """Two from the demo secretary's village (one just recommended), a few elsewhere."""
    secretary_village = users["secretary"].org_unit_id
    theirs = [m for m in members if m.village_id == secretary_village][-2:]
    others = [m for m in members if m.village_id != secretary_village]
    chosen = theirs + rng.sample(others, min(len(others), 6))
    stages = ("recommended", "reviewing", "awarded", "declined", "reviewing", "awarded",
              "recommended", "awarded")  # fmt: skip
    rows = []
    for m, status in zip(chosen, stages, strict=False):
        honour, name, reason = rng.choice(HONOUR_STORIES)
        final = status in ("awarded", "declined")
        rows.append({
            "member_id": m.id, "village_id": m.village_id, "township_id": m.township_id,
            "honour": honour, "honour_name": name, "reason": reason,
            "evidence": "积分排名全镇前十；所在企业为县级“小个专”党建示范点",
            "status": status, "decided_on": today - timedelta(days=30) if final else None,
            "decision_note": {"awarded": "已公示无异议", "declined": "名额有限，下次优先推荐"}.get(status, ""),
            "recommended_by_id": users["secretary" if m.village_id == secretary_village else "admin"].id,
            "created_at": now - timedelta(days=90 if final else rng.randint(1, 40)),
        })  # fmt: skip
    if rows:
        session.execute(insert(HonourRecommendation), rows)
    return len(rows)


def _meeting(session, rng, today, users, members, now) -> dict:
    """The county's 春节座谈会, two weeks ahead, with answers coming in."""
    session.execute(
        insert(Event),
        [{**MEETING, "held_on": today + timedelta(days=14), "township_id": None,
          "created_by_id": users["admin"].id, "created_at": now}],
    )  # fmt: skip
    event_id = session.scalar(select(Event.id).order_by(Event.id.desc()).limit(1))
    secretary_village = users["secretary"].org_unit_id
    demo_member = users["member"].member_id
    rows = []
    for m in members:
        if m.village_id != secretary_village and rng.random() >= 0.05:
            continue
        # The demo member has not answered yet: their page shows the two buttons.
        status = "invited" if m.id == demo_member else _weighted(
            rng, (("accepted", 5), ("declined", 1), ("invited", 4))
        )  # fmt: skip
        rows.append({
            "event_id": event_id, "member_id": m.id, "village_id": m.village_id,
            "township_id": m.township_id, "status": status, "attended": None,
            "invited_by_id": users["admin"].id, "created_at": now,
        })  # fmt: skip
    if rows:
        session.execute(insert(Invitation), rows)
    return {"events": 1, "invitations": len(rows)}
