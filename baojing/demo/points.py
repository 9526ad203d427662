"""Demo data for the points store: rules, the catalogue, and a ledger history.

About ten ledger lines per member over the last four quarters, each within its
rule's quarterly cap, and a goods redemption for some; balances are written from
the same numbers, so `flask points verify` holds on a fresh demo.
"""

import random
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select

from baojing.dates import quarter_of, quarter_start
from baojing.db import ids_given
from baojing.models.members import Member
from baojing.models.points import (
    DEDUCT,
    EARN,
    GOODS,
    HEALTH_CHECK,
    REDEEM,
    TRAINING,
    CatalogItem,
    ItemSession,
    PointAccount,
    PointEntry,
    PointRule,
    Redemption,
    Voucher,
)

SECRETARY_ROLES = "village_secretary,township_officer"
# name, points, cap per quarter, deduction?, automatic source, chance per quarter
RULES = (
    ("流动登记", 10, 10, False, "registration_visit", 0.45),
    ("持证用证", 10, 10, False, "certificate_issued", 0.4),
    ("按时定期汇报", 10, 30, False, None, 0.5),
    ("红星云学习", 5, 30, False, None, 0.55),
    ("参加组织生活", 10, 30, False, None, 0.35),
    ("回报家乡", 20, 60, False, None, 0.1),
    ("未按时汇报", 5, 15, True, None, 0.08),
    ("无故不参加组织生活", 10, 30, True, None, 0.04),
)
# name, kind, price, stock, description
ITEMS = (
    ("健康查体（基础套餐）", HEALTH_CHECK, 200, None, "血常规、肝肾功能、心电图、胸部 CT"),
    ("健康查体（中老年套餐）", HEALTH_CHECK, 300, None, "基础套餐加颈动脉彩超、骨密度"),
    ("电工证培训", TRAINING, 150, None, "县职业中专，5 天，结业可考低压电工证"),
    ("创业培训（SYB）", TRAINING, 120, None, "返乡创业政策与开业指导，3 天"),
    ("大米 10 斤", GOODS, 50, 400, "保靖本地大米"),
    ("食用油 5 升", GOODS, 60, 200, "菜籽油"),
    ("洗衣液 2 瓶", GOODS, 30, 500, ""),
)
SESSION_PLACES = {
    HEALTH_CHECK: "保靖县人民医院体检中心",
    TRAINING: "保靖县职业中专",
}


def _previous_quarters(today: date, count: int) -> list[date]:
    starts = [quarter_start(today)]
    while len(starts) < count:
        starts.append(quarter_start(starts[-1] - timedelta(days=1)))
    return starts


def load(session, rng: random.Random, today: date, clerk_id: int, secretary_id: int) -> dict:
    rules = []
    for name, points, cap, deduction, auto, _chance in RULES:
        rule = PointRule(
            name=name, points=points, quarterly_cap=cap, is_deduction=deduction,
            awarder_roles=SECRETARY_ROLES, auto_source=auto,
            description="扣分项" if deduction else "",
        )  # fmt: skip
        session.add(rule)
        rules.append(rule)
    items = []
    for name, kind, price, stock, description in ITEMS:
        item = CatalogItem(
            kind=kind, name=name, price=price, stock=stock, description=description,
            valid_from=date(today.year, 1, 1), valid_until=date(today.year + 1, 12, 31),
        )  # fmt: skip
        session.add(item)
        items.append(item)
    session.flush()
    for item in items:
        if item.kind in SESSION_PLACES:
            for week in range(1, 7):
                session.add(
                    ItemSession(
                        item_id=item.id,
                        on_date=today + timedelta(days=7 * week),
                        place=SESSION_PLACES[item.kind],
                        capacity=20 if item.kind == HEALTH_CHECK else 40,
                    )  # fmt: skip
                )
    goods = [i for i in items if i.kind == GOODS]

    quarters = _previous_quarters(today, 4)
    entry_rows, redemption_rows, voucher_rows = [], [], []
    balances: dict[int, int] = defaultdict(int)
    member_ids = session.scalars(select(Member.id).order_by(Member.id)).all()
    redemption_id = 0
    for mid in member_ids:
        for start in reversed(quarters):
            end = min(today, quarter_start(start + timedelta(days=95)) - timedelta(days=1))
            span = (end - start).days
            for rule, spec in zip(rules, RULES, strict=True):
                if rng.random() >= spec[5]:
                    continue
                day = start + timedelta(days=rng.randint(0, span))
                points = rule.points
                if rule.is_deduction:
                    points = min(points, balances[mid])
                    if points == 0:
                        continue
                    points = -points
                balances[mid] += points
                entry_rows.append(_entry(mid, DEDUCT if rule.is_deduction else EARN, points, day,
                                         secretary_id, rule_id=rule.id, reason=rule.name))  # fmt: skip
        if rng.random() < 0.15:
            item = rng.choice(goods)
            if balances[mid] >= item.price:
                day = today - timedelta(days=rng.randint(1, 80))
                redemption_id += 1
                redemption_rows.append({
                    "id": redemption_id, "serial": f"JF{day:%Y%m%d}-{redemption_id:06d}",
                    "member_id": mid, "item_id": item.id, "session_id": None, "quantity": 1,
                    "unit_price": item.price, "points": item.price,
                    "request_id": f"demo-{redemption_id:08d}", "request_fingerprint": "demo",
                    "clerk_id": clerk_id, "created_at": _at(day),
                })  # fmt: skip
                voucher_rows.append({
                    "code": _code(rng), "redemption_id": redemption_id, "member_id": mid,
                    "used_at": _at(day), "used_by_id": clerk_id,
                })  # fmt: skip
                balances[mid] -= item.price
                entry_rows.append(_entry(mid, REDEEM, -item.price, day, clerk_id,
                                         redemption_id=redemption_id, reason=f"兑换「{item.name}」×1"))  # fmt: skip
    # Core executemany on the tables: the ORM's bulk path would batch 200,000 rows
    # into thousands of statements.
    conn = session.connection()
    if redemption_rows:
        conn.execute(Redemption.__table__.insert(), redemption_rows)
        ids_given(Redemption.__table__)  # numbered here, as their receipts are
        conn.execute(Voucher.__table__.insert(), voucher_rows)
    # In date order, as a real ledger would have grown.
    entry_rows.sort(key=lambda r: (r["occurred_on"], r["member_id"]))
    conn.execute(PointEntry.__table__.insert(), entry_rows)
    conn.execute(
        PointAccount.__table__.insert(),
        [{"member_id": mid, "balance": b, "updated_at": _at(today)} for mid, b in balances.items()],
    )
    return {"point_entries": len(entry_rows), "redemptions": len(redemption_rows)}


def _code(rng: random.Random) -> str:
    raw = "".join(rng.choices("23456789ABCDEFGHJKMNPQRSTUVWXYZ", k=10))
    return f"{raw[:5]}-{raw[5:]}"


def _at(day: date) -> datetime:
    return datetime.combine(day, time(2, 0), tzinfo=UTC)


def _entry(member_id, kind, points, day, by, **extra) -> dict:
    row = {
        "member_id": member_id, "kind": kind, "points": points, "quarter": quarter_of(day),
        "occurred_on": day, "created_by_id": by, "created_at": _at(day), "rule_id": None,
        "redemption_id": None, "source_type": None, "source_id": None, "reverses_id": None,
        "request_id": None,
    }  # fmt: skip
    row.update(extra)
    return row
