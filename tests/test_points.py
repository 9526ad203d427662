"""The points store through HTTP: awards, the counter, redemption, receipts, reversal."""

import re
import uuid

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DatabaseError, IntegrityError

from baojing.extensions import db
from baojing.models import (
    AuditEntry,
    CatalogItem,
    ItemSession,
    Member,
    PointEntry,
    Redemption,
    Voucher,
)
from baojing.services.points import ledger, verify
from tests.conftest import PASSWORD, login_long_ago, sqlite_only
from tests.points_factories import build_store, fund


@pytest.fixture
def store(org):
    s = build_store()
    db.session.commit()
    return s


def rid() -> str:
    return uuid.uuid4().hex


def entries(member_id):
    return db.session.scalars(
        select(PointEntry).where(PointEntry.member_id == member_id).order_by(PointEntry.id)
    ).all()


def redeem(c, member, item, quantity=1, request_id=None, **extra):
    data = {"member_id": member.id, "item_id": item.id, "quantity": quantity,
            "request_id": request_id or rid(), **extra}  # fmt: skip
    return c.post("/store/redeem", data, headers={"HX-Request": "true"})


def test_clerk_finds_member_and_redeems_goods(login, org, store):
    m = org.members["tati"]
    fund(m.id, 120)
    db.session.commit()
    c = login("clerk")
    found = c.post("/store/counter/lookup", {"q": "光明"}).get_data(as_text=True)
    assert "向光明" in found and "120 分" in found
    assert m.phone not in found  # the counter sees a masked phone
    panel = c.get(f"/store/counter?member={m.id}").get_data(as_text=True)
    assert "大米 10 斤" in panel and 'id="balance">120<' in panel
    r = redeem(c, m, store.rice, quantity=2)
    assert r.status_code == 200
    body = r.get_data(as_text=True)
    serial = re.search(r"小票号 <strong>(JF\d{8}-\d{6})</strong>", body).group(1)
    assert 'id="balance">20<' in body
    assert ledger.balance_of(m.id) == 20
    assert db.session.get(CatalogItem, store.rice.id).stock == 1
    receipt = c.get(f"/store/receipts/{serial}").get_data(as_text=True)
    assert "向光明" in receipt and "100" in receipt and serial in receipt
    # The receipt's serial finds the ledger entry.
    red = db.session.scalar(select(Redemption).where(Redemption.serial == serial))
    entry = db.session.scalar(select(PointEntry).where(PointEntry.redemption_id == red.id))
    assert entry.points == -100 and f"账目号</dt><dd>{entry.id}<" in receipt
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "store.redeem"))
    assert verify.problems() == []


def test_same_request_id_redeems_once_and_other_content_is_409(login, org, store):
    m = org.members["tati"]
    fund(m.id, 500)
    db.session.commit()
    c = login("clerk")
    key = rid()
    for _ in range(20):
        assert redeem(c, m, store.rice, request_id=key).status_code == 200
    assert db.session.scalar(select(func.count()).select_from(Redemption)) == 1
    assert len([e for e in entries(m.id) if e.kind == "redeem"]) == 1
    assert ledger.balance_of(m.id) == 450
    assert redeem(c, m, store.rice, quantity=2, request_id=key).status_code == 409
    assert ledger.balance_of(m.id) == 450


@pytest.mark.parametrize("quantity", ["0", "-1", "21", "99999999999999999999", "abc", "", "1.5"])
def test_bad_quantities_are_refused_and_change_nothing(login, org, store, quantity):
    m = org.members["tati"]
    fund(m.id, 500)
    db.session.commit()
    c = login("clerk")
    r = redeem(c, m, store.rice, quantity=quantity)
    assert 400 <= r.status_code < 500
    assert db.session.scalar(select(func.count()).select_from(Redemption)) == 0
    assert ledger.balance_of(m.id) == 500
    assert db.session.get(CatalogItem, store.rice.id).stock == 3


def test_insufficient_points_or_stock_say_so_and_change_nothing(login, org, store):
    m = org.members["tati"]
    fund(m.id, 40)
    db.session.commit()
    c = login("clerk")
    r = redeem(c, m, store.rice)
    assert r.status_code == 422 and "积分不足" in r.get_data(as_text=True)
    fund(m.id, 1000)
    db.session.commit()
    r = redeem(c, m, store.rice, quantity=4)
    assert r.status_code == 422 and "库存不足" in r.get_data(as_text=True)
    assert ledger.balance_of(m.id) == 1040
    assert db.session.get(CatalogItem, store.rice.id).stock == 3


def test_health_check_takes_a_place_and_gives_a_voucher_used_once(login, org, store):
    m, other = org.members["tati"], org.members["angdong"]
    fund(m.id, 300)
    fund(other.id, 300)
    db.session.commit()
    c = login("clerk")
    assert redeem(c, m, store.checkup, session_id=store.session.id).status_code == 200
    assert db.session.get(ItemSession, store.session.id).taken == 1
    full = redeem(c, other, store.checkup, session_id=store.session.id)
    assert full.status_code == 422 and "名额已满" in full.get_data(as_text=True)
    voucher = db.session.scalar(select(Voucher))
    admin = login("admin")
    assert admin.post("/store/vouchers", {"code": voucher.code.lower()}).status_code == 200
    again = admin.post("/store/vouchers", {"code": voucher.code})
    assert again.status_code == 422 and "已经使用" in again.get_data(as_text=True)
    # A used voucher's redemption cannot be reversed.
    serial = db.session.scalar(select(Redemption.serial))
    r = c.post(f"/store/receipts/{serial}/reverse", {"reason": "误操作"})
    assert r.status_code == 422 and ledger.balance_of(m.id) == 100


def test_reversal_restores_points_and_stock_once(login, org, store):
    m = org.members["tati"]
    fund(m.id, 100)
    db.session.commit()
    c = login("clerk")
    redeem(c, m, store.rice)
    serial = db.session.scalar(select(Redemption.serial))
    assert c.post(f"/store/receipts/{serial}/reverse", {"reason": ""}).status_code == 422
    r = c.post(f"/store/receipts/{serial}/reverse", {"reason": "拿错了东西"})
    assert r.status_code == 303
    assert ledger.balance_of(m.id) == 100
    assert db.session.get(CatalogItem, store.rice.id).stock == 3
    again = c.post(f"/store/receipts/{serial}/reverse", {"reason": "再来一次"})
    assert again.status_code == 422 and "已经冲正" in again.get_data(as_text=True)
    kinds = [e.kind for e in entries(m.id)]
    assert kinds == ["earn", "redeem", "reverse"]  # nothing deleted, nothing edited
    assert "已冲正" in c.get(f"/store/receipts/{serial}").get_data(as_text=True)
    assert verify.problems() == []


def test_database_refuses_to_edit_or_delete_ledger_rows(app, org, store):
    entry = fund(org.members["tati"].id, 10)
    db.session.commit()
    for sql in ("UPDATE point_entries SET points = 1000 WHERE id = :id",
                "DELETE FROM point_entries WHERE id = :id"):  # fmt: skip
        with pytest.raises(DatabaseError, match="append-only"):
            db.session.execute(text(sql), {"id": entry.id})
        db.session.rollback()


def test_scopes_at_the_counter(login, org, store):
    tati, xinmin = org.members["tati"], org.members["xinmin"]
    fund(tati.id, 100)
    fund(xinmin.id, 100)
    db.session.commit()
    secretary = login("secretary")
    assert redeem(secretary, xinmin, store.rice).status_code == 404  # another village
    assert "田新民" not in secretary.post("/store/counter/lookup", {"q": "新民"}).get_data(
        as_text=True
    )
    assert secretary.get(f"/store/counter?member={xinmin.id}").status_code == 404
    assert redeem(secretary, tati, store.rice).status_code == 200
    member = login("member")
    assert redeem(member, tati, store.rice).status_code == 403
    assert member.get("/store/counter").status_code == 403
    assert ledger.balance_of(xinmin.id) == 100


def test_clerk_cannot_award_points_and_secretary_awards_own_members(login, org, store):
    tati, xinmin = org.members["tati"], org.members["xinmin"]
    form = {"rule_id": store.rule.id, "occurred_on": "", "reason": "主题党日", "request_id": rid()}
    from baojing.dates import local_today

    form["occurred_on"] = local_today().isoformat()
    clerk = login("clerk")
    assert clerk.post(f"/points/members/{tati.id}", form).status_code == 403
    secretary = login("secretary")
    assert secretary.post(f"/points/members/{xinmin.id}", form).status_code == 404
    assert secretary.post(f"/points/members/{tati.id}", form).status_code == 303
    assert secretary.post(f"/points/members/{tati.id}", form).status_code == 303  # replay
    assert ledger.balance_of(tati.id) == 10
    # The cap: 30 a quarter, so the fourth award is refused with a message.
    for _ in range(2):
        secretary.post(f"/points/members/{tati.id}", form | {"request_id": rid()})
    r = secretary.post(f"/points/members/{tati.id}", form | {"request_id": rid()})
    assert r.status_code == 422 and "上限" in r.get_data(as_text=True)
    assert ledger.balance_of(tati.id) == 30
    page = secretary.get(f"/points/members/{tati.id}").get_data(as_text=True)
    assert "参加组织生活" in page and 'id="balance">30<' in page


def test_registration_visit_earns_points_and_cancelling_reverses_them(login, org, store):
    from baojing.dates import local_today

    tati = org.members["tati"]
    c = login("secretary")
    visit = {
        "visited_on": local_today().isoformat(), "met_with": "本人", "items": ["identity", "phone"],
        "whereabouts": "yes", "note": "", "request_id": rid(),
    }  # fmt: skip
    assert c.post(f"/members/{tati.id}/visit", visit).status_code == 302
    assert ledger.balance_of(tati.id) == 10
    # The cap of 10 a quarter holds for automatic awards too.
    c.post(f"/members/{tati.id}/visit", visit | {"request_id": rid()})
    assert ledger.balance_of(tati.id) == 10
    earned = db.session.scalar(select(PointEntry).where(PointEntry.kind == "earn"))
    assert earned.source_type == "registration_visit"
    r = c.post(f"/members/{tati.id}/visits/{earned.source_id}/cancel", {"reason": "记错了人"})
    assert r.status_code in (302, 303)
    assert ledger.balance_of(tati.id) == 0
    assert [e.kind for e in entries(tati.id)] == ["earn", "reverse"]
    assert verify.problems() == []


def test_batch_award_skips_members_at_cap(login, org, store):
    from baojing.dates import local_today
    from tests import factories

    tati = org.members["tati"]
    second = factories.member(org.villages["tati"], name="石秀英")
    other = org.members["angdong"]
    db.session.commit()
    c = login("secretary")
    form = {"rule_id": store.rule.id, "occurred_on": local_today().isoformat(),
            "reason": "11 月主题党日", "request_id": rid(), "member_ids": [tati.id, second.id]}  # fmt: skip
    for _ in range(3):
        c.post(f"/points/members/{tati.id}", form | {"request_id": rid(), "member_ids": []})
    r = c.post("/points/award", form)
    page = r.get_data(as_text=True)
    assert r.status_code == 200 and "已登记 1 人" in page and "上限" in page
    assert ledger.balance_of(second.id) == 10 and ledger.balance_of(tati.id) == 30
    r = c.post("/points/award", form | {"request_id": rid(), "member_ids": [other.id]})
    assert r.status_code == 404  # a member of another village
    assert ledger.balance_of(other.id) == 0


def test_member_sees_balance_history_and_qr(login, org, store):
    fund(org.members["tati"].id, 260)
    db.session.commit()
    c = login("member")
    page = c.get("/points/mine").get_data(as_text=True)
    assert 'id="balance">260<' in page and "健康查体" in page
    assert "data:image/svg+xml" in page
    assert c.get(f"/points/members/{org.members['tati'].id}").status_code == 403


def test_verify_command_catches_a_tampered_balance(app, org, store):
    fund(org.members["tati"].id, 10)
    db.session.commit()
    runner = app.test_cli_runner()
    assert runner.invoke(args=["points", "verify"]).exit_code == 0
    db.session.execute(text("UPDATE point_accounts SET balance = 11"))
    db.session.commit()
    result = runner.invoke(args=["points", "verify"])
    assert result.exit_code == 1 and "differs" in result.output
    db.session.execute(text("UPDATE point_accounts SET balance = 10"))
    db.session.commit()
    assert runner.invoke(args=["points", "verify"]).exit_code == 0
    # Negative stock is refused by a CHECK constraint in the first place …
    with pytest.raises(IntegrityError):
        db.session.execute(text("UPDATE catalog_items SET stock = -1 WHERE stock IS NOT NULL"))
    db.session.rollback()
    # … and caught by verify on a database where that check was bypassed.
    if db.engine.dialect.name == "postgresql":
        db.session.execute(
            text("ALTER TABLE catalog_items DROP CONSTRAINT ck_catalog_items_stock_not_negative")
        )
    else:
        db.session.execute(text("PRAGMA ignore_check_constraints = ON"))
    db.session.execute(text("UPDATE catalog_items SET stock = -1 WHERE stock IS NOT NULL"))
    db.session.commit()
    if db.engine.dialect.name == "sqlite":
        db.session.execute(text("PRAGMA ignore_check_constraints = OFF"))
    result = runner.invoke(args=["points", "verify"])
    assert result.exit_code == 1 and "negative stock" in result.output


def test_batch_with_nobody_ticked_says_so(login, org, store):
    from baojing.dates import local_today

    c = login("secretary")
    r = c.post("/points/award", {"rule_id": store.rule.id, "occurred_on": local_today().isoformat(),
                                 "reason": "主题党日", "request_id": rid()})  # fmt: skip
    assert r.status_code == 422 and "请至少勾选一名党员" in r.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(PointEntry)) == 0


def test_deduction_takes_at_most_the_balance(login, org, store):
    from baojing.dates import local_today

    tati = org.members["tati"]
    fund(tati.id, 3)
    db.session.commit()
    c = login("secretary")
    form = {"rule_id": store.deduction.id, "occurred_on": local_today().isoformat(),
            "reason": "10 月思想汇报未交", "request_id": rid()}  # fmt: skip
    assert c.post(f"/points/members/{tati.id}", form).status_code == 303
    assert ledger.balance_of(tati.id) == 0
    assert [e.points for e in entries(tati.id)] == [3, -3]
    r = c.post(f"/points/members/{tati.id}", form | {"request_id": rid()})
    assert r.status_code == 422 and "余额为 0" in r.get_data(as_text=True)
    # A future date is refused next to the field.
    future = local_today().toordinal() + 1
    from datetime import date

    r = c.post(f"/points/members/{tati.id}",
               form | {"request_id": rid(), "occurred_on": date.fromordinal(future).isoformat()})  # fmt: skip
    assert r.status_code == 422 and "不能晚于今天" in r.get_data(as_text=True)


def test_every_redemption_has_a_voucher_goods_handed_over_at_once(login, org, store):
    m = org.members["tati"]
    fund(m.id, 100)
    db.session.commit()
    c = login("clerk")
    assert redeem(c, m, store.rice).status_code == 200
    voucher = db.session.scalar(select(Voucher))
    assert voucher.used_at is not None and re.fullmatch(r"[2-9A-Z]{5}-[2-9A-Z]{5}", voucher.code)
    r = login("admin").post("/store/vouchers", {"code": voucher.code})
    assert r.status_code == 422 and "已在柜台领取" in r.get_data(as_text=True)


def test_counter_look_up_works_without_javascript(login, org, store):
    c = login("clerk")
    page = c.post("/store/counter/lookup", {"q": "光明"}).get_data(as_text=True)
    assert "<html" in page and "向光明" in page and "积分超市柜台" in page
    fragment = c.post("/store/counter/lookup", {"q": "光明"}, headers={"HX-Request": "true"})
    assert "<html" not in fragment.get_data(as_text=True)


def test_only_the_rules_awarders_undo_an_award_and_never_an_automatic_one(login, org, store):
    from baojing.dates import local_today
    from baojing.models import PointRule

    tati = org.members["tati"]
    township_only = PointRule(name="乡镇表彰", points=20, awarder_roles="township_officer")
    db.session.add(township_only)
    db.session.commit()
    day = local_today().isoformat()
    login("township").post(f"/points/members/{tati.id}", {
        "rule_id": township_only.id, "occurred_on": day, "reason": "表彰", "request_id": rid()})  # fmt: skip
    entry = db.session.scalar(select(PointEntry).where(PointEntry.rule_id == township_only.id))
    secretary = login("secretary")
    url = f"/points/members/{tati.id}/entries/{entry.id}/reverse"
    assert secretary.post(url, {"reason": "我不同意"}).status_code == 403
    assert ledger.balance_of(tati.id) == 20
    assert "冲正</summary>" not in secretary.get(f"/points/members/{tati.id}").get_data(
        as_text=True
    )
    assert login("township").post(url, {"reason": "重复表彰"}).status_code == 303
    assert ledger.balance_of(tati.id) == 0


def test_award_key_reused_with_other_content_is_409(login, org, store):
    from baojing.dates import local_today

    tati = org.members["tati"]
    c = login("secretary")
    form = {"rule_id": store.rule.id, "occurred_on": local_today().isoformat(),
            "reason": "主题党日", "request_id": rid()}  # fmt: skip
    assert c.post(f"/points/members/{tati.id}", form).status_code == 303
    assert c.post(f"/points/members/{tati.id}", form | {"reason": "别的事"}).status_code == 409
    assert ledger.balance_of(tati.id) == 10


def test_huge_numbers_and_inactive_members_at_the_counter(login, org, store):
    tati = org.members["tati"]
    fund(tati.id, 100)
    tati.status = "transferred"
    db.session.commit()
    c = login("clerk")
    assert redeem(c, tati, store.rice).status_code == 404
    r = c.post("/store/redeem", {"member_id": "9" * 30, "item_id": store.rice.id, "quantity": 1,
                                 "request_id": rid()})  # fmt: skip
    assert r.status_code == 400
    assert ledger.balance_of(tati.id) == 100
    member = login("member")
    assert member.get("/points/mine?page=9223372036854775807").status_code == 200


def test_receipts_vouchers_and_amendments_cannot_be_edited(app, login, org, store):
    m = org.members["tati"]
    fund(m.id, 100)
    db.session.commit()
    redeem(login("clerk"), m, store.rice)
    for sql in ("UPDATE redemptions SET points = 1", "DELETE FROM redemptions",
                "UPDATE vouchers SET used_at = NULL", "DELETE FROM vouchers"):  # fmt: skip
        with pytest.raises(DatabaseError):
            db.session.execute(text(sql))
        db.session.rollback()


def test_audit_log_names_store_actions_in_chinese(login, org, store):
    m = org.members["tati"]
    fund(m.id, 100)
    db.session.commit()
    c = login("clerk")
    redeem(c, m, store.rice)
    serial = db.session.scalar(select(Redemption.serial))
    c.post(f"/store/receipts/{serial}/reverse", {"reason": "拿错了东西"})
    page = login("admin").get("/admin/audit").get_data(as_text=True)
    titles = re.findall(r'<span class="row-title">([^<]+)</span>', page)
    assert "积分兑换" in titles and "冲正兑换" in titles and "store.redeem" not in titles


@sqlite_only
def test_steady_redemptions_keep_the_wal_small(login, org, store, db_path):
    """No read snapshot may stay open across a redemption's commit.

    SQLite cannot checkpoint the WAL back to its start while a reader holds an older
    snapshot; a redemption that kept its request's read transaction open during the
    commit made the WAL grow without bound under steady redemptions (386 MiB in one
    bench/store.py run).
    """
    m = org.members["tati"]
    fund(m.id, 1_000_000)
    store.rice.stock = None
    db.session.commit()
    c = login("clerk")
    form = {"member_id": m.id, "item_id": store.rice.id, "quantity": 1}
    db.session.remove()  # the test's own session holds no snapshot either
    for _ in range(250):
        answer = c.post(
            "/store/redeem", form | {"request_id": rid()}, headers={"HX-Request": "true"}
        )
        assert answer.status_code == 200
    wal = db_path.with_name(db_path.name + "-wal")
    # 250 redemptions write some 4,000 pages: well past SQLite's automatic checkpoint
    # at 1,000 (4 MiB); a WAL that restarts stays near that.
    assert wal.stat().st_size < 6 * 2**20


def test_a_member_moved_while_the_redemption_waited_for_the_lock_is_not_served(
    login, org, store, monkeypatch
):
    """The scope is checked again under the write lock: what committed meanwhile wins."""
    from baojing.services.points import redemption as redemption_svc

    m = org.members["tati"]
    fund(m.id, 120)
    db.session.commit()
    c = login("clerk")
    real_write_now = redemption_svc.write_now

    def write_now_after_a_transfer():
        real_write_now()
        # As if another request had marked the member transferred just before.
        db.session.execute(text("UPDATE members SET status = 'transferred' WHERE id = :id"),
                           {"id": m.id})  # fmt: skip

    monkeypatch.setattr(redemption_svc, "write_now", write_now_after_a_transfer)
    answer = redeem(c, m, store.rice)
    assert answer.status_code == 404
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(Redemption)) == 0
    assert ledger.balance_of(m.id) == 120
    assert db.session.scalar(select(Member.status).where(Member.id == m.id)) == "active"


def test_points_by_hand_ask_for_the_password_after_ten_minutes(login, org, store):
    """Award, deduct, reverse, batch award and a store reversal: a phone left unlocked on
    a table must not be enough to change anyone's points. Reading stays open."""
    from baojing.dates import local_today

    m = org.members["tati"]
    fund(m.id, 100)
    db.session.commit()
    clerk, secretary = login("clerk"), login("secretary")
    redeem(clerk, m, store.rice)
    serial = db.session.scalar(select(Redemption.serial))
    award = {"rule_id": store.rule.id, "occurred_on": local_today().isoformat(),
             "reason": "11 月主题党日", "request_id": rid()}  # fmt: skip
    assert secretary.post(f"/points/members/{m.id}", award).status_code == 303
    earned = entries(m.id)[-1]
    login_long_ago(org.users["secretary"].id)
    login_long_ago(org.users["clerk"].id)
    before = [(e.id, e.kind, e.points) for e in entries(m.id)]
    tries = [
        (secretary, f"/points/members/{m.id}", award | {"request_id": rid()}),
        (secretary, f"/points/members/{m.id}",
         award | {"rule_id": store.deduction.id, "request_id": rid()}),
        (secretary, f"/points/members/{m.id}/entries/{earned.id}/reverse", {"reason": "记错了"}),
        (secretary, "/points/award", award | {"request_id": rid(), "member_ids": [m.id]}),
        (clerk, f"/store/receipts/{serial}/reverse", {"reason": "拿错了东西"}),
    ]  # fmt: skip
    for c, url, form in tries:
        response = c.post(url, form)
        assert response.status_code == 302 and "/reauth" in response.headers["Location"], url
    db.session.expire_all()
    assert [(e.id, e.kind, e.points) for e in entries(m.id)] == before
    assert db.session.get(CatalogItem, store.rice.id).stock == 2
    assert secretary.get(f"/points/members/{m.id}").status_code == 200
    back = f"/points/members/{m.id}"
    assert (
        secretary.post(f"/reauth?next={back}", {"password": PASSWORD}).headers["Location"] == back
    )
    assert secretary.post(back, award | {"request_id": rid()}).status_code == 303
    assert ledger.balance_of(m.id) == 100 - 50 + 20


def test_a_batch_replayed_with_other_members_is_refused(login, org, store):
    """The key of a batch names what it was sent: extra members on a replay get nothing."""
    from baojing.dates import local_today
    from tests import factories

    tati = org.members["tati"]
    second = factories.member(org.villages["tati"], name="石秀英")
    db.session.commit()
    c = login("secretary")
    form = {"rule_id": store.rule.id, "occurred_on": local_today().isoformat(),
            "reason": "11 月主题党日", "request_id": rid(), "member_ids": [tati.id]}  # fmt: skip
    assert c.post("/points/award", form).status_code == 200
    assert c.post("/points/award", form).status_code == 200  # the same form again: no change
    assert ledger.balance_of(tati.id) == 10
    replay = c.post("/points/award", form | {"member_ids": [tati.id, second.id]})
    assert replay.status_code == 409
    assert ledger.balance_of(second.id) == 0 and ledger.balance_of(tati.id) == 10
    assert c.post("/points/award", form | {"reason": "12 月主题党日"}).status_code == 409


@pytest.mark.parametrize(
    ("met_with", "points"), [("本人", 10), ("本人电话或视频确认", 10), ("父母", 0), ("配偶", 0)]
)
def test_registration_points_only_when_the_member_themself_was_met(
    login, org, store, met_with, points
):
    """流动登记 is the member's own check: a talk with the family alone earns nothing."""
    from baojing.dates import local_today

    tati = org.members["tati"]
    visit = {
        "visited_on": local_today().isoformat(), "met_with": met_with, "items": ["phone"],
        "whereabouts": "yes", "note": "", "request_id": rid(),
    }  # fmt: skip
    assert login("secretary").post(f"/members/{tati.id}/visit", visit).status_code == 302
    assert ledger.balance_of(tati.id) == points
    assert db.session.get(Member, tati.id).last_verified_on == local_today()  # still a visit
