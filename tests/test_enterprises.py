"""小个专 enterprises: scope per role, loans in exact fen, difficulties, the county totals."""

import random
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from baojing import money
from baojing.dates import local_today
from baojing.demo import enterprises as demo_enterprises
from baojing.extensions import db
from baojing.models.audit import AuditEntry
from baojing.models.mentors import (
    CreditSupport,
    Difficulty,
    Enterprise,
    EnterpriseMember,
    Invitation,
)
from baojing.services.audit_log import ACTION_LABELS
from baojing.services.mentors import enterprises as svc
from tests import factories

TODAY = local_today


def count(model, *where):
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def key_of(page: str, after: str = "") -> str:
    """The idempotency key a form on the page carries (the first one after `after`)."""
    start = page.index(after) if after else 0
    return re.search(r'name="request_id" type="hidden" value="([^"]+)"', page[start:]).group(1)


def error_of(page: str, field: str) -> str:
    match = re.search(rf'id="{field}-error"[^>]*>([^<]*)<', page)
    assert match, f"no error slot for {field}"
    return match.group(1)


def figure(page: str, name: str) -> str:
    return re.search(rf'data-figure="{name}">([^<]*)<', page).group(1)


def make_enterprise(org, township="迁陵镇", name="保靖黄金茶合作社", by="township", **over):
    data = {"name": name, "kind": "micro", "location": "浙江省宁波市", "trade": "茶叶",
            "party_members": 3, "has_party_org": True} | over  # fmt: skip
    enterprise = svc.register(org.users[by], org.townships[township], data)
    db.session.commit()
    return enterprise


def enterprise_form(**over):
    return {"name": "迁陵镇返乡创业装修公司", "kind": "micro", "township_id": "",
            "location": "浙江省宁波市北仑区", "trade": "建筑装修", "party_members": "4",
            "has_party_org": "y", "request_id": "enterprise-key-01"} | over  # fmt: skip


def credit_form(**over):
    return {"bank": "保靖农商银行", "amount": "50000", "status": "granted",
            "granted_on": TODAY().isoformat(), "request_id": "credit-key-0001"} | over  # fmt: skip


# --- registering ---------------------------------------------------------------------------


def test_township_registers_an_enterprise_once_per_form(org, login):
    c = login("township")
    page = c.get("/mentors/enterprises/new").get_data(as_text=True)
    # A township officer registers for their own township only.
    assert "迁陵镇" in page and "葫芦镇" not in page
    form = enterprise_form(township_id=org.townships["迁陵镇"].id, request_id=key_of(page))
    response = c.post("/mentors/enterprises/new", form)
    assert response.status_code == 303
    enterprise = db.session.scalar(select(Enterprise))
    assert (enterprise.name, enterprise.township_id, enterprise.party_members, enterprise.has_party_org) == (
        "迁陵镇返乡创业装修公司", org.townships["迁陵镇"].id, 4, True,
    )  # fmt: skip
    assert response.headers["Location"].endswith(f"/mentors/enterprises/{enterprise.id}")
    detail = c.get(f"/mentors/enterprises/{enterprise.id}").get_data(as_text=True)
    assert "迁陵镇返乡创业装修公司" in detail and "小微企业" in detail and "已建党组织" in detail
    assert count(AuditEntry, AuditEntry.action == "enterprise.create") == 1

    # Sent twice (a retry on a weak signal): saved once.
    assert c.post("/mentors/enterprises/new", form).status_code == 303
    assert count(Enterprise) == 1
    # The same key with other content is refused, and nothing is written.
    assert c.post("/mentors/enterprises/new", form | {"trade": "餐饮"}).status_code == 409
    assert count(Enterprise) == 1
    assert "迁陵镇返乡创业装修公司" in c.get("/mentors/enterprises").get_data(as_text=True)


def test_county_admin_registers_for_any_township(org, login):
    c = login("admin")
    form = enterprise_form(
        township_id=org.townships["葫芦镇"].id, name="葫芦镇椪柑专业市场", kind="market"
    )
    assert c.post("/mentors/enterprises/new", form).status_code == 303
    assert db.session.scalar(select(Enterprise.township_id)) == org.townships["葫芦镇"].id


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"name": "  "}, "name", "请填写企业名称"),
        ({"name": "企" * 61}, "name", "最多 60 个字"),
        ({"kind": ""}, "kind", "请选择企业类型"),
        ({"kind": "bank"}, "kind", ""),
        ({"party_members": "-1"}, "party_members", "0 到"),
        ({"party_members": "很多"}, "party_members", ""),
        ({"party_members": "2", "has_party_org": "y"}, "has_party_org", "至少需要 3 名党员"),
    ],
)
def test_bad_enterprise_input_is_refused_next_to_the_field(org, login, change, field, message):
    c = login("township")
    form = enterprise_form(township_id=org.townships["迁陵镇"].id) | change
    response = c.post("/mentors/enterprises/new", form)
    assert response.status_code == 422
    error = error_of(response.get_data(as_text=True), field)
    assert error and message in error
    assert count(Enterprise) == 0


def test_a_township_cannot_register_under_another_township(org, login):
    c = login("township")
    response = c.post(
        "/mentors/enterprises/new", enterprise_form(township_id=org.townships["葫芦镇"].id)
    )
    assert response.status_code == 422
    assert error_of(response.get_data(as_text=True), "township_id")
    assert count(Enterprise) == 0


def test_the_same_name_twice_in_a_township_is_refused(org, login):
    make_enterprise(org, name="迁陵镇返乡创业装修公司")
    c = login("township")
    response = c.post(
        "/mentors/enterprises/new", enterprise_form(township_id=org.townships["迁陵镇"].id)
    )
    assert response.status_code == 422
    assert "同名" in error_of(response.get_data(as_text=True), "name")
    assert count(Enterprise) == 1


# --- scope -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "status", "listed"),
    [
        ("admin", 200, True),
        ("township", 200, True),
        ("secretary", 200, True),  # 踏梯村 is in 迁陵镇: reads its township's enterprises
        ("secretary2", 404, False),  # 新民村 is in 葫芦镇
        ("member", 403, None),
        ("clerk", 403, None),
    ],
)
def test_who_sees_a_township_enterprise(org, login, who, status, listed):
    enterprise = make_enterprise(org)
    c = login(who)
    assert c.get(f"/mentors/enterprises/{enterprise.id}").status_code == status
    page = c.get("/mentors/enterprises")
    if listed is None:
        assert page.status_code == 403
    else:
        assert page.status_code == 200
        assert ("保靖黄金茶合作社" in page.get_data(as_text=True)) is listed


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/mentors/enterprises/new"),
        ("POST", "/mentors/enterprises/{e}/credits"),
        ("GET", "/mentors/enterprises/{e}/credits/{c}"),
        ("POST", "/mentors/enterprises/{e}/credits/{c}"),
        ("GET", "/mentors/enterprises/{e}/difficulties/{d}/resolve"),
        ("POST", "/mentors/enterprises/{e}/difficulties/{d}/resolve"),
        ("GET", "/mentors/enterprises/totals"),
    ],
)
def test_a_village_secretary_reads_but_does_not_run_loans_or_close_difficulties(
    org, login, method, path
):
    enterprise = make_enterprise(org)
    credit = svc.add_credit(enterprise, org.users["township"], {"bank": "农商行", "amount_fen": 100,
                            "status": "applied", "granted_on": None})  # fmt: skip
    difficulty = svc.add_difficulty(enterprise, org.users["township"],
                                    {"description": "缺流动资金", "raised_on": TODAY()})  # fmt: skip
    db.session.commit()
    before = count(AuditEntry, AuditEntry.action.startswith("enterprise."))
    c = login("secretary")
    url = path.format(e=enterprise.id, c=credit.id, d=difficulty.id)
    data = credit_form() | {"status": "granted", "helped_by": "镇党委", "resolved_on": TODAY().isoformat(),
                            "resolution": "已贷款"}  # fmt: skip
    response = c.get(url) if method == "GET" else c.post(url, data)
    assert response.status_code == 403
    assert count(AuditEntry, AuditEntry.action.startswith("enterprise.")) == before
    assert count(CreditSupport) == 1
    assert db.session.get(Difficulty, difficulty.id).resolved_on is None


def test_a_village_secretary_notes_a_difficulty_of_their_townships_enterprise(org, login):
    enterprise = make_enterprise(org)
    c = login("secretary")
    page = c.get(f"/mentors/enterprises/{enterprise.id}").get_data(as_text=True)
    assert "登记一笔贷款" not in page and "登记困难诉求" in page
    form = {"description": "厂房租金上涨，希望协调场地", "raised_on": TODAY().isoformat(),
            "request_id": key_of(page, "difficulty-request-id")}  # fmt: skip
    assert c.post(f"/mentors/enterprises/{enterprise.id}/difficulties", form).status_code == 303
    assert c.post(f"/mentors/enterprises/{enterprise.id}/difficulties", form).status_code == 303
    assert count(Difficulty) == 1
    assert "厂房租金上涨" in c.get(f"/mentors/enterprises/{enterprise.id}").get_data(as_text=True)
    # 新民村's secretary cannot reach it at all.
    other = login("secretary2")
    other_form = form | {"request_id": "difficulty-key-99"}
    assert (
        other.post(f"/mentors/enterprises/{enterprise.id}/difficulties", other_form).status_code
        == 404
    )
    assert count(Difficulty) == 1


def test_ids_of_another_enterprise_in_the_url_are_404(org, login):
    mine = make_enterprise(org)
    theirs = make_enterprise(org, township="葫芦镇", name="葫芦镇养殖场", by="admin")
    credit = svc.add_credit(theirs, org.users["admin"], {"bank": "农行", "amount_fen": 500,
                            "status": "applied", "granted_on": None})  # fmt: skip
    difficulty = svc.add_difficulty(theirs, org.users["admin"],
                                    {"description": "饲料涨价", "raised_on": TODAY()})  # fmt: skip
    db.session.commit()
    c = login("township")
    assert c.get(f"/mentors/enterprises/{theirs.id}").status_code == 404
    assert c.post(f"/mentors/enterprises/{theirs.id}/credits", credit_form()).status_code == 404
    # Their loan or difficulty under my enterprise's URL: not found either.
    assert c.get(f"/mentors/enterprises/{mine.id}/credits/{credit.id}").status_code == 404
    resolve = {"helped_by": "镇党委", "resolved_on": TODAY().isoformat(), "resolution": "已解决"}
    assert (
        c.post(
            f"/mentors/enterprises/{mine.id}/difficulties/{difficulty.id}/resolve", resolve
        ).status_code
        == 404
    )
    assert db.session.get(Difficulty, difficulty.id).resolved_on is None
    assert count(CreditSupport) == 1


# --- members -------------------------------------------------------------------------------


def test_members_are_linked_in_the_users_scope_only(org, login):
    enterprise = make_enterprise(org)
    c = login("township")
    page = c.post(f"/mentors/enterprises/{enterprise.id}/members", {"q": "彭昂洞"}).get_data(
        as_text=True
    )
    assert "彭昂洞" in page
    # A name in the query string is not searched: it would be in the access log.
    linked = c.get(f"/mentors/enterprises/{enterprise.id}/members?q=彭昂洞").get_data(as_text=True)
    assert 'class="row-title">彭昂洞' not in linked
    angdong = org.members["angdong"]
    link = {"member_id": angdong.id, "role": "owner", "request_id": key_of(page)}
    assert c.post(f"/mentors/enterprises/{enterprise.id}/members/link", link).status_code == 303
    assert c.post(f"/mentors/enterprises/{enterprise.id}/members/link", link).status_code == 303
    assert count(EnterpriseMember) == 1
    assert (
        c.post(
            f"/mentors/enterprises/{enterprise.id}/members/link", link | {"role": "employee"}
        ).status_code
        == 409
    )
    detail = c.get(f"/mentors/enterprises/{enterprise.id}").get_data(as_text=True)
    assert "彭昂洞" in detail and "负责人" in detail

    # 田新民 of 葫芦镇 is outside the township's scope: not found, nothing linked.
    xinmin = {
        "member_id": org.members["xinmin"].id,
        "role": "employee",
        "request_id": "link-key-0002",
    }
    assert c.post(f"/mentors/enterprises/{enterprise.id}/members/link", xinmin).status_code == 404
    found = c.post(f"/mentors/enterprises/{enterprise.id}/members", {"q": "田新民"}).get_data(
        as_text=True
    )
    assert "没有找到" in found and 'class="row-title">田新民' not in found
    assert count(EnterpriseMember) == 1

    # 踏梯村's secretary links their own member, and sees 彭昂洞 of 昂洞村 only as a number.
    s = login("secretary")
    tati = {"member_id": org.members["tati"].id, "role": "employee", "request_id": "link-key-0003"}
    assert s.post(f"/mentors/enterprises/{enterprise.id}/members/link", tati).status_code == 303
    assert (
        s.post(
            f"/mentors/enterprises/{enterprise.id}/members/link",
            link | {"request_id": "link-key-0004"},
        ).status_code
        == 404
    )
    detail = s.get(f"/mentors/enterprises/{enterprise.id}").get_data(as_text=True)
    assert "向光明" in detail and "彭昂洞" not in detail and "另有 1 名其他村的党员" in detail


def test_linking_without_a_role_is_refused(org, login):
    enterprise = make_enterprise(org)
    c = login("township")
    data = {"member_id": org.members["tati"].id, "role": "boss", "request_id": "link-key-0009"}
    response = c.post(f"/mentors/enterprises/{enterprise.id}/members/link", data)
    assert response.status_code == 422
    assert 'role="alert"' in response.get_data(as_text=True)
    assert count(EnterpriseMember) == 0


# --- credit ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("-5000", "不能为负数"),
        ("-0.01", "不能为负数"),
        ("五万", "请填写数字金额"),
        ("50000abc", "请填写数字金额"),
        ("1e5", "请填写数字金额"),
        ("NaN", "请填写数字金额"),
        ("0", "必须大于 0"),
        ("0.00", "必须大于 0"),
        ("1000000000.01", "超过 10 亿元"),
        ("99999999999999999999999", "超过 10 亿元"),
        ("12.345", "两位小数"),
        ("", "请填写金额"),
    ],
)
def test_invalid_amounts_are_refused_next_to_the_field(org, login, amount, message):
    enterprise = make_enterprise(org)
    c = login("township")
    response = c.post(f"/mentors/enterprises/{enterprise.id}/credits", credit_form(amount=amount))
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert message in error_of(page, "amount")
    assert 'aria-invalid="true"' in page
    assert count(CreditSupport) == 0
    assert count(AuditEntry, AuditEntry.action == "enterprise.credit") == 0


@pytest.mark.parametrize(
    ("amount", "fen"),
    [("50000", 5_000_000), ("12.5", 1250), ("1,200.05", 120_005), ("0.01", 1),
     (" 8000 元", 800_000), ("1000000000", 100_000_000_000)],
)  # fmt: skip
def test_amounts_in_yuan_are_kept_in_fen(org, login, amount, fen):
    enterprise = make_enterprise(org)
    c = login("township")
    assert (
        c.post(
            f"/mentors/enterprises/{enterprise.id}/credits", credit_form(amount=amount)
        ).status_code
        == 303
    )
    assert db.session.scalar(select(CreditSupport.amount_fen)) == fen


def test_a_granted_loan_needs_its_date_and_an_application_has_none(org, login):
    enterprise = make_enterprise(org)
    c = login("township")
    response = c.post(f"/mentors/enterprises/{enterprise.id}/credits", credit_form(granted_on=""))
    assert response.status_code == 422
    assert "放款日期" in error_of(response.get_data(as_text=True), "granted_on")
    future = (TODAY() + timedelta(days=3)).isoformat()
    response = c.post(
        f"/mentors/enterprises/{enterprise.id}/credits", credit_form(granted_on=future)
    )
    assert "不能晚于今天" in error_of(response.get_data(as_text=True), "granted_on")
    response = c.post(
        f"/mentors/enterprises/{enterprise.id}/credits", credit_form(status="applied")
    )
    assert "留空" in error_of(response.get_data(as_text=True), "granted_on")
    assert count(CreditSupport) == 0


def test_a_loan_is_saved_once_and_moves_applied_granted_repaid(org, login):
    enterprise = make_enterprise(org)
    c = login("township")
    page = c.get(f"/mentors/enterprises/{enterprise.id}").get_data(as_text=True)
    form = credit_form(
        status="applied",
        granted_on="",
        amount="300000",
        request_id=key_of(page, "credit-request-id"),
    )
    url = f"/mentors/enterprises/{enterprise.id}/credits"
    assert c.post(url, form).status_code == 303
    assert c.post(url, form).status_code == 303
    assert c.post(url, form | {"amount": "300001"}).status_code == 409
    credit = db.session.scalar(select(CreditSupport))
    assert count(CreditSupport) == 1 and credit.status == "applied"

    status_url = f"/mentors/enterprises/{enterprise.id}/credits/{credit.id}"
    # Straight to 已还清 is refused: it was never paid out.
    response = c.post(status_url, {"status": "repaid"})
    assert response.status_code == 422
    assert "不能改成" in error_of(response.get_data(as_text=True), "status")
    response = c.post(status_url, {"status": "granted", "granted_on": ""})
    assert response.status_code == 422
    assert db.session.get(CreditSupport, credit.id).status == "applied"
    day = (TODAY() - timedelta(days=2)).isoformat()
    assert c.post(status_url, {"status": "granted", "granted_on": day}).status_code == 303
    assert c.post(status_url, {"status": "granted", "granted_on": day}).status_code == 303  # resent
    assert c.post(status_url, {"status": "repaid"}).status_code == 303
    credit = db.session.get(CreditSupport, credit.id)
    assert (credit.status, credit.granted_on.isoformat()) == ("repaid", day)
    assert count(AuditEntry, AuditEntry.action == "enterprise.credit_status") == 2
    assert "已还清" in c.get(f"/mentors/enterprises/{enterprise.id}").get_data(as_text=True)


# --- exact money ---------------------------------------------------------------------------


def test_parse_and_format_are_exact():
    parse = lambda text: money.parse_yuan(text, max_yuan=svc.MAX_YUAN)  # noqa: E731
    assert parse("0.1") + parse("0.2") == parse("0.3") == 30
    assert money.yuan(30) == "0.30"
    assert money.yuan(12_000_000_000) == "120,000,000.00"
    assert money.wan(12_000_000_000) == "12,000"  # 1.2 亿元
    assert money.wan(30) == "0.00003"
    assert money.wan(1_250_000) == "1.25"
    assert money.wan(0) == "0"


def test_ten_cents_and_twenty_cents_make_exactly_thirty(org, login):
    enterprise = make_enterprise(org)
    c = login("township")
    url = f"/mentors/enterprises/{enterprise.id}/credits"
    assert c.post(url, credit_form(amount="0.1", request_id="credit-key-0101")).status_code == 303
    assert c.post(url, credit_form(amount="0.2", request_id="credit-key-0102")).status_code == 303
    assert "已放款合计 <strong>0.30</strong> 元" in c.get(
        f"/mentors/enterprises/{enterprise.id}"
    ).get_data(as_text=True)
    totals = c.get("/mentors/enterprises/totals").get_data(as_text=True)
    assert figure(totals, "lent-yuan") == "0.30"
    assert figure(totals, "lent-wan") == "0.00003"


def test_totals_add_loans_exactly_and_count_difficulties(org, login):
    qianling = make_enterprise(org)
    other = make_enterprise(
        org, name="迁陵镇腊肉作坊", kind="individual", party_members=1, has_party_org=False
    )
    hulu = make_enterprise(org, township="葫芦镇", name="葫芦镇椪柑市场", by="admin", kind="market")
    c = login("township")
    loans = [(qianling, "99999999.99", "granted"), (qianling, "0.01", "repaid"),
             (other, "12.5", "granted"), (other, "7000000", "applied"), (hulu, "20000000", "granted")]  # fmt: skip
    admin = login("admin")
    for n, (enterprise, amount, status) in enumerate(loans):
        who = admin if enterprise is hulu else c
        form = credit_form(amount=amount, status=status, request_id=f"credit-key-{n:04d}",
                           granted_on="" if status == "applied" else TODAY().isoformat())  # fmt: skip
        assert who.post(f"/mentors/enterprises/{enterprise.id}/credits", form).status_code == 303
    for n, enterprise in enumerate([qianling, qianling, other, hulu]):
        svc.add_difficulty(
            enterprise, org.users["admin"], {"description": f"困难{n}", "raised_on": TODAY()}
        )
    db.session.commit()
    first = db.session.scalars(select(Difficulty).order_by(Difficulty.id)).first()
    resolve = {
        "helped_by": "县人社局",
        "resolved_on": TODAY().isoformat(),
        "resolution": "协调了场地",
    }
    assert (
        c.post(
            f"/mentors/enterprises/{qianling.id}/difficulties/{first.id}/resolve", resolve
        ).status_code
        == 303
    )

    # 迁陵镇: 99,999,999.99 + 0.01 + 12.50 granted or repaid; the 7,000,000 applied is not lent yet.
    page = c.get("/mentors/enterprises/totals").get_data(as_text=True)
    assert figure(page, "enterprises") == "2"
    assert figure(page, "lent-yuan") == "100,000,012.50"
    assert figure(page, "lent-wan") == "10,000.00125"
    assert (figure(page, "raised"), figure(page, "resolved")) == ("3", "1")
    assert "葫芦镇" not in page

    # The county: 葫芦镇's 20,000,000 on top, to the fen.
    page = admin.get("/mentors/enterprises/totals").get_data(as_text=True)
    assert figure(page, "enterprises") == "3"
    assert figure(page, "lent-yuan") == "120,000,012.50"
    assert figure(page, "lent-wan") == "12,000.00125"
    assert (figure(page, "raised"), figure(page, "resolved")) == ("4", "1")
    assert "迁陵镇" in page and "葫芦镇" in page
    stored = db.session.scalar(
        select(func.sum(CreditSupport.amount_fen)).where(
            CreditSupport.status.in_(("granted", "repaid"))
        )
    )
    assert stored == 12_000_001_250


@pytest.mark.parametrize(("who", "status"), [("secretary", 403), ("member", 403), ("clerk", 403)])
def test_only_county_and_townships_see_totals(org, login, who, status):
    assert login(who).get("/mentors/enterprises/totals").status_code == status


# --- difficulties ----------------------------------------------------------------------------


def test_a_difficulty_is_resolved_with_who_helped(org, login):
    enterprise = make_enterprise(org)
    raised = TODAY() - timedelta(days=10)
    difficulty = svc.add_difficulty(enterprise, org.users["township"],
                                    {"description": "缺少冷库，茶叶存放难", "raised_on": raised})  # fmt: skip
    db.session.commit()
    c = login("township")
    url = f"/mentors/enterprises/{enterprise.id}/difficulties/{difficulty.id}/resolve"
    assert "缺少冷库" in c.get(url).get_data(as_text=True)
    early = {
        "helped_by": "县供销社",
        "resolved_on": (raised - timedelta(days=1)).isoformat(),
        "resolution": "借用冷库",
    }
    response = c.post(url, early)
    assert response.status_code == 422
    assert "不能早于" in error_of(response.get_data(as_text=True), "resolved_on")
    response = c.post(url, early | {"helped_by": "", "resolved_on": TODAY().isoformat()})
    assert response.status_code == 422
    assert "请填写谁帮助协调的" in error_of(response.get_data(as_text=True), "helped_by")
    assert db.session.get(Difficulty, difficulty.id).resolved_on is None

    done = early | {"resolved_on": TODAY().isoformat()}
    assert c.post(url, done).status_code == 303
    assert c.post(url, done).status_code == 303  # the same form resent: no error, no second row
    response = c.post(url, done | {"resolution": "另一种说法"})
    assert response.status_code == 422
    difficulty = db.session.get(Difficulty, difficulty.id)
    assert (difficulty.helped_by, difficulty.resolved_on, difficulty.resolution) == (
        "县供销社",
        TODAY(),
        "借用冷库",
    )
    assert count(AuditEntry, AuditEntry.action == "enterprise.resolve") == 1
    page = c.get(f"/mentors/enterprises/{enterprise.id}").get_data(as_text=True)
    assert "已解决" in page and "县供销社" in page


def test_bad_difficulty_input_is_refused(org, login):
    enterprise = make_enterprise(org)
    c = login("township")
    url = f"/mentors/enterprises/{enterprise.id}/difficulties"
    future = (TODAY() + timedelta(days=1)).isoformat()
    response = c.post(
        url, {"description": "缺资金", "raised_on": future, "request_id": "difficulty-k-01"}
    )
    assert response.status_code == 422
    assert "不能晚于今天" in error_of(response.get_data(as_text=True), "raised_on")
    response = c.post(
        url, {"description": "", "raised_on": TODAY().isoformat(), "request_id": "difficulty-k-02"}
    )
    assert "请填写企业遇到的困难" in error_of(response.get_data(as_text=True), "description")
    assert count(Difficulty) == 0


def test_every_action_has_a_label_in_the_audit_log():
    for action in ("enterprise.create", "enterprise.member", "enterprise.credit",
                   "enterprise.credit_status", "enterprise.difficulty", "enterprise.resolve"):  # fmt: skip
        assert action in ACTION_LABELS


def test_a_second_township_officer_sees_only_their_own(org, login, new_client):
    make_enterprise(org)
    mine = make_enterprise(org, township="葫芦镇", name="葫芦镇椪柑市场", by="admin")
    factories.user("hulu", "township_officer", org.townships["葫芦镇"])
    db.session.commit()
    c = new_client()
    assert c.login("hulu").status_code == 302
    page = c.get("/mentors/enterprises").get_data(as_text=True)
    assert "葫芦镇椪柑市场" in page and "保靖黄金茶合作社" not in page
    assert c.get(f"/mentors/enterprises/{mine.id}").status_code == 200


def test_demo_data_adds_up_to_the_reports_figures(org):
    counts = demo_enterprises.load(db.session, random.Random(1), TODAY(), org.users)
    db.session.commit()
    totals = svc.totals(org.users["admin"]).total
    assert (money.wan(totals.lent_fen), totals.resolved) == ("12,000", 129)  # 1.2 亿元, 129 件
    assert totals.enterprises == counts["enterprises"] > 0
    # The demo member has an unanswered invitation to the Spring Festival meeting.
    member_id = org.users["member"].member_id
    assert (
        db.session.scalar(select(Invitation.status).where(Invitation.member_id == member_id))
        == "invited"
    )
