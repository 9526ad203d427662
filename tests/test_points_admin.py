"""The county keeps the earning rules, the catalogue and the expiry policy."""

from datetime import timedelta

from sqlalchemy import select

from baojing.dates import local_today
from baojing.extensions import db
from baojing.models import AuditEntry, CatalogItem, ItemSession, PointRule
from baojing.services.points import expiry


def test_admin_defines_a_rule_with_cap_and_awarders(login, org):
    c = login("admin")
    assert c.get("/points/rules/new").status_code == 200
    form = {"name": "红星云学习", "points": "5", "quarterly_cap": "30",
            "awarder_roles": ["village_secretary", "township_officer"], "auto_source": "",
            "description": "", "active": "y"}  # fmt: skip
    assert c.post("/points/rules/new", form).status_code == 303
    rule = db.session.scalar(select(PointRule))
    assert (rule.points, rule.quarterly_cap, rule.roles) == (
        5,
        30,
        ["village_secretary", "township_officer"],
    )
    assert not rule.is_deduction and rule.auto_source is None
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "points.rule_create"))
    # Same name again, zero or huge points: refused next to the field, nothing saved.
    for bad in ({"name": "红星云学习"}, {"name": "x", "points": "0"},
                {"name": "y", "points": "99999999999999999999"}, {"name": ""}):  # fmt: skip
        r = c.post("/points/rules/new", form | bad)
        assert r.status_code == 422, bad
    assert len(db.session.scalars(select(PointRule)).all()) == 1
    r = c.post(f"/points/rules/{rule.id}", form | {"points": "8", "role": "county_admin"})
    assert r.status_code == 303 and db.session.get(PointRule, rule.id).points == 8


def test_only_the_county_keeps_rules_and_catalogue(login, org):
    for key in ("township", "secretary", "clerk", "member"):
        c = login(key)
        assert c.get("/points/rules").status_code == 403, key
        assert c.get("/store/catalog").status_code == 403, key
        assert c.post("/store/catalog/new", {"name": "x"}).status_code == 403, key


def test_admin_adds_items_and_sessions(login, org):
    c = login("admin")
    today = local_today()
    goods = {"kind": "goods", "name": "大米 10 斤", "description": "", "price": "50",
             "stock": "100", "valid_from": "", "valid_until": "", "active": "y"}  # fmt: skip
    assert c.post("/store/catalog/new", goods).status_code == 303
    check = goods | {"kind": "health_check", "name": "健康查体", "price": "200", "stock": "5"}
    assert c.post("/store/catalog/new", check).status_code == 303
    item = db.session.scalar(select(CatalogItem).where(CatalogItem.kind == "health_check"))
    assert item.stock is None  # services count places per session, not stock
    session = {
        "on_date": (today + timedelta(days=14)).isoformat(),
        "place": "县人民医院",
        "capacity": "20",
    }
    assert c.post(f"/store/catalog/{item.id}/sessions", session).status_code == 303
    assert db.session.scalar(select(ItemSession)).capacity == 20
    bad = c.post(f"/store/catalog/{item.id}/sessions", session | {"capacity": "-3"})
    assert bad.status_code == 422
    backwards = goods | {"name": "油", "valid_from": today.isoformat(),
                         "valid_until": (today - timedelta(days=1)).isoformat()}  # fmt: skip
    r = c.post("/store/catalog/new", backwards)
    assert r.status_code == 422 and "截止日期不能早于起始日期" in r.get_data(as_text=True)
    assert c.post("/store/catalog/new", goods | {"price": "-5", "name": "z"}).status_code == 422
    assert len(db.session.scalars(select(CatalogItem)).all()) == 2
    page = c.get("/store/catalog").get_data(as_text=True)
    assert "大米 10 斤" in page and "1 场，余 20 个名额" in page


def test_admin_sets_the_expiry_policy(login, org):
    c = login("admin")
    assert c.post("/points/expiry", {"years": "11"}).status_code == 422
    assert c.post("/points/expiry", {"years": "2"}).status_code == 303
    assert expiry.policy_years() == 2
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "points.expiry_policy"))
