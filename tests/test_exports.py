""".xlsx exports: scope, masking, formula neutralisation, audit, filters, constant memory."""

import io
import json
import re
import tempfile
import tracemalloc
import zipfile
from datetime import date, timedelta
from urllib.parse import urlencode

import pytest
from python_calamine import CalamineWorkbook
from sqlalchemy import insert, select

from baojing.dates import local_today
from baojing.extensions import db
from baojing.models.audit import AuditEntry
from baojing.models.certificates import Certificate
from baojing.models.members import Member
from baojing.models.org import MOBILE_ORG, OrgUnit
from baojing.services import exports
from baojing.services import members as member_svc
from baojing.services.care import cases
from baojing.services.points import awards
from tests import factories
from tests.points_factories import build_store, fund
from tests.test_rankings import LAST_QUARTER, earn, publish

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def download(client, url, data=None):
    """GET (or POST data to) an export; the response read whole and closed, and its sheet."""
    response = client.get(url) if data is None else client.post(url, data)
    body = response.get_data()
    response.close()  # send_file keeps the file open until the body is consumed
    if response.status_code != 200:
        return response, None
    assert response.mimetype == XLSX
    return response, read_sheet(body)


def read_sheet(body: bytes) -> list[list]:
    return CalamineWorkbook.from_filelike(io.BytesIO(body)).get_sheet_by_index(0).to_python()


def column(sheet, heading) -> list:
    """The values of one column below its heading."""
    i = sheet[0].index(heading)
    return [row[i] for row in sheet[1:]]


def export_audits(action=None) -> list[dict]:
    stmt = select(AuditEntry).where(AuditEntry.action.startswith("export."))
    if action:
        stmt = stmt.where(AuditEntry.action == action)
    return [
        {"action": e.action, "user": e.username, "entity": (e.entity_type, e.entity_id),
         **json.loads(e.after)}
        for e in db.session.scalars(stmt.order_by(AuditEntry.id))
    ]  # fmt: skip


def page_names(client, data: dict) -> list[str]:
    """The names the member list shows for these filters (searched by POST, as the page does)."""
    html = client.post("/members/", data, headers={"HX-Request": "true"}).get_data(as_text=True)
    return re.findall(r'<span class="row-title">([^<]+)</span>', html)


# --- the member list -------------------------------------------------------------------


def test_secretary_exports_their_village_masked_with_real_dates(login, org):
    factories.member(
        org.villages["tati"], name="石秀英", employer="宁波建工", out_since=date(2019, 3, 1)
    )
    db.session.commit()
    response, sheet = download(login("secretary"), "/members/export.xlsx")
    assert response.status_code == 200
    today = f"{local_today():%Y%m%d}"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith(f'attachment; filename="members-{today}.xlsx"; ')
    assert "filename*=UTF-8''%E6%B5%81%E5%8A%A8%E5%85%9A%E5%91%98-" in disposition  # 流动党员-
    assert response.headers["Cache-Control"] == "no-store"
    assert sheet[0][:6] == ["姓名", "性别", "民族", "出生日期", "身份证号", "手机号"]
    assert set(column(sheet, "姓名")) == {"向光明", "石秀英"}  # not 彭昂洞, 田新民
    tati = org.members["tati"]
    row = sheet[1 + column(sheet, "姓名").index("向光明")]
    assert row[sheet[0].index("身份证号")] == tati.id_number[:6] + "********" + tati.id_number[-4:]
    assert row[sheet[0].index("手机号")] == tati.phone[:3] + "****" + tati.phone[-4:]
    assert row[sheet[0].index("出生日期")] == date(1985, 6, 18)  # a date, not text
    assert row[sheet[0].index("村党支部")] == "踏梯村"
    assert row[sheet[0].index("联络人")] == "踏梯村联络员"
    other = sheet[1 + column(sheet, "姓名").index("石秀英")]
    assert other[sheet[0].index("外出时间")] == date(2019, 3, 1)
    assert other[sheet[0].index("工作单位")] == "宁波建工"


def test_the_file_has_a_frozen_header_widths_and_no_formula(login, org):
    response = login("secretary").get("/members/export.xlsx")
    body = response.get_data()
    response.close()
    with zipfile.ZipFile(io.BytesIO(body)) as z:
        xml = z.read("xl/worksheets/sheet1.xml").decode()
    assert re.search(
        r'<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>', xml
    )
    assert '<col min="5" max="5" width="21.7109375"' in xml  # 身份证号: wide enough for 18 digits
    assert "<f>" not in xml


@pytest.mark.parametrize(
    "who,expected",
    [("township", {"向光明", "彭昂洞"}), ("admin", {"向光明", "彭昂洞", "田新民"}),
     ("secretary2", {"田新民"})],
)  # fmt: skip
def test_the_export_has_the_user_scope(login, org, who, expected):
    _, sheet = download(login(who), "/members/export.xlsx")
    assert set(column(sheet, "姓名")) == expected


@pytest.mark.parametrize("who", ["clerk", "member"])
def test_roles_without_the_list_cannot_export_it(login, org, who):
    c = login(who)
    assert download(c, "/members/export.xlsx?full_id=1")[0].status_code == 403
    assert download(c, "/members/export.xlsx", {"q": "向", "full_id": "1"})[0].status_code == 403
    assert export_audits() == []


def test_filters_are_the_page_filters(login, org):
    tati = org.villages["tati"]
    factories.member(tati, name="向秀英", dest_province="广东省", dest_city="东莞市")
    factories.member(tati, name="龙向东", last_verified_on=local_today() - timedelta(days=900))
    factories.member(org.villages["angdong"], name="向家福", dest_province="广东省")
    db.session.commit()
    township = login("township")
    angdong = org.villages["angdong"].id
    for filters in (
        {"q": "向"}, {"q": "向", "province": "广东省"}, {"alert": "reverify"},
        {"alert": "noliaison"}, {"village": angdong}, {"q": "向", "village": angdong},
        {"q": org.members["tati"].id_number[-4:]}, {"q": org.members["tati"].phone[:6]},
    ):  # fmt: skip
        shown = page_names(township, filters)
        assert shown, filters
        # POSTed, as the results' own export form sends them ...
        _, sheet = download(township, "/members/export.xlsx", filters)
        assert column(sheet, "姓名") == shown, filters
        # ... and as GET query parameters (DESIGN.md: the same parameters as /members/).
        _, sheet = download(township, "/members/export.xlsx?" + urlencode(filters))
        assert column(sheet, "姓名") == shown, filters


def test_the_alert_column_names_the_alerts(login, org):
    factories.member(org.villages["tati"], name="龙向东", last_contact_on=None)
    db.session.commit()
    _, sheet = download(login("secretary"), "/members/export.xlsx")
    alerts = dict(zip(column(sheet, "姓名"), column(sheet, "提醒"), strict=True))
    assert alerts == {"向光明": "", "龙向东": "失联风险、未定联络人"}


def test_full_ids_only_when_allowed_and_asked(login, org):
    tati = org.members["tati"]
    tati.family_contact_phone = "13812345678"
    db.session.commit()
    secretary = login("secretary")
    _, sheet = download(secretary, "/members/export.xlsx?full_id=1")
    assert column(sheet, "身份证号") == [tati.id_number]
    assert column(sheet, "手机号") == [tati.phone]
    assert column(sheet, "家庭联系人电话") == ["13812345678"]
    _, sheet = download(secretary, "/members/export.xlsx", {"full_id": "1", "q": "向"})
    assert column(sheet, "身份证号") == [tati.id_number]
    # Not asked: masked.
    _, sheet = download(secretary, "/members/export.xlsx")
    assert column(sheet, "家庭联系人电话") == ["138****5678"]
    assert "*" in column(sheet, "身份证号")[0]
    # A secretary asking for another village gets nothing of it, full or not.
    xinmin = org.villages["xinmin"].id
    _, sheet = download(secretary, f"/members/export.xlsx?full_id=1&village={xinmin}")
    assert sheet[1:] == []
    assert org.members["xinmin"].id_number not in repr(sheet)
    audits = export_audits("export.members")
    assert [a["full_id"] for a in audits] == [True, True, False, True]


def test_an_org_leader_exports_their_members_masked_even_when_asking(new_client, org):
    township = org.townships["迁陵镇"]
    unit = OrgUnit(kind=MOBILE_ORG, name="宁波流动党支部", parent_id=township.id,
                   township_id=township.id, location="浙江省宁波市")  # fmt: skip
    db.session.add(unit)
    db.session.flush()
    org.members["tati"].mobile_org_id = unit.id
    factories.user("leader", "org_leader", unit)
    db.session.commit()
    c = new_client()
    assert c.login("leader").status_code == 302
    html = c.get("/members/").get_data(as_text=True)
    assert 'class="export' in html and "含完整身份证号" not in html
    _, sheet = download(c, "/members/export.xlsx?full_id=1")
    assert column(sheet, "姓名") == ["向光明"]
    assert "*" in column(sheet, "身份证号")[0] and "*" in column(sheet, "手机号")[0]
    assert export_audits()[-1]["full_id"] is False


def test_formula_like_text_comes_out_as_text(login, org):
    nasty = {
        "name": '=HYPERLINK("http://x.cn","点")',
        "employer": "+86 宁波建工",
        "dest_address": "@SUM(A1:A9)",
        "trade": "-2+3",
        "family_contact_name": "\t=1+1",
        "family_contact_relation": "\r=1",
    }
    factories.member(org.villages["tati"], **nasty)
    db.session.commit()
    response = login("secretary").get("/members/export.xlsx")
    body = response.get_data()
    response.close()
    sheet = read_sheet(body)
    row = sheet[1 + column(sheet, "姓名").index("'" + nasty["name"])]
    headings = {"employer": "工作单位", "dest_address": "务工地址", "trade": "行业",
                "family_contact_name": "家庭联系人", "family_contact_relation": "与本人关系"}  # fmt: skip
    for field, heading in headings.items():
        assert row[sheet[0].index(heading)] == "'" + nasty[field], field
    with zipfile.ZipFile(io.BytesIO(body)) as z:
        assert "<f>" not in z.read("xl/worksheets/sheet1.xml").decode()


def test_neutralise_leaves_ordinary_text_alone():
    assert exports.neutralise("向光明") == "向光明"
    assert exports.neutralise("宁波 = 好") == "宁波 = 好"
    assert exports.neutralise("") == ""
    for start in "=+-@\t\r":
        assert exports.neutralise(start + "x") == "'" + start + "x"


def test_the_audit_row_says_what_without_the_search_text(login, org):
    c = login("township")
    download(c, "/members/export.xlsx", {"q": "向光明", "alert": "reverify"})
    download(c, f"/members/export.xlsx?q=%E5%90%91&village={org.villages['tati'].id}")
    rows = export_audits()
    assert rows == [
        {"action": "export.members", "user": "township", "entity": ("members", None),
         "rows": 0, "full_id": False, "filters": ["alert", "q"]},
        {"action": "export.members", "user": "township", "entity": ("members", None),
         "rows": 1, "full_id": False, "filters": ["q", "village_id"]},
    ]  # fmt: skip
    logged = " ".join(
        f"{e.before} {e.after} {e.entity_type}" for e in db.session.scalars(select(AuditEntry))
    )
    assert "向光明" not in logged and "向" not in logged


def test_the_results_carry_a_post_form_with_the_filters(login, org):
    c = login("township")
    html = c.post(
        "/members/", {"q": "向光明", "province": "浙江省"}, headers={"HX-Request": "true"}
    )
    html = html.get_data(as_text=True)
    form = re.search(r'<form class="export checks" method="post" action="/members/export.xlsx".*?</form>',
                     html, re.S).group(0)  # fmt: skip
    assert 'hx-boost="false"' in form and 'name="csrf_token"' in form
    assert '<input type="hidden" name="q" value="向光明">' in form
    assert '<input type="hidden" name="province" value="浙江省">' in form
    assert 'name="full_id"' in form  # a township officer may ask for full numbers
    # A POST without the CSRF token exports nothing.
    assert c.post("/members/export.xlsx", {"q": "向"}, csrf=False).status_code == 400
    assert export_audits() == []


def test_the_temporary_file_is_gone_after_the_download(login, org, tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "t"))
    (tmp_path / "t").mkdir()
    response = login("secretary").get("/members/export.xlsx")
    assert list((tmp_path / "t").iterdir()) == []  # unlinked before the body is even sent
    assert read_sheet(response.get_data())[1][0] == "向光明"
    response.close()
    assert list((tmp_path / "t").iterdir()) == []


# --- points ledgers --------------------------------------------------------------------


@pytest.fixture
def store(org):
    s = build_store()
    db.session.commit()
    return s


def test_a_member_ledger_as_the_page_shows_it(login, org, store):
    tati = org.members["tati"]
    secretary = org.users["secretary"]
    fund(tati.id, 40)  # no rule: the page calls it 获得
    entry = awards.award(secretary, tati, store.rule, occurred_on=local_today(), reason="主题党日")
    db.session.flush()
    awards.reverse_entry(entry, secretary, "登记错了")
    db.session.commit()
    c = login("secretary")
    response, sheet = download(c, f"/points/members/{tati.id}/export.xlsx")
    assert response.headers["Content-Disposition"].startswith(
        f'attachment; filename="points-{tati.id}-'
    )
    assert column(sheet, "项目") == ["参加组织生活", "参加组织生活", "获得"]
    assert column(sheet, "积分") == [-10, 10, 40]
    assert column(sheet, "说明") == ["登记错了", "主题党日", "测试"]
    assert column(sheet, "备注") == ["", "已冲正", ""]
    assert column(sheet, "经办人") == ["secretary", "secretary", "系统"]
    assert column(sheet, "日期")[0] == local_today()
    assert set(column(sheet, "姓名")) == {"向光明"}
    assert "*" in column(sheet, "身份证号")[0]
    _, sheet = download(c, f"/points/members/{tati.id}/export.xlsx?full_id=1")
    assert set(column(sheet, "身份证号")) == {tati.id_number}
    assert export_audits("export.points_member")[0] == {
        "action": "export.points_member", "user": "secretary", "entity": ("members", tati.id),
        "rows": 3, "full_id": False, "filters": [],
    }  # fmt: skip


def test_ledgers_of_another_scope_are_404(login, org, store):
    fund(org.members["xinmin"].id, 40, store.rule)
    db.session.commit()
    c = login("secretary")
    xinmin, village = org.members["xinmin"].id, org.villages["xinmin"].id
    assert download(c, f"/points/members/{xinmin}/export.xlsx")[0].status_code == 404
    assert download(c, f"/points/members/{xinmin}/export.xlsx?full_id=1")[0].status_code == 404
    assert download(c, f"/points/export.xlsx?village={village}")[0].status_code == 404
    township = login("township")
    assert download(township, f"/points/export.xlsx?village={village}")[0].status_code == 404
    for who in ("clerk", "member"):
        other = login(who)
        assert download(other, f"/points/members/{xinmin}/export.xlsx")[0].status_code == 403
        assert download(other, f"/points/export.xlsx?village={village}")[0].status_code == 403
    assert export_audits() == []


def test_a_branch_ledger_holds_every_line_of_its_members(login, org, store):
    tati, angdong = org.villages["tati"], org.villages["angdong"]
    second = factories.member(tati, name="石秀英")
    fund(org.members["tati"].id, 40, store.rule)
    fund(second.id, 20, store.rule)
    fund(second.id, 5, store.rule)
    fund(org.members["angdong"].id, 30, store.rule)
    db.session.commit()
    # A secretary gets their own branch without naming it.
    _, sheet = download(login("secretary"), "/points/export.xlsx")
    assert list(zip(column(sheet, "姓名"), column(sheet, "积分"), strict=True)) == [
        ("向光明", 40), ("石秀英", 20), ("石秀英", 5),
    ]  # fmt: skip
    # A township officer chooses one of theirs, and must choose.
    township = login("township")
    _, sheet = download(township, f"/points/export.xlsx?village={angdong.id}")
    assert column(sheet, "姓名") == ["彭昂洞"] and column(sheet, "村党支部") == ["昂洞村"]
    assert download(township, "/points/export.xlsx")[0].status_code == 400
    audit = export_audits("export.points_village")
    assert [(a["user"], a["entity"], a["rows"]) for a in audit] == [
        ("secretary", ("org_units", tati.id), 3), ("township", ("org_units", angdong.id), 1),
    ]  # fmt: skip


def test_the_points_page_offers_both_exports(login, org, store):
    c = login("township")
    html = c.get(f"/points/members/{org.members['tati'].id}").get_data(as_text=True)
    assert f'action="/points/members/{org.members["tati"].id}/export.xlsx"' in html
    assert 'action="/points/export.xlsx"' in html
    assert f'<option value="{org.villages["tati"].id}" selected>踏梯村</option>' in html
    assert f'<option value="{org.villages["xinmin"].id}"' not in html


# --- care cases --------------------------------------------------------------------------


def _case(org, key, kind="illness", days_ago=0, description="母亲住院"):
    case = cases.open_case(
        org.members[key], org.users["admin"],
        {"kind": kind, "event_on": local_today(), "description": description,
         "reported_via": "liaison"},
    )  # fmt: skip
    if days_ago:
        case.opened_on -= timedelta(days=days_ago)
        case.event_on -= timedelta(days=days_ago)
        case.due_on -= timedelta(days=days_ago)
    db.session.commit()
    return case


def test_care_cases_with_the_page_filters_and_scope(login, org):
    _case(org, "tati", "illness", days_ago=10, description="=1+1 母亲住院")
    _case(org, "tati", "setback")
    _case(org, "angdong", "illness")
    _case(org, "xinmin", "illness")
    c = login("township")
    _, sheet = download(c, "/care/cases/export.xlsx?status=pending&kind=illness")
    assert column(sheet, "姓名") == ["向光明", "彭昂洞"]  # by due date, as the page lists them
    assert column(sheet, "事件类型") == ["生病住院", "生病住院"]
    assert column(sheet, "逾期天数") == [7, ""]  # due 3 days after, opened 10 days ago
    assert column(sheet, "情况说明")[0] == "'=1+1 母亲住院"
    assert column(sheet, "应走访日期")[0] == local_today() - timedelta(days=7)
    _, sheet = download(c, "/care/cases/export.xlsx?status=overdue")
    assert column(sheet, "姓名") == ["向光明"]
    _, sheet = download(login("secretary"), "/care/cases/export.xlsx")
    assert sorted(column(sheet, "事件类型")) == ["创业受挫", "生病住院"]
    assert download(login("clerk"), "/care/cases/export.xlsx")[0].status_code == 403
    audits = export_audits("export.care_cases")
    assert [(a["user"], a["rows"], a["filters"]) for a in audits] == [
        ("township", 2, ["kind", "status"]), ("township", 1, ["status"]),
        ("secretary", 2, ["status"]),
    ]  # fmt: skip
    page = login("township").get("/care/cases?status=overdue&kind=illness").get_data(as_text=True)
    assert 'href="/care/cases/export.xlsx?status=overdue&amp;kind=illness"' in page


# --- certificates ------------------------------------------------------------------------


def _certificate(org, key, serial, status="valid", days=300):
    member = org.members[key]
    cert = Certificate(
        serial=serial, kind="card", member_id=member.id, village_id=member.village_id,
        township_id=member.township_id, issued_on=local_today() - timedelta(days=400),
        valid_until=local_today() + timedelta(days=days), issuing_org="中共保靖县委组织部",
        check_due_on=local_today() + timedelta(days=days),
        destination="@浙江省宁波市", verify_code=f"CODE{serial[-5:]}", status=status,
        pdf_sha256="0" * 64, pdf_size=1, issued_by_id=org.users["admin"].id,
    )  # fmt: skip
    db.session.add(cert)
    db.session.commit()
    return cert


def test_certificates_with_the_page_filter_scope_and_masking(login, org):
    _certificate(org, "tati", "433125-2026-00001")
    _certificate(org, "tati", "433125-2026-00002", status="revoked")
    _certificate(org, "angdong", "433125-2026-00003", days=-2)
    _certificate(org, "xinmin", "433125-2026-00004")
    c = login("township")
    _, sheet = download(c, "/certificates/export.xlsx")
    assert sorted(column(sheet, "编号")) == ["433125-2026-00001", "433125-2026-00003"]
    assert dict(zip(column(sheet, "编号"), column(sheet, "状态"), strict=True)) == {
        "433125-2026-00001": "有效", "433125-2026-00003": "年审逾期",  # an open-ended card
    }  # fmt: skip
    assert all("*" in v for v in column(sheet, "身份证号"))
    assert set(column(sheet, "外出地点")) == {"'@浙江省宁波市"}
    _, sheet = download(c, "/certificates/export.xlsx?status=revoked&full_id=1")
    assert column(sheet, "编号") == ["433125-2026-00002"]
    assert column(sheet, "身份证号") == [org.members["tati"].id_number]
    _, sheet = download(login("secretary2"), "/certificates/export.xlsx?status=all")
    assert column(sheet, "编号") == ["433125-2026-00004"]
    assert download(login("clerk"), "/certificates/export.xlsx")[0].status_code == 403
    audits = export_audits("export.certificates")
    assert [(a["rows"], a["full_id"]) for a in audits] == [(2, False), (1, True), (1, False)]
    html = c.get("/certificates/?status=due").get_data(as_text=True)
    assert 'action="/certificates/export.xlsx"' in html
    assert '<input type="hidden" name="status" value="due">' in html


# --- rankings ----------------------------------------------------------------------------


def test_a_ranking_as_each_viewer_sees_it(login, org, store):
    earn(org.members["tati"], 30, store.rule)
    earn(org.members["angdong"], 20, store.rule)
    db.session.commit()
    township = login("township")
    publish(township, org)
    pub_id = db.session.scalar(select(AuditEntry.entity_id).where(
        AuditEntry.action == "ranking.publish"))  # fmt: skip
    earn(org.members["angdong"], 5, store.rule)
    db.session.commit()
    township.post(f"/rankings/{pub_id}/amend", {"reason": "补登"})
    response, sheet = download(township, f"/rankings/{pub_id}/export.xlsx")
    assert f'filename="ranking-{LAST_QUARTER}-{pub_id}-' in response.headers["Content-Disposition"]
    assert sheet[1:] == [[1, "向光明", "踏梯村", 30, ""], [2, "彭昂洞", "昂洞村", 20, 25]]
    # A member sees their own name, the others masked, as on the page.
    _, sheet = download(login("member"), f"/rankings/{pub_id}/export.xlsx")
    assert column(sheet, "姓名") == ["向光明", "彭*洞"]
    _, sheet = download(login("secretary"), f"/rankings/{pub_id}/export.xlsx")
    assert column(sheet, "姓名") == ["向*明", "彭*洞"]
    assert download(login("secretary2"), f"/rankings/{pub_id}/export.xlsx")[0].status_code == 404
    assert download(login("clerk"), f"/rankings/{pub_id}/export.xlsx")[0].status_code == 403
    audits = export_audits("export.ranking")
    assert [(a["user"], a["entity"], a["rows"]) for a in audits] == [
        ("township", ("ranking_publications", pub_id), 2),
        ("member", ("ranking_publications", pub_id), 2),
        ("secretary", ("ranking_publications", pub_id), 2),
    ]  # fmt: skip


# --- constant memory ---------------------------------------------------------------------


def _bulk_members(village: OrgUnit, count: int, start: int) -> None:
    today = local_today()
    rows = []
    for n in range(start, start + count):
        idn = factories.resident_id()
        rows.append({
            "village_id": village.id, "township_id": village.township_id, "name": f"党员{n:05d}",
            "gender": "男", "ethnicity": "土家族", "birth_date": date(1985, 6, 18),
            "id_number": idn, "id_tail": idn[-4:], "phone": f"138{n:08d}",
            "join_date": date(2010, 7, 1), "membership": "full", "dest_province": "浙江省",
            "dest_city": "宁波市", "dest_address": "北仑区新碶街道 " * 3, "employer": "宁波建工集团",
            "trade": "建筑业", "last_verified_on": today, "last_contact_on": today, "status": "active",
        })  # fmt: skip
    db.session.execute(insert(Member), rows)


def _peak_bytes(user, village: OrgUnit, path) -> tuple[int, int]:
    cutoffs = member_svc.AlertCutoffs.today()
    tracemalloc.start()
    try:
        export = member_svc.export(user, village_id=village.id, cutoffs=cutoffs)
        rows = exports.write(path, export, full=True)
        return rows, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        db.session.rollback()


def test_memory_does_not_grow_with_the_list(org, tmp_path):
    small, large = org.villages["angdong"], org.villages["tati"]
    _bulk_members(small, 1000, 0)
    _bulk_members(large, 6000, 1000)
    db.session.commit()
    admin = org.users["admin"]
    # Caches (compiled SQL …) filled once, by a one-member village.
    _peak_bytes(admin, org.villages["xinmin"], tmp_path / "warm.xlsx")
    rows_small, peak_small = _peak_bytes(admin, small, tmp_path / "small.xlsx")
    rows_large, peak_large = _peak_bytes(admin, large, tmp_path / "large.xlsx")
    assert (rows_small, rows_large) == (1001, 6001)  # with each village's own first member
    # Six times the rows, nearly the same peak: rows are streamed, not held. Holding the
    # 5,000 more rows of 24 cells would take megabytes; allow 50 bytes a row.
    assert peak_large - peak_small < 5000 * 50, (peak_small, peak_large)
    assert peak_large < peak_small * 1.25, (peak_small, peak_large)
    sheet = CalamineWorkbook.from_path(str(tmp_path / "large.xlsx")).get_sheet_by_index(0)
    assert sheet.height == 6002
