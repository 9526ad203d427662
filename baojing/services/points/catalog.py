"""The catalogue and the earning rules, as the county admin keeps them."""

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from baojing import audit
from baojing.extensions import db
from baojing.models.points import GOODS, CatalogItem, ItemSession, PointRule
from baojing.services import RuleViolation

ITEM_FIELDS = (
    "kind",
    "name",
    "description",
    "price",
    "stock",
    "valid_from",
    "valid_until",
    "active",
)
RULE_FIELDS = (
    "name", "is_deduction", "points", "quarterly_cap", "awarder_roles", "auto_source",
    "active", "description",
)  # fmt: skip


def all_items() -> list[CatalogItem]:
    return list(
        db.session.scalars(
            select(CatalogItem)
            .options(selectinload(CatalogItem.sessions))
            .order_by(CatalogItem.kind, CatalogItem.id)
        )
    )


def _save(row, model, fields, data: dict, actions: tuple[str, str]):
    """Create or update one row from form data, with its audit entry (create: all, update: changes)."""
    before = audit.snapshot(row, fields) if row else None
    created = row is None
    row = row or model()
    for name in fields:
        setattr(row, name, data[name])
    db.session.add(row)
    db.session.flush()
    after = audit.snapshot(row, fields)
    if created:
        audit.record(actions[0], row, after=after)
    else:
        changed_before, changed_after = audit.changes(before, after)
        audit.record(actions[1], row, before=changed_before, after=changed_after)
    return row


def save_item(item: CatalogItem | None, data: dict) -> CatalogItem:
    if data["kind"] != GOODS:
        data = {**data, "stock": None}  # services count places per session
    return _save(
        item, CatalogItem, ITEM_FIELDS, data, ("catalog.item_create", "catalog.item_update")
    )


def add_session(item: CatalogItem, data: dict) -> ItemSession:
    if not item.is_service:
        raise RuleViolation({"on_date": "物品按库存兑换，不需要场次"})
    session = ItemSession(item_id=item.id, taken=0, **data)
    db.session.add(session)
    db.session.flush()
    audit.record(
        "catalog.session", session,
        after={"item": item.name, "on_date": session.on_date.isoformat(), "capacity": session.capacity},
    )  # fmt: skip
    return session


def all_rules() -> list[PointRule]:
    return list(
        db.session.scalars(select(PointRule).order_by(PointRule.is_deduction, PointRule.id))
    )


def save_rule(rule: PointRule | None, data: dict) -> PointRule:
    clash = db.session.scalar(
        select(PointRule.id).where(
            PointRule.name == data["name"], PointRule.id != (rule.id if rule else 0)
        )
    )
    if clash:
        raise RuleViolation({"name": "已有同名规则"})
    if data["auto_source"]:
        taken = db.session.scalar(
            select(PointRule.name).where(
                PointRule.auto_source == data["auto_source"],
                PointRule.id != (rule.id if rule else 0),
            )
        )
        if taken:
            raise RuleViolation({"auto_source": f"规则「{taken}」已在自动计分这项记录"})
    return _save(rule, PointRule, RULE_FIELDS, data, ("points.rule_create", "points.rule_update"))
