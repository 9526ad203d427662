"""The org tree is the county's to keep: creating, renaming and closing units, moving members
between them, a unit's contact person, and who takes part in a 流动党组织."""

import html
import re
from datetime import timedelta

import pytest
from sqlalchemy import event, func, select

from baojing.dates import local_today
from baojing.extensions import db
from baojing.models import AuditEntry, LiaisonAssignment, Member
from baojing.models.care import CareCase
from baojing.models.org import MOBILE_ORG, ONLINE_BRANCH, VILLAGE, OrgUnit
from baojing.models.users import User
from baojing.services import branches as svc
from baojing.services.care import cases
from tests import factories


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def audit_rows(action):
    return db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
    ).all()


def field_error(page: str, field_id: str) -> str:
    """The message shown next to a form field (the form macro's <p id="…-error">)."""
    found = re.search(rf'<p class="field-error" id="{field_id}-error"[^>]*>([^<]*)</p>', page)
    assert found, f"no error slot for {field_id}"
    return html.unescape(found.group(1))


def unit_named(name: str, kind: str = VILLAGE) -> OrgUnit | None:
    return db.session.scalar(select(OrgUnit).where(OrgUnit.name == name, OrgUnit.kind == kind))


def mobile_org(township: OrgUnit, name: str = "迁陵镇驻宁波流动党支部") -> OrgUnit:
    unit = OrgUnit(
        kind=MOBILE_ORG,
        name=name,
        location="浙江省宁波市",
        parent_id=township.id,
        township_id=township.id,
    )
    db.session.add(unit)
    db.session.flush()
    return unit


def new_unit(c, kind: str, township: OrgUnit, request_id: str = "r-new-unit-1", **fields):
    data = {"township_id": township.id, "kind": kind, "request_id": f"req-{request_id}", **fields}
    return c.post(f"/branches/new?kind={kind}", data)


# --- creating units --------------------------------------------------------------------------


def test_county_creates_a_village_an_online_branch_and_a_mobile_org(login, org):
    c = login("admin")
    qianling = org.townships["迁陵镇"]
    response = new_unit(
        c,
        "village",
        qianling,
        "r-village-1",
        name="茶园村",
        code="433125109205",
        contact_name="彭书记",
        contact_mobile="139 0000 1234",
        publish_phone="mobile",
    )
    assert response.status_code == 303
    village = unit_named("茶园村")
    assert response.headers["Location"].endswith(f"/branches/{village.id}")
    assert (village.township_id, village.parent_id, village.code) == (
        qianling.id,
        qianling.id,
        "433125109205",
    )
    assert village.contact_mobile == "13900001234" and village.publish_phone == "mobile"

    response = new_unit(c, "online_branch", qianling, "r-online-1", name="迁陵镇网络党支部")
    assert response.status_code == 303
    assert unit_named("迁陵镇网络党支部", ONLINE_BRANCH).township_id == qianling.id

    response = new_unit(
        c,
        "mobile_org",
        org.townships["葫芦镇"],
        "r-mobile-1",
        name="葫芦镇驻东莞流动党支部",
        location="广东省东莞市",
        host_org="东莞市湖南商会",
        contact_name="田会长",
        contact_office="0769-22001234",
        publish_phone="office",
    )
    assert response.status_code == 303
    org_unit = unit_named("葫芦镇驻东莞流动党支部", MOBILE_ORG)
    assert (org_unit.location, org_unit.host_org) == ("广东省东莞市", "东莞市湖南商会")
    assert (org_unit.contact_office, org_unit.publish_phone) == ("0769-22001234", "office")

    created = audit_rows("org.create")
    assert [e.entity_id for e in created] == [
        village.id,
        unit_named("迁陵镇网络党支部", ONLINE_BRANCH).id,
        org_unit.id,
    ]
    assert '"contact_mobile": "139****1234"' in created[0].after  # no full number in the log
    # The new units are in the tree, each under its township.
    page = c.get("/branches/").get_data(as_text=True)
    for name in ("茶园村党支部", "迁陵镇网络党支部", "葫芦镇驻东莞流动党支部"):
        assert name in page


def test_a_double_submit_creates_one_unit(login, org):
    c = login("township")
    first = new_unit(c, "village", org.townships["迁陵镇"], "r-twice", name="白岩村")
    second = new_unit(c, "village", org.townships["迁陵镇"], "r-twice", name="白岩村")
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]
    assert count(OrgUnit, OrgUnit.name == "白岩村") == 1
    assert len(audit_rows("org.create")) == 1
    # The same key with other content is refused, not taken for the first.
    assert (
        new_unit(c, "village", org.townships["迁陵镇"], "r-twice", name="黑岩村").status_code == 409
    )
    assert unit_named("黑岩村") is None


def test_a_duplicate_name_is_refused_next_to_the_field_and_nothing_is_written(login, org):
    c = login("admin")
    units, audits = count(OrgUnit), count(AuditEntry, AuditEntry.action.like("org.%"))
    response = new_unit(
        c, "village", org.townships["迁陵镇"], "r-dup", name=" 踏梯村党支部 ", code="433125109299"
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert field_error(page, "name") == "迁陵镇已有名为“踏梯村”的村党支部"
    assert 'value="433125109299"' in page  # what was typed stays
    assert count(OrgUnit) == units
    assert count(AuditEntry, AuditEntry.action.like("org.%")) == audits
    # The same name in another township is another village.
    assert (
        new_unit(c, "village", org.townships["葫芦镇"], "r-dup2", name="踏梯村").status_code == 303
    )


@pytest.mark.parametrize(
    "fields,field,message",
    [
        ({"name": ""}, "name", "请填写名称"),
        ({"name": " 党支部 "}, "name", "请填写名称"),
        ({"name": "新村", "code": "43312510920"}, "code", "村代码应为 12 位数字"),
        ({"name": "新村", "contact_mobile": "12345"}, "contact_mobile", "手机号码应为"),
        ({"name": "新村", "publish_phone": "mobile"}, "contact_mobile", "选择公布手机"),
        (
            {"name": "新村", "contact_office": "8721234", "publish_phone": "office"},
            "contact_office",
            "带区号的固定电话",
        ),
    ],
)
def test_village_fields_are_checked(login, org, fields, field, message):
    c = login("admin")
    units = count(OrgUnit)
    response = new_unit(c, "village", org.townships["迁陵镇"], "r-check", **fields)
    assert response.status_code == 422
    assert message in field_error(response.get_data(as_text=True), field)
    assert count(OrgUnit) == units


def test_a_village_code_is_one_villages(login, org):
    org.villages["tati"].code = "433125109201"
    db.session.commit()
    response = new_unit(
        login("admin"),
        "village",
        org.townships["迁陵镇"],
        "r-code",
        name="新村",
        code="433125109201",
    )
    assert response.status_code == 422
    assert "踏梯村" in field_error(response.get_data(as_text=True), "code")


def test_a_township_runs_one_online_branch_and_a_mobile_org_needs_its_place(login, org):
    c = login("township")
    assert (
        new_unit(
            c, "online_branch", org.townships["迁陵镇"], "r-ob1", name="网络党支部"
        ).status_code
        == 303
    )
    response = new_unit(c, "online_branch", org.townships["迁陵镇"], "r-ob2", name="第二网络党支部")
    assert response.status_code == 422
    assert "每个乡镇只设一个" in response.get_data(as_text=True)
    response = new_unit(c, "mobile_org", org.townships["迁陵镇"], "r-mo", name="驻杭州流动党支部")
    assert response.status_code == 422
    assert "请填写所在地" in field_error(response.get_data(as_text=True), "location")
    assert count(OrgUnit, OrgUnit.kind.in_((ONLINE_BRANCH, MOBILE_ORG))) == 1


# --- renaming and editing ----------------------------------------------------------------------


def test_rename_is_audited_with_before_and_after(login, org):
    c = login("township")
    tati = org.villages["tati"]
    response = c.post(
        f"/branches/{tati.id}/edit", {"name": "踏梯新村", "code": "", "publish_phone": ""}
    )
    assert response.status_code == 303
    db.session.refresh(tati)
    assert tati.name == "踏梯新村"
    (entry,) = audit_rows("org.update")
    assert (entry.entity_type, entry.entity_id) == ("org_units", tati.id)
    assert entry.before == '{"name": "踏梯村"}' and entry.after == '{"name": "踏梯新村"}'
    # The member form's village menu has the new name at once.
    page = c.get("/members/new").get_data(as_text=True)
    assert "踏梯新村党支部" in page


def test_renaming_onto_another_units_name_is_refused(login, org):
    c = login("township")
    response = c.post(f"/branches/{org.villages['tati'].id}/edit", {"name": "昂洞村"})
    assert response.status_code == 422
    assert "已有名为“昂洞村”" in field_error(response.get_data(as_text=True), "name")
    db.session.refresh(org.villages["tati"])
    assert org.villages["tati"].name == "踏梯村"
    assert audit_rows("org.update") == []


# --- scope -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "method,path",
    [
        ("GET", ""),
        ("GET", "/edit"),
        ("POST", "/edit"),
        ("GET", "/contact"),
        ("POST", "/contact"),
        ("GET", "/close"),
        ("POST", "/close"),
        ("GET", "/move"),
        ("POST", "/move"),
    ],
)
def test_a_township_officer_gets_404_for_another_townships_unit(login, org, method, path):
    c = login("township")
    xinmin = org.villages["xinmin"]
    url = f"/branches/{xinmin.id}{path}"
    form = {
        "name": "篡改",
        "reason": "越权",
        "target_id": org.villages["tati"].id,
        "everyone": "all",
        "request_id": "r-cross-move",
    }
    response = c.get(url) if method == "GET" else c.post(url, form)
    assert response.status_code == 404
    db.session.refresh(xinmin)
    assert (xinmin.name, xinmin.closed_at) == ("新民村", None)
    assert db.session.get(Member, org.members["xinmin"].id).village_id == xinmin.id
    assert f"/branches/{xinmin.id}" not in c.get("/branches/").get_data(as_text=True)


def test_a_township_officer_cannot_create_in_another_township_by_posting_its_id(login, org):
    units = count(OrgUnit)
    response = new_unit(login("township"), "village", org.townships["葫芦镇"], "r-x", name="越权村")
    assert response.status_code == 422
    assert count(OrgUnit) == units and unit_named("越权村") is None


def test_a_township_officer_cannot_move_members_into_another_township(login, org):
    c = login("township")
    response = c.post(
        f"/branches/{org.villages['tati'].id}/move",
        {
            "everyone": "all",
            "target_id": org.villages["xinmin"].id,
            "reason": "越权",
            "request_id": "r-move-x",
        },
    )
    assert response.status_code == 422
    assert db.session.get(Member, org.members["tati"].id).village_id == org.villages["tati"].id


@pytest.mark.parametrize("who", ["secretary", "clerk", "member"])
def test_other_roles_get_403_on_the_management_pages(login, org, who):
    c = login(who)
    tati = org.villages["tati"]
    for url in (
        "/branches/",
        "/branches/new?kind=village",
        f"/branches/{tati.id}",
        f"/branches/{tati.id}/edit",
        f"/branches/{tati.id}/close",
    ):
        assert c.get(url).status_code == 403, url
    response = new_unit(c, "village", org.townships["迁陵镇"], "r-403", name="越权村")
    assert response.status_code == 403 and unit_named("越权村") is None


# --- a unit's contact person ------------------------------------------------------------------------


def test_a_secretary_edits_only_their_own_units_contact_fields(login, org):
    c = login("secretary")
    tati, angdong = org.villages["tati"], org.villages["angdong"]
    assert c.get("/branches/contact").headers["Location"].endswith(f"/branches/{tati.id}/contact")
    assert c.get(f"/branches/{tati.id}/contact").status_code == 200
    response = c.post(
        f"/branches/{tati.id}/contact",
        {
            "contact_name": "向书记",
            "contact_title": "党支部书记",
            "contact_mobile": "13907431234",
            "publish_phone": "mobile",
            "name": "改名村",
            "code": "433125109999",
        },
    )
    assert response.status_code == 303
    db.session.refresh(tati)
    assert (tati.contact_name, tati.contact_mobile, tati.publish_phone) == (
        "向书记",
        "13907431234",
        "mobile",
    )
    assert (tati.name, tati.code) == ("踏梯村", None)  # extra fields are ignored
    (entry,) = audit_rows("org.update")
    assert entry.username == "secretary" and "139****1234" in entry.after
    # Another village's contact form is not there for them.
    assert c.get(f"/branches/{angdong.id}/contact").status_code == 404
    assert c.post(f"/branches/{angdong.id}/contact", {"contact_name": "冒名"}).status_code == 404
    db.session.refresh(angdong)
    assert angdong.contact_name == ""


def test_publishing_an_office_number_needs_one(login, org):
    c = login("secretary")
    tati = org.villages["tati"]
    response = c.post(
        f"/branches/{tati.id}/contact", {"contact_name": "向书记", "publish_phone": "office"}
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "请填写办公电话" in field_error(page, "contact_office")
    assert 'value="向书记"' in page
    db.session.refresh(tati)
    assert tati.contact_name == "" and tati.publish_phone == ""


def test_only_the_county_keeps_a_townships_contact(login, org):
    qianling = org.townships["迁陵镇"]
    assert login("township").get(f"/branches/{qianling.id}/contact").status_code == 403
    response = login("admin").post(
        f"/branches/{qianling.id}/contact",
        {
            "contact_name": "组织委员",
            "contact_office": "0743-8721234",
            "publish_phone": "office",
        },
    )
    assert response.status_code == 303
    db.session.refresh(qianling)
    assert (qianling.contact_office, qianling.publish_phone) == ("0743-8721234", "office")
    assert login("admin").post(f"/branches/{qianling.id}/close", {"reason": "x"}).status_code == 404


# --- closing and moving ------------------------------------------------------------------------------


def test_closing_is_refused_while_members_remain(login, org):
    c = login("township")
    tati = org.villages["tati"]
    page = c.get(f"/branches/{tati.id}/close").get_data(as_text=True)
    assert "先转移 1 名在册党员" in page and f'action="/branches/{tati.id}/move"' in page
    response = c.post(f"/branches/{tati.id}/close", {"reason": "合并"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "还有 1 名在册党员在这个支部" in page and 'href="#move"' in page
    db.session.refresh(tati)
    assert tati.closed_at is None
    assert audit_rows("org.close") == []


def test_a_bulk_move_then_close_and_the_new_branch_sees_the_member(login, org):
    tati, angdong = org.villages["tati"], org.villages["angdong"]
    member = org.members["tati"]
    second = factories.member(tati, name="石秀英")
    db.session.add(
        LiaisonAssignment(
            member_id=member.id,
            liaison_id=org.liaisons["tati"].id,
            started_on=local_today() - timedelta(days=90),
        )
    )
    case = cases.open_case(
        member,
        org.users["secretary"],
        {
            "kind": "illness",
            "event_on": local_today(),
            "description": "住院",
            "reported_via": "family",
        },
    )
    org.users["angdong"] = factories.user("secretary_ad", "village_secretary", angdong)
    db.session.commit()
    version = member.version

    c = login("township")
    response = c.post(
        f"/branches/{tati.id}/move?next=close",
        {
            "everyone": "all",
            "target_id": angdong.id,
            "reason": "踏梯村并入昂洞村",
            "request_id": "r-move-all",
            "next": "close",
        },
    )
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/branches/{tati.id}/close")
    moved = db.session.get(Member, member.id)
    assert (moved.village_id, moved.township_id, moved.liaison_id) == (
        angdong.id,
        angdong.township_id,
        None,
    )
    assert moved.version == version + 1
    assert db.session.get(Member, second.id).village_id == angdong.id
    open_assignments = count(
        LiaisonAssignment,
        LiaisonAssignment.member_id == member.id,
        LiaisonAssignment.ended_on.is_(None),
    )
    assert open_assignments == 0
    # The care case follows the member; their own login too.
    assert db.session.get(CareCase, case.id).village_id == angdong.id
    assert db.session.get(User, org.users["member"].id).org_unit_id == angdong.id
    # One audit row per member, and one for the move.
    rows = audit_rows("member.move")
    assert sorted(r.entity_id for r in rows) == sorted([member.id, second.id])
    assert f'"village_id": {tati.id}' in rows[0].before and "踏梯村并入昂洞村" in rows[0].after
    (summary,) = audit_rows("org.move_members")
    assert '"count": 2' in summary.after

    # The new village's secretary sees them; the old one no longer does.
    new_secretary, old_secretary = login("angdong"), login("secretary")
    assert new_secretary.get(f"/members/{member.id}").status_code == 200
    assert new_secretary.get(f"/care/cases/{case.id}").status_code == 200
    assert old_secretary.get(f"/members/{member.id}").status_code == 404
    assert old_secretary.get(f"/care/cases/{case.id}").status_code == 404

    # The secretary's account still belongs to 踏梯村: closing waits for it.
    response = c.post(f"/branches/{tati.id}/close", {"reason": "并入昂洞村"})
    assert response.status_code == 422
    assert "还有 1 个启用的账户" in response.get_data(as_text=True)
    db.session.get(User, org.users["secretary"].id).active = False
    db.session.commit()
    response = c.post(f"/branches/{tati.id}/close", {"reason": "并入昂洞村"})
    assert response.status_code == 303
    db.session.refresh(tati)
    assert tati.closed_at is not None and tati.close_reason == "并入昂洞村"
    (closed,) = audit_rows("org.close")
    assert "并入昂洞村" in closed.after
    # Closed, not gone: listed apart in the tree, its page still there.
    page = c.get("/branches/").get_data(as_text=True)
    closed_list = re.search(r"已撤销（1）</summary>(.*?)</details>", page, re.S).group(1)
    assert f'href="/branches/{tati.id}">踏梯村党支部' in closed_list
    assert page.count(f'href="/branches/{tati.id}"') == 1
    assert "已撤销" in c.get(f"/branches/{tati.id}").get_data(as_text=True)


def test_a_replayed_move_moves_once(login, org):
    c = login("admin")
    form = {
        "everyone": "chosen",
        "member_ids": org.members["tati"].id,
        "target_id": org.villages["xinmin"].id,
        "reason": "迁居",
        "request_id": "r-move-1",
    }
    assert c.post(f"/branches/{org.villages['tati'].id}/move", form).status_code == 303
    assert c.post(f"/branches/{org.villages['tati'].id}/move", form).status_code == 303
    assert len(audit_rows("member.move")) == 1
    member = db.session.get(Member, org.members["tati"].id)
    assert (member.village_id, member.township_id) == (
        org.villages["xinmin"].id,
        org.townships["葫芦镇"].id,
    )


def test_a_move_needs_a_reason_and_someone_to_move(login, org):
    c = login("township")
    tati = org.villages["tati"]
    response = c.post(
        f"/branches/{tati.id}/move",
        {
            "everyone": "chosen",
            "target_id": org.villages["angdong"].id,
            "reason": "",
            "request_id": "r-move-empty",
        },
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert field_error(page, "reason") == "请填写转移原因"
    response = c.post(
        f"/branches/{tati.id}/move",
        {
            "everyone": "chosen",
            "target_id": org.villages["angdong"].id,
            "reason": "迁居",
            "request_id": "r-move-empty",
        },
    )
    assert response.status_code == 422
    assert field_error(response.get_data(as_text=True), "member_ids") == "请勾选要转移的党员"
    assert db.session.get(Member, org.members["tati"].id).village_id == tati.id


def test_the_number_of_statements_of_a_move_does_not_grow_with_the_members(app, org):
    tati, angdong = org.villages["tati"], org.villages["angdong"]
    for i in range(6):
        factories.member(tati, name=f"党员{i}")
    db.session.commit()
    admin = org.users["admin"]

    def statements(n: int) -> int:
        ids = list(
            db.session.scalars(
                select(Member.id).where(Member.village_id == tati.id).order_by(Member.id).limit(n)
            )
        )
        seen = []
        listener = lambda *args: seen.append(1)  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            assert svc.move_members(admin, tati, ids, angdong, "测试") == n
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
        db.session.rollback()
        return len(seen)

    assert statements(1) == statements(6)


def test_a_closed_village_takes_no_new_members(login, org):
    c = login("admin")
    empty = factories.village(org.townships["迁陵镇"], "空壳村")
    db.session.commit()
    assert "空壳村党支部</option>" in c.get("/members/new").get_data(as_text=True)
    assert c.post(f"/branches/{empty.id}/close", {"reason": "无党员"}).status_code == 303
    assert "空壳村党支部</option>" not in c.get("/members/new").get_data(as_text=True)
    members = count(Member)
    response = c.post(
        "/members/new",
        {
            "village_id": empty.id,
            "name": "龙小兵",
            "ethnicity": "苗族",
            "id_number": "11010519491231002X",
            "phone": "13900002222",
            "join_date": "1980-07-01",
            "membership": "full",
            "request_id": "r-closed-village",
        },
    )
    assert response.status_code in (404, 422)
    assert count(Member) == members
    # Nor can members be moved into it.
    response = c.post(
        f"/branches/{org.villages['tati'].id}/move",
        {
            "everyone": "all",
            "target_id": empty.id,
            "reason": "x",
            "request_id": "r-into-closed",
        },
    )
    assert response.status_code == 422
    # A closed unit is not edited; a second close changes nothing.
    assert c.post(f"/branches/{empty.id}/edit", {"name": "复活村"}).status_code == 303
    db.session.refresh(empty)
    assert empty.name == "空壳村"
    assert c.post(f"/branches/{empty.id}/close", {"reason": "again"}).status_code == 303
    assert len(audit_rows("org.close")) == 1


def test_a_new_unit_may_reuse_a_closed_units_name(login, org):
    c = login("admin")
    old = factories.village(org.townships["迁陵镇"], "龙溪村")
    db.session.commit()
    assert c.post(f"/branches/{old.id}/close", {"reason": "撤并"}).status_code == 303
    assert (
        new_unit(c, "village", org.townships["迁陵镇"], "r-reuse", name="龙溪村").status_code == 303
    )
    assert count(OrgUnit, OrgUnit.name == "龙溪村") == 2


# --- taking part in a 流动党组织 ----------------------------------------------------------------


@pytest.fixture
def ningbo(org):
    unit = mobile_org(org.townships["迁陵镇"])
    org.users["leader"] = factories.user("leader", "org_leader", unit)
    db.session.commit()
    return unit


def test_join_and_leave_a_mobile_org_and_its_leader_sees_the_member(login, org, ningbo):
    member, other = org.members["tati"], org.members["angdong"]
    c = login("township")
    page = c.post(f"/branches/{ningbo.id}/participants", {"q": "向光明"}).get_data(as_text=True)
    assert "向光明" in page and "参加本组织" in page
    response = c.post(f"/branches/{ningbo.id}/participants/join", {"member_id": member.id})
    assert response.status_code == 303
    assert db.session.get(Member, member.id).mobile_org_id == ningbo.id
    assert db.session.get(Member, member.id).village_id == org.villages["tati"].id  # home stays
    (joined,) = audit_rows("member.join_mobile_org")
    assert joined.entity_id == member.id
    assert "向光明" in c.get(f"/branches/{ningbo.id}").get_data(as_text=True)

    leader = login("leader")
    listing = leader.get("/members/").get_data(as_text=True)
    assert "向光明" in listing and "彭昂洞" not in listing
    profile = leader.get(f"/members/{member.id}")
    assert profile.status_code == 200
    assert f"{ningbo.name}（{ningbo.location}）" in profile.get_data(as_text=True)
    assert leader.get(f"/members/{other.id}").status_code == 404
    assert leader.get(f"/branches/{ningbo.id}").status_code == 403

    response = c.post(f"/branches/{ningbo.id}/participants/{member.id}/leave", {"reason": ""})
    assert response.status_code == 422
    assert "请填写退出原因" in response.get_data(as_text=True)
    assert db.session.get(Member, member.id).mobile_org_id == ningbo.id
    response = c.post(f"/branches/{ningbo.id}/participants/{member.id}/leave", {"reason": "已回乡"})
    assert response.status_code == 303
    assert db.session.get(Member, member.id).mobile_org_id is None
    (left,) = audit_rows("member.leave_mobile_org")
    assert "已回乡" in left.after
    assert leader.get(f"/members/{member.id}").status_code == 404


def test_a_member_outside_the_officers_township_cannot_be_added(login, org, ningbo):
    c = login("township")
    response = c.post(
        f"/branches/{ningbo.id}/participants/join", {"member_id": org.members["xinmin"].id}
    )
    assert response.status_code == 404
    assert db.session.get(Member, org.members["xinmin"].id).mobile_org_id is None


def test_an_org_leader_edits_their_own_orgs_contact(login, org, ningbo):
    c = login("leader")
    assert c.get("/branches/contact").headers["Location"].endswith(f"/branches/{ningbo.id}/contact")
    response = c.post(
        f"/branches/{ningbo.id}/contact",
        {"contact_name": "龙支书", "contact_mobile": "13800138000", "publish_phone": "mobile"},
    )
    assert response.status_code == 303
    db.session.refresh(ningbo)
    assert (ningbo.contact_mobile, ningbo.publish_phone) == ("13800138000", "mobile")
    assert c.get(f"/branches/{org.villages['tati'].id}/contact").status_code == 404


def test_members_of_a_mobile_org_move_to_another_or_just_leave(login, org, ningbo):
    hangzhou = mobile_org(org.townships["迁陵镇"], "迁陵镇驻杭州流动党支部")
    a, b = org.members["tati"], org.members["angdong"]
    a.mobile_org_id = b.mobile_org_id = ningbo.id
    db.session.commit()
    c = login("township")
    response = c.post(
        f"/branches/{ningbo.id}/move",
        {
            "everyone": "chosen",
            "member_ids": a.id,
            "target_id": hangzhou.id,
            "reason": "换了工地",
            "request_id": "r-mo-move",
        },
    )
    assert response.status_code == 303
    assert db.session.get(Member, a.id).mobile_org_id == hangzhou.id
    assert db.session.get(Member, a.id).village_id == org.villages["tati"].id
    response = c.post(
        f"/branches/{ningbo.id}/move",
        {
            "everyone": "all",
            "target_id": "none",
            "reason": "组织撤销",
            "request_id": "r-mo-leave",
        },
    )
    assert response.status_code == 303
    assert db.session.get(Member, b.id).mobile_org_id is None
    assert len(audit_rows("member.move")) == 2
    # Empty, but its leader's account still belongs to it.
    response = c.post(f"/branches/{ningbo.id}/close", {"reason": "组织撤销"})
    assert response.status_code == 422
    assert "1 个启用的账户" in response.get_data(as_text=True)


def test_the_tree_counts_in_three_queries_whatever_its_size(app, org):
    for i in range(5):
        factories.village(org.townships["葫芦镇"], f"加村{i}")
    mobile_org(org.townships["迁陵镇"])
    db.session.commit()
    admin = db.session.get(User, org.users["admin"].id)  # loaded, as in a request
    seen = []

    def listener(_conn, _cursor, statement, *args):
        if statement != "BEGIN":
            seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        nodes, counts = svc.tree(admin)
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    assert len(seen) <= 3
    assert sum(len(n.villages) for n in nodes) == 8
    assert counts[org.villages["tati"].id] == 1


def test_a_township_officer_sees_only_a_count_of_other_townships_participants(login, org, ningbo):
    org.members["xinmin"].mobile_org_id = ningbo.id  # added by the county
    org.members["tati"].mobile_org_id = ningbo.id
    db.session.commit()
    page = login("township").get(f"/branches/{ningbo.id}").get_data(as_text=True)
    assert "向光明" in page and "田新民" not in page
    assert "另有 1 名其他乡镇的党员参加" in page
    assert "田新民" in login("admin").get(f"/branches/{ningbo.id}").get_data(as_text=True)


def test_every_page_of_the_tree_opens(login, org, ningbo):
    c = login("admin")
    tati, qianling = org.villages["tati"], org.townships["迁陵镇"]
    online = factories.village(qianling, "迁陵镇网络党支部")
    online.kind = ONLINE_BRANCH
    org.members["angdong"].mobile_org_id = ningbo.id
    db.session.commit()
    urls = (
        [
            "/branches/",
            "/branches/new",
            f"/branches/{qianling.id}",
            f"/branches/{qianling.id}/contact",
            f"/branches/{tati.id}/move",
            f"/branches/{tati.id}/move?next=close&page=2",
            f"/branches/{ningbo.id}/participants",
            f"/branches/{ningbo.id}/move",
            f"/branches/{ningbo.id}/close",
            f"/branches/{online.id}",
        ]
        + [f"/branches/new?kind={kind}&township={qianling.id}" for kind in svc.CREATABLE]
        + [f"/branches/{unit.id}/edit" for unit in (tati, ningbo, online)]
    )
    for url in urls:
        response = c.get(url)
        assert response.status_code == 200, url
        assert response.headers["Cache-Control"] == "no-store"
    # A township has no edit form of its own (its contact only), nor members to move.
    assert c.get(f"/branches/{qianling.id}/edit").status_code == 302
    assert c.get(f"/branches/{qianling.id}/move").status_code == 404
    assert c.get(f"/branches/{online.id}/move").status_code == 404
    # The move form names its targets with their township; the mobile org offers "none".
    page = c.get(f"/branches/{tati.id}/move").get_data(as_text=True)
    assert "昂洞村（迁陵镇）" in page and "新民村（葫芦镇）" in page
    assert 'value="none"' in c.get(f"/branches/{ningbo.id}/move").get_data(as_text=True)


def test_a_township_officer_cannot_move_another_townships_member_out_of_their_org(
    login, org, ningbo
):
    # The county let 葫芦镇's 田新民 take part in 迁陵镇's organisation at Ningbo.
    outsider = org.members["xinmin"]
    outsider.mobile_org_id = ningbo.id
    db.session.commit()
    c = login("township")
    for form in (
        {"everyone": "chosen", "member_ids": outsider.id},
        {"everyone": "all"},
    ):
        response = c.post(
            f"/branches/{ningbo.id}/move",
            {**form, "target_id": "none", "reason": "试试", "request_id": f"r-{form['everyone']}"},
        )
        assert response.status_code == 422
        assert db.session.get(Member, outsider.id).mobile_org_id == ningbo.id
    assert audit_rows("member.move") == []
