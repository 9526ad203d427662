"""The member registry as a secretary uses it: search, create, edit, register, liaisons."""

import html
import json
import re
from datetime import date, timedelta

import pytest
from sqlalchemy import event, func, select

from baojing.dates import local_today
from baojing.extensions import db
from baojing.models import AuditEntry, ContactLog, LiaisonAssignment, Member, RegistrationVisit
from tests import factories
from tests.conftest import login_long_ago, sqlite_only

VALID_NEW = {
    "name": "龙小兵",
    "ethnicity": "苗族",
    "id_number": "11010519491231002x",
    "phone": "+86 139-0000-2222",
    "join_date": "1980-07-01",
    "membership": "full",
    "dest_province": "广东省",
    "dest_city": "东莞市",
    "trade": "制造业",
    "family_contact_relation": "",
}


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def audit_rows(action):
    return db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)).all()


# --- list and search -----------------------------------------------------------------


def test_search_by_name_phone_and_id_tail(login, org):
    c = login("secretary")
    m = org.members["tati"]
    other = factories.member(org.villages["tati"], name="石秀英")
    db.session.commit()
    # A name from its surname or given name, a phone from its start or its last four
    # (手机尾号), an ID from its last four.
    for q in ("光明", "向光", m.phone, m.phone[-4:], m.id_number[-4:]):
        page = c.get("/members/", query_string={"q": q}).get_data(as_text=True)
        assert "向光明" in page, q
        assert "石秀英" not in page, q
    page = c.get("/members/", query_string={"q": "秀英"}).get_data(as_text=True)
    assert "石秀英" in page and "向光明" not in page
    assert other.id


def test_search_fragment_for_htmx_and_full_page_otherwise(login, org):
    c = login("secretary")
    fragment = c.get("/members/?q=光明", headers={"HX-Request": "true"})
    assert "<html" not in fragment.get_data(as_text=True)
    assert "向光明" in fragment.get_data(as_text=True)
    assert "HX-Request" in fragment.headers["Vary"]
    boosted = c.get("/members/?q=光明", headers={"HX-Request": "true", "HX-Boosted": "true"})
    assert "<html" in boosted.get_data(as_text=True)
    assert "<html" in c.get("/members/?q=光明").get_data(as_text=True)


def test_like_wildcards_are_literal(login, org):
    c = login("secretary")
    page = c.get("/members/", query_string={"q": "%"}).get_data(as_text=True)
    assert "没有找到" in page


def test_list_never_shows_a_full_id_or_phone(login, org):
    c = login("secretary")
    m = org.members["tati"]
    page = c.get("/members/").get_data(as_text=True)
    assert m.id_number not in page
    assert m.phone not in page
    assert m.phone[:3] + "****" + m.phone[-4:] in page


def test_paging(login, org, app):
    for i in range(25):
        factories.member(org.villages["tati"], name=f"党员{i:02d}")
    db.session.commit()
    c = login("secretary")
    first = c.get("/members/").get_data(as_text=True)
    assert "共 26 人" in first and "第 1/2 页" in first
    second = c.get("/members/?page=2").get_data(as_text=True)
    assert "第 2/2 页" in second
    names_1 = set(re.findall(r'row-title">([^<]+)<', first))
    names_2 = set(re.findall(r'row-title">([^<]+)<', second))
    assert len(names_1) == 20 and len(names_2) == 6 and not names_1 & names_2
    assert c.get("/members/?page=999").status_code == 200  # clamps to the last page


def test_a_list_too_long_to_count_says_more_than_and_still_pages(login, org, app, monkeypatch):
    """Counts stop past COUNT_UP_TO, so a page costs the same at any county size; the
    pager still finds every member, one page after another."""
    from baojing.services import members as svc

    monkeypatch.setattr(svc, "COUNT_UP_TO", 30)
    svc._list_statements.cache_clear()  # built with the limit of the moment
    for i in range(44):
        factories.member(org.villages["tati"], name=f"党员{i:02d}")
    db.session.commit()
    app.config["MEMBERS_PER_PAGE"] = 20
    c = login("secretary")
    seen = []
    for number in (1, 2, 3):
        text = c.get("/members/", query_string={"page": number}).get_data(as_text=True)
        assert "超过 30 人" in text and "共 " not in text, number
        assert f"第 {number} 页" in text and "导出 Excel（全部）" in text
        assert ("下一页" in text) == (number < 3) and ("上一页" in text) == (number > 1)
        seen += re.findall(r'row-title">([^<]+)<', text)
    assert len(seen) == len(set(seen)) == 45  # 44 and the village's own 向光明
    past = c.get("/members/", query_string={"page": 9}).get_data(as_text=True)
    assert "没有找到" in past and "上一页" in past
    found = c.get("/members/", query_string={"q": "党员"}).get_data(as_text=True)
    assert "超过 30 人" in found and "下一页" in found  # a search past a page, too
    monkeypatch.undo()
    svc._list_statements.cache_clear()


def test_search_counts_on_either_side_of_a_full_page(login, org, app):
    # A search that fits on one page is counted from its rows; a full page asks SQLite.
    for i in range(21):
        factories.member(org.villages["tati"], name=f"搜索{i:02d}")
    db.session.commit()
    c = login("secretary")
    for q, total, pages in (("搜索0", 10, 1), ("搜索", 21, 2), ("搜索2", 1, 1), ("无此人", 0, 1)):
        page = c.get("/members/", query_string={"q": q}, headers={"HX-Request": "true"})
        text = page.get_data(as_text=True)
        assert f"共 {total} 人" in text, q
        assert ("第 1/2 页" in text) == (pages == 2), q
        assert len(re.findall(r'row-title">', text)) == min(total, 20), q
    app.config["MEMBERS_PER_PAGE"] = 10
    text = c.get("/members/", query_string={"q": "搜索0"}).get_data(as_text=True)
    assert "共 10 人" in text and "第 1/1 页" not in text
    text = c.get("/members/", query_string={"q": "搜索", "page": 3}).get_data(as_text=True)
    assert "共 21 人" in text and "第 3/3 页" in text


def test_alert_filters(login, org, app):
    today = local_today()
    stale = factories.member(
        org.villages["tati"], name="久未登记", last_verified_on=today - timedelta(days=400)
    )
    lost = factories.member(
        org.villages["tati"], name="失联者", last_contact_on=today - timedelta(days=200)
    )
    db.session.commit()
    c = login("secretary")
    page = c.get("/members/?alert=reverify").get_data(as_text=True)
    assert "久未登记" in page and "向光明" not in page
    page = c.get("/members/?alert=nocontact").get_data(as_text=True)
    assert "失联者" in page and "久未登记" not in page
    page = c.get("/members/?alert=noliaison").get_data(as_text=True)
    assert "失联者" in page and "向光明" not in page  # 向光明 has a liaison
    app.config["REVERIFY_MONTHS"] = 24
    page = c.get("/members/?alert=reverify").get_data(as_text=True)
    assert "久未登记" not in page
    assert stale.id and lost.id


def test_home_counts_alerts_in_scope(login, org):
    factories.member(org.villages["tati"], name="无联络人")
    factories.member(org.villages["xinmin"], name="别村无联络人")
    db.session.commit()
    page = login("secretary").get("/").get_data(as_text=True)
    # 踏梯村: the new member has no liaison; 新民村's do not count here.
    assert re.search(r"未定联络人</span> 1 人", page)


def test_query_count_does_not_grow_with_rows(server, login, org):
    c = login("secretary")

    def statements_for(url):
        seen = []
        with server.app_context():
            engine = db.engine
        listener = lambda *a: seen.append(a[2][:90])  # noqa: E731
        event.listen(engine, "before_cursor_execute", listener)
        try:
            assert c.get(url).status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", listener)
        SEEN.append(seen)
        return len(seen)

    SEEN = []
    profile_url = f"/members/{org.members['tati'].id}"
    statements_for(profile_url)  # warm up: per-process caches (demo flag, menus) fill once
    statements_for("/members/")
    few = statements_for("/members/")
    profile_few = statements_for(profile_url)
    for i in range(30):
        m = factories.member(
            org.villages["tati"], name=f"多{i}", liaison_id=org.liaisons["tati"].id
        )
        db.session.add(RegistrationVisit(member_id=org.members["tati"].id, visited_on=local_today(),
                                         verified_by_id=org.users["secretary"].id, met_with="本人",
                                         items_verified="identity", whereabouts_confirmed=True))  # fmt: skip
        db.session.add(ContactLog(member_id=org.members["tati"].id, contacted_on=local_today(),
                                  channel="电话", by_user_id=org.users["secretary"].id))  # fmt: skip
        assert m.id
    db.session.commit()
    assert statements_for("/members/") == few
    n = statements_for(profile_url)
    assert n == profile_few, "\n".join(" | ".join(x) for x in SEEN)


# --- create --------------------------------------------------------------------------


def test_create_member(login, org):
    c = login("secretary")
    form = c.get("/members/new").get_data(as_text=True)
    request_id = re.search(r'name="request_id" type="hidden" value="([^"]+)"', form).group(1)
    response = c.post(
        "/members/new",
        VALID_NEW | {"village_id": org.villages["tati"].id, "request_id": request_id},
    )
    assert response.status_code == 302
    m = db.session.scalar(select(Member).where(Member.name == "龙小兵"))
    assert m.id_number == "11010519491231002X"
    assert m.phone == "13900002222"
    assert m.gender == "女" and m.birth_date.isoformat() == "1949-12-31"
    assert m.village_id == org.villages["tati"].id and m.township_id == org.townships["迁陵镇"].id
    (row,) = audit_rows("member.create")
    after = json.loads(row.after)
    assert after["id_number"] == "110105********002X"
    assert after["phone"] == "139****2222"
    assert "11010519491231002X" not in (row.after or "")


def test_double_submit_creates_one_member(login, org):
    c = login("secretary")
    data = VALID_NEW | {"village_id": org.villages["tati"].id, "request_id": "same-key"}
    first = c.post("/members/new", data)
    second = c.post("/members/new", data)
    assert first.headers["Location"] == second.headers["Location"]
    assert (
        db.session.scalar(select(func.count()).select_from(Member).where(Member.name == "龙小兵"))
        == 1
    )


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("id_number", "110105194912310021", "校验位"),
        ("id_number", "", "请填写身份证号码"),
        ("phone", "12345", "手机号码"),
        ("name", "", "请填写姓名"),
        ("name", "长" * 41, "最多 40"),
        ("join_date", "2099-01-01", "不能晚于今天"),
        ("join_date", "1955-01-01", "年满 18"),
        ("join_date", "not-a-date", "日期"),
        ("family_contact_phone", "010-1234", "手机号码"),
        ("dest_province", "火星", "选择"),
    ],
)
def test_bad_input_is_refused_next_to_the_field(login, org, field, value, message):
    c = login("secretary")
    before = count(Member)
    data = VALID_NEW | {
        "village_id": org.villages["tati"].id,
        "request_id": f"bad-{field}",
        field: value,
    }
    response = c.post("/members/new", data)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    error = re.search(rf'id="{field}-error" role="alert">([^<]*)<', page).group(1)
    assert message in error
    assert count(Member) == before
    assert 'data-fresh="1"' in page  # the browser must not overwrite what was typed with a draft


def test_duplicate_id_is_refused(login, org):
    c = login("secretary")
    data = VALID_NEW | {
        "village_id": org.villages["tati"].id,
        "id_number": org.members["xinmin"].id_number,
        "join_date": "2010-07-01",
        "request_id": "dup",
    }
    response = c.post("/members/new", data)
    assert response.status_code == 422
    assert "已经登记过" in response.get_data(as_text=True)


def test_inline_validation_fragment(login, org):
    c = login("secretary")
    response = c.post(
        "/members/validate",
        {"_field": "id_number", "id_number": "110105194912310021", "village_id": "1"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    assert "校验位" in response.get_data(as_text=True)
    assert 'id="id_number-error"' in response.get_data(as_text=True)
    ok = c.post(
        "/members/validate",
        {"_field": "phone", "phone": "13900001234"},
        headers={"HX-Request": "true"},
    )
    assert re.search(r'id="phone-error"></p>', ok.get_data(as_text=True))
    assert c.post("/members/validate", {"_field": "csrf_token"}).status_code == 400
    assert count(Member) == 3


# --- edit ----------------------------------------------------------------------------


def edit_form(c, member_id):
    page = c.get(f"/members/{member_id}/edit").get_data(as_text=True)
    version = re.search(r'name="version" type="hidden" value="(\d+)"', page).group(1)
    original = html.unescape(
        re.search(r'name="original" type="hidden" value="([^"]*)"', page).group(1)
    )
    data = {
        "name": "向光明", "ethnicity": "土家族", "id_number": "", "phone": "13900000001",
        "join_date": "2010-07-01", "membership": "full", "dest_province": "浙江省",
        "dest_city": "宁波市", "trade": "建筑业", "family_contact_relation": "", "version": version,
        "original": original,
    }  # fmt: skip
    return data


def test_edit_keeps_the_id_when_left_blank(login, org):
    c = login("secretary")
    m = org.members["tati"]
    original_id = m.id_number
    data = edit_form(c, m.id) | {"employer": "余姚建工集团"}
    response = c.post(f"/members/{m.id}/edit", data)
    assert response.status_code == 302
    m = db.session.get(Member, m.id)
    assert m.employer == "余姚建工集团" and m.id_number == original_id
    (row,) = audit_rows("member.update")
    assert json.loads(row.after)["employer"] == "余姚建工集团"


def test_edit_form_never_contains_the_full_id(login, org):
    page = login("secretary").get(f"/members/{org.members['tati'].id}/edit").get_data(as_text=True)
    assert org.members["tati"].id_number not in page


def test_second_save_is_told_the_record_changed(login, org):
    alice, bob = login("secretary"), login("township")
    m = org.members["tati"]
    form_a = edit_form(alice, m.id)
    form_b = edit_form(bob, m.id)
    assert alice.post(f"/members/{m.id}/edit", form_a | {"dest_city": "余姚市"}).status_code == 302
    response = bob.post(f"/members/{m.id}/edit", form_b | {"dest_city": "杭州市"})
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "刚被别人修改过" in page
    assert "余姚市" in page and "杭州市" in page  # theirs and mine, side by side
    assert db.session.get(Member, m.id).dest_city == "余姚市"  # nothing overwritten
    # Saving again from the conflict page is a deliberate overwrite.
    new_version = re.search(r'name="version" type="hidden" value="(\d+)"', page).group(1)
    again = bob.post(
        f"/members/{m.id}/edit", form_b | {"dest_city": "杭州市", "version": new_version}
    )
    assert again.status_code == 302
    assert db.session.get(Member, m.id).dest_city == "杭州市"


def test_changes_to_different_fields_are_merged_not_lost(login, org):
    alice, bob = login("secretary"), login("township")
    m = org.members["tati"]
    form_a, form_b = edit_form(alice, m.id), edit_form(bob, m.id)
    assert alice.post(f"/members/{m.id}/edit", form_a | {"dest_city": "余姚市"}).status_code == 302
    response = bob.post(f"/members/{m.id}/edit", form_b | {"employer": "东莞电子厂"})
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "已换成对方的" in page and "两人都改了" not in page
    assert 'name="dest_city" type="text" value="余姚市"' in page  # theirs, merged in
    assert 'value="东莞电子厂"' in page  # mine, kept
    assert db.session.get(Member, m.id).employer != "东莞电子厂"  # nothing saved yet
    merged = edit_form_from(page) | {"employer": "东莞电子厂", "dest_city": "余姚市"}
    assert bob.post(f"/members/{m.id}/edit", form_b | merged).status_code == 302
    saved = db.session.get(Member, m.id)
    assert (saved.dest_city, saved.employer) == ("余姚市", "东莞电子厂")


def test_a_version_that_is_not_a_number_is_not_a_500(login, org):
    c = login("secretary")
    m = org.members["tati"]
    form = edit_form(c, m.id)
    # With the form's fingerprint the save can tell nothing else changed: it goes through.
    assert (
        c.post(f"/members/{m.id}/edit", form | {"version": "abc", "employer": "x"}).status_code
        == 302
    )
    assert db.session.get(Member, m.id).employer == "x"
    # Without one, every difference counts as a collision: shown, not saved.
    bare = form | {"version": "abc", "original": "", "employer": "y", "dest_city": "杭州市"}
    assert c.post(f"/members/{m.id}/edit", bare).status_code == 409
    assert db.session.get(Member, m.id).employer == "x"


def test_bookkeeping_changes_do_not_cause_a_conflict(login, org):
    """A contact logged meanwhile bumps the version but changes nothing on the form."""
    c = login("secretary")
    m = org.members["tati"]
    form = edit_form(c, m.id)
    other = login("township")
    data = {"contacted_on": local_today().isoformat(), "channel": "电话", "request_id": "bk"}
    assert other.post(f"/members/{m.id}/contact", data).status_code == 302
    assert c.post(f"/members/{m.id}/edit", form | {"employer": "新单位"}).status_code == 302
    assert db.session.get(Member, m.id).employer == "新单位"


def edit_form_from(page: str) -> dict:
    version = re.search(r'name="version" type="hidden" value="(\d+)"', page).group(1)
    original = html.unescape(
        re.search(r'name="original" type="hidden" value="([^"]*)"', page).group(1)
    )
    return {"version": version, "original": original}


def test_extra_fields_are_ignored(login, org):
    c = login("secretary")
    m = org.members["tati"]
    data = edit_form(c, m.id) | {
        "village_id": org.villages["xinmin"].id,
        "township_id": org.townships["葫芦镇"].id,
        "liaison_id": org.liaisons["xinmin"].id,
        "status": "transferred",
        "role": "county_admin",
        "last_verified_on": "2000-01-01",
    }
    assert c.post(f"/members/{m.id}/edit", data).status_code == 302
    m = db.session.get(Member, m.id)
    assert m.village_id == org.villages["tati"].id
    assert m.township_id == org.townships["迁陵镇"].id
    assert m.liaison_id == org.liaisons["tati"].id
    assert m.status == "active"
    assert m.last_verified_on != date(2000, 1, 1)


# --- registration visits and contacts -------------------------------------------------


def test_registration_visit_moves_the_dates(login, org):
    c = login("secretary")
    m = org.members["tati"]
    today = local_today().isoformat()
    data = {
        "visited_on": today,
        "met_with": "父母",
        "items": ["identity", "whereabouts"],
        "whereabouts": "yes",
        "note": "春节回家",
        "request_id": "v1",
    }
    assert c.post(f"/members/{m.id}/visit", data).status_code == 302
    assert c.post(f"/members/{m.id}/visit", data).status_code == 302  # double submit
    m = db.session.get(Member, m.id)
    assert m.last_verified_on.isoformat() == today
    assert m.last_contact_on.isoformat() == today
    visits = db.session.scalars(
        select(RegistrationVisit).where(RegistrationVisit.member_id == m.id)
    ).all()
    assert len(visits) == 1
    assert visits[0].verified_by_id == org.users["secretary"].id
    page = c.get(f"/members/{m.id}").get_data(as_text=True)
    assert f"最近核实：{today}" in page and "核实身份信息、外出去向" in page


def test_visit_needs_an_item_and_a_past_date(login, org):
    c = login("secretary")
    m = org.members["tati"]
    future = (local_today() + timedelta(days=1)).isoformat()
    response = c.post(
        f"/members/{m.id}/visit", {"visited_on": future, "met_with": "", "request_id": "v2"}
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    # Nothing is assumed: who was met and whether the whereabouts were confirmed are asked.
    for message in ("不能晚于今天", "至少勾选一项", "请选择见到的人", "请选择去向是否已核实"):
        assert message in page
    assert count(RegistrationVisit) == 0


def test_visit_key_reused_for_another_member_is_a_conflict(login, org):
    c = login("township")
    data = {
        "visited_on": local_today().isoformat(),
        "met_with": "本人",
        "items": "phone",
        "whereabouts": "no",
        "request_id": "k",
    }
    assert c.post(f"/members/{org.members['tati'].id}/visit", data).status_code == 302
    assert c.post(f"/members/{org.members['angdong'].id}/visit", data).status_code == 409
    assert count(RegistrationVisit) == 1


def test_contact_clears_the_lost_contact_alert(login, org):
    today = local_today()
    m = factories.member(
        org.villages["tati"], name="久未联系", last_contact_on=today - timedelta(days=300)
    )
    db.session.commit()
    c = login("secretary")
    assert "久未联系" in c.get("/members/?alert=nocontact").get_data(as_text=True)
    data = {
        "contacted_on": today.isoformat(),
        "channel": "微信",
        "note": "在东莞",
        "request_id": "c1",
    }
    assert c.post(f"/members/{m.id}/contact", data).status_code == 302
    assert "久未联系" not in c.get("/members/?alert=nocontact").get_data(as_text=True)


# --- liaisons ------------------------------------------------------------------------


def test_assign_liaison_keeps_history(login, org):
    c = login("secretary")
    m = org.members["tati"]
    second = factories.liaison(org.villages["tati"], name="第二联络员")
    db.session.commit()
    assert c.post(f"/members/{m.id}/liaison", {"liaison_id": second.id}).status_code == 302
    assert db.session.get(Member, m.id).liaison_id == second.id
    history = db.session.scalars(
        select(LiaisonAssignment).where(LiaisonAssignment.member_id == m.id)
    ).all()
    assert [h.liaison_id for h in history] == [second.id]
    page = c.get(f"/members/{m.id}").get_data(as_text=True)
    assert "第二联络员" in page


def test_liaison_from_another_village_is_refused(login, org):
    c = login("secretary")
    m = org.members["tati"]
    response = c.post(f"/members/{m.id}/liaison", {"liaison_id": org.liaisons["xinmin"].id})
    assert response.status_code == 303
    assert db.session.get(Member, m.id).liaison_id == org.liaisons["tati"].id


def test_handover_moves_all_members_in_one_step(login, org):
    village = org.villages["tati"]
    old = org.liaisons["tati"]
    new = factories.liaison(village, name="接手人")
    extra = [factories.member(village, name=f"交接{i}", liaison_id=old.id) for i in range(3)]
    db.session.commit()
    versions = {m.id: m.version for m in extra}
    c = login("secretary")
    response = c.post(
        "/members/liaisons",
        {
            "action": "handover",
            "handover-source_id": old.id,
            "handover-target_id": new.id,
            "handover-note": "外出",
        },
    )
    assert response.status_code == 302
    moved = db.session.scalars(select(Member).where(Member.liaison_id == new.id)).all()
    assert len(moved) == 4
    assert all(m.version == versions.get(m.id, m.version - 1) + 1 for m in moved)
    open_rows = db.session.scalars(
        select(LiaisonAssignment).where(
            LiaisonAssignment.ended_on.is_(None), LiaisonAssignment.liaison_id == new.id
        )
    ).all()
    assert len(open_rows) == 4
    (row,) = audit_rows("liaison.handover")
    assert json.loads(row.after)["count"] == 4


def test_handover_to_the_same_liaison_is_refused(login, org):
    c = login("secretary")
    old = org.liaisons["tati"]
    factories.liaison(org.villages["tati"], name="另一位")
    db.session.commit()
    response = c.post(
        "/members/liaisons",
        {"action": "handover", "handover-source_id": old.id, "handover-target_id": old.id},
    )
    assert response.status_code == 422
    assert "另一位联络人" in response.get_data(as_text=True)


def test_add_liaison_validates_phone(login, org):
    c = login("secretary")
    response = c.post(
        "/members/liaisons",
        {"action": "add", "add-name": "新人", "add-phone": "123", "add-role": "青年党员"},
    )
    assert response.status_code == 422
    response = c.post(
        "/members/liaisons",
        {"action": "add", "add-name": "新人", "add-phone": "13912345678", "add-role": "青年党员"},
    )
    assert response.status_code == 302
    assert "新人" in c.get("/members/liaisons").get_data(as_text=True)


# --- the member themself, and the full ID -------------------------------------------


def test_member_updates_own_phone_and_address(login, org):
    c = login("member")
    m = org.members["tati"]
    response = c.post(
        f"/members/{m.id}/contact-info",
        {
            "phone": "13711112222",
            "dest_address": "宁波市北仑区新碶街道 8 号",
            "name": "改名",
            "village_id": 99,
        },
    )
    assert response.status_code == 302
    m = db.session.get(Member, m.id)
    assert m.phone == "13711112222" and m.dest_address.startswith("宁波市北仑区")
    assert m.name == "向光明"
    (row,) = audit_rows("member.self_update")
    assert json.loads(row.after)["phone"] == "137****2222"
    assert row.username == "member"


def test_reveal_full_id_is_audited(login, org):
    c = login("secretary")
    m = org.members["tati"]
    profile = c.get(f"/members/{m.id}")
    assert m.id_number not in profile.get_data(as_text=True)
    assert profile.headers["Cache-Control"] == "no-store"
    response = c.post(f"/members/{m.id}/reveal-id", headers={"HX-Request": "true"})
    assert m.id_number in response.get_data(as_text=True)
    (row,) = audit_rows("member.reveal_id")
    assert row.entity_id == m.id and row.username == "secretary"
    plain = c.post(f"/members/{m.id}/reveal-id")  # without JavaScript: the profile, not a redirect
    assert plain.status_code == 200 and m.id_number in plain.get_data(as_text=True)


def test_changing_ones_phone_asks_for_the_password_after_a_while(login, org):
    c = login("member")
    login_long_ago(org.users["member"].id)
    url = f"/members/{org.members['tati'].id}/contact-info"
    response = c.post(url, {"phone": "13722223333", "dest_address": "杭州"})
    assert "/reauth" in response.headers["Location"]
    assert db.session.get(Member, org.members["tati"].id).phone != "13722223333"
    response = c.post(f"/reauth?next={url}", {"password": "correct horse battery staple"})
    assert response.headers["Location"] == url
    assert c.post(url, {"phone": "13722223333", "dest_address": "杭州"}).status_code == 302
    assert db.session.get(Member, org.members["tati"].id).phone == "13722223333"


def test_a_member_does_not_see_the_branchs_visit_notes(login, org):
    db.session.add(
        RegistrationVisit(
            member_id=org.members["tati"].id,
            visited_on=local_today(),
            verified_by_id=org.users["secretary"].id,
            met_with="父母",
            items_verified="identity",
            whereabouts_confirmed=True,
            note="家里有困难，需关注",
        )  # fmt: skip
    )
    db.session.commit()
    own = login("member").get(f"/members/{org.members['tati'].id}").get_data(as_text=True)
    assert "家里有困难" not in own and "党支部上门登记" in own
    assert "家里有困难" in login("secretary").get(f"/members/{org.members['tati'].id}").get_data(
        as_text=True
    )


def test_same_key_with_other_content_is_refused(login, org):
    c = login("secretary")
    data = VALID_NEW | {"village_id": org.villages["tati"].id, "request_id": "key-1"}
    assert c.post("/members/new", data).status_code == 302
    response = c.post(
        "/members/new", data | {"name": "另一个人", "id_number": "110105194912310011"}
    )
    assert response.status_code == 409
    assert count(Member) == 4
    visit = {"visited_on": local_today().isoformat(), "met_with": "本人", "items": "phone",
             "whereabouts": "yes", "request_id": "key-2"}  # fmt: skip
    m = org.members["tati"]
    assert c.post(f"/members/{m.id}/visit", visit).status_code == 302
    assert c.post(f"/members/{m.id}/visit", visit | {"met_with": "配偶"}).status_code == 409
    assert count(RegistrationVisit) == 1


def test_add_liaison_twice_adds_one(login, org):
    from baojing.models import BranchContact

    c = login("secretary")
    page = c.get("/members/liaisons").get_data(as_text=True)
    key = re.search(r'name="add-request_id" type="hidden" value="([^"]+)"', page).group(1)
    data = {
        "action": "add",
        "add-name": "新联络员",
        "add-phone": "13912340000",
        "add-role": "青年党员",
        "add-request_id": key,
    }
    assert c.post("/members/liaisons", data).status_code == 302
    assert c.post("/members/liaisons", data).status_code == 302
    names = db.session.scalars(
        select(BranchContact.name).where(BranchContact.name == "新联络员")
    ).all()
    assert names == ["新联络员"]


@sqlite_only  # PostgreSQL's planner chooses by table size: bench/members.py EXPLAINs it at scale
@pytest.mark.parametrize("scope", ["village", "township", "all"])
@pytest.mark.parametrize("q", ["向", "光明", "1390", "13900001234", "1234"])
def test_every_search_is_a_range_on_an_index(app, org, scope, q):
    """A search never reads the scope row by row (issue 14: at 200,000 members it must not)."""
    from baojing.services.members import AlertCutoffs, _list_statements, search_kind

    kind, params = search_kind(q)
    _count, rows, _counted = _list_statements(scope, kind, False, "", False)
    params |= {"scope_id": 1, "limit": 20, "offset": 0} | AlertCutoffs.today().params()
    compiled = rows.compile(dialect=db.engine.dialect)
    values = compiled.construct_params(params)
    plan = (
        db.session.connection()
        .exec_driver_sql(
            f"EXPLAIN QUERY PLAN {compiled}", tuple(values[name] for name in compiled.positiontup)
        )
        .all()
    )
    details = " | ".join(row[-1] for row in plan)
    assert "SCAN members" not in details, details


@sqlite_only  # PostgreSQL keeps its own statistics (autovacuum); bench/members.py EXPLAINs it
@pytest.mark.parametrize("q", ["1234", "光明", "向", "13900"])
def test_a_search_in_a_large_village_reads_only_the_members_it_finds(app, org, q):
    """After a demo load or a roster import the planner knows a village holds hundreds of
    members (db.refresh_statistics). Without that, SQLite took an equality on the village
    for about ten rows and walked the whole village on the list's (village, status, name)
    index for the ORDER BY, reading every member: 23 ms for an ID tail at 200,000 members."""
    from baojing.db import refresh_statistics
    from baojing.services.members import AlertCutoffs, _list_statements, search_kind

    village = org.villages["tati"]
    for n in range(600):
        factories.member(village, name="向光明" if n == 7 else "彭建军")
    refresh_statistics()
    db.session.commit()

    kind, params = search_kind(q)
    _count, rows, _counted = _list_statements("village", kind, False, "", False)
    params |= {"scope_id": village.id, "limit": 20, "offset": 0} | AlertCutoffs.today().params()
    compiled = rows.compile(dialect=db.engine.dialect)
    values = compiled.construct_params(params)
    plan = [
        row[-1]
        for row in db.session.connection().exec_driver_sql(
            f"EXPLAIN QUERY PLAN {compiled}", tuple(values[name] for name in compiled.positiontup)
        )
    ]
    reads = [step for step in plan if step.startswith(("SEARCH members", "SCAN members"))]
    searched = ("id_tail=", "phone_tail=", "phone>", "name>", "given_name>")
    assert reads and all(any(c in step for c in searched) for step in reads), plan


def test_holding_a_certificate_follows_the_records_not_a_box(login, org):
    """持证 is what the certificate records say: the form has no box for it, and a
    posted value is ignored (tests/test_certificates.py: issuing and voiding set it)."""
    c = login("secretary")
    m = org.members["tati"]
    page = c.get(f"/members/{m.id}/edit").get_data(as_text=True)
    assert "has_certificate" not in page and "已持流动党员活动证" not in page
    form = edit_form(c, m.id) | {"has_certificate": "y"}
    assert c.post(f"/members/{m.id}/edit", form).status_code == 302
    db.session.expire_all()
    assert db.session.get(Member, m.id).has_certificate is False
    assert "未持证" in c.get(f"/members/{m.id}").get_data(as_text=True)
