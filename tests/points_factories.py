"""Points-store fixtures: a rule, goods and a service with a dated session, a funded member."""

from dataclasses import dataclass
from datetime import timedelta

from baojing.dates import local_today, quarter_of
from baojing.extensions import db
from baojing.models.points import (
    EARN,
    GOODS,
    HEALTH_CHECK,
    CatalogItem,
    ItemSession,
    PointRule,
)
from baojing.services.points import ledger


@dataclass
class Store:
    rule: PointRule
    deduction: PointRule
    auto_rule: PointRule
    rice: CatalogItem
    checkup: CatalogItem
    session: ItemSession


def build_store() -> Store:
    rule = PointRule(name="参加组织生活", points=10, quarterly_cap=30,
                     awarder_roles="village_secretary,township_officer")  # fmt: skip
    deduction = PointRule(name="未按时汇报", points=5, quarterly_cap=15, is_deduction=True,
                          awarder_roles="village_secretary,township_officer")  # fmt: skip
    auto_rule = PointRule(name="流动登记", points=10, quarterly_cap=10,
                          awarder_roles="village_secretary", auto_source="registration_visit")  # fmt: skip
    rice = CatalogItem(kind=GOODS, name="大米 10 斤", price=50, stock=3)
    checkup = CatalogItem(kind=HEALTH_CHECK, name="健康查体", price=200, stock=None)
    db.session.add_all([rule, deduction, auto_rule, rice, checkup])
    db.session.flush()
    session = ItemSession(item_id=checkup.id, on_date=local_today() + timedelta(days=7),
                          place="县人民医院", capacity=1)  # fmt: skip
    db.session.add(session)
    db.session.flush()
    return Store(rule, deduction, auto_rule, rice, checkup, session)


def fund(member_id: int, points: int, rule: PointRule | None = None):
    """Give a member points directly through the ledger (as an earlier award would have)."""
    today = local_today()
    return ledger.post(member_id, EARN, points, quarter=quarter_of(today), occurred_on=today,
                       actor_id=None, rule_id=rule.id if rule else None, reason="测试")  # fmt: skip
