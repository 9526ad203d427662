"""County admin: accounts (create, scope, reset, disable), the org tree, the audit log."""

import json
import re
from urllib.parse import unquote

from sqlalchemy import select

from baojing.extensions import db
from baojing.models import AuditEntry, User
from tests.conftest import login_long_ago


def test_create_a_secretary_with_a_single_use_password(login, org, new_client):
    admin = login("admin")
    response = admin.post(
        "/admin/users/new",
        {
            "username": "angdong-sec",
            "display_name": "昂洞村书记",
            "role": "village_secretary",
            "org_unit_id": org.villages["angdong"].id,
        },
    )
    assert response.status_code == 200
    password = re.search(r'class="full-id">([^<]+)<', response.get_data(as_text=True)).group(1)
    user = db.session.scalar(select(User).where(User.username == "angdong-sec"))
    assert user.must_change_password and user.org_unit_id == org.villages["angdong"].id
    c = new_client()
    assert c.login("angdong-sec", password).headers["Location"].endswith("/account/password")
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "user.create"))
    assert json.loads(entry.after)["role"] == "village_secretary"
    assert password not in (entry.after or "")


def test_role_needs_a_matching_scope(login, org):
    admin = login("admin")
    response = admin.post(
        "/admin/users/new",
        {
            "username": "bad-scope",
            "display_name": "x",
            "role": "village_secretary",
            "org_unit_id": org.townships["迁陵镇"].id,
        },
    )
    assert response.status_code == 422
    assert "须指定所在村" in response.get_data(as_text=True)
    assert db.session.scalar(select(User).where(User.username == "bad-scope")) is None


def test_duplicate_username_and_bad_characters(login, org):
    admin = login("admin")
    for username, message in (("secretary", "已被使用"), ("张三丰", "只能用字母"), ("ab", "3–40")):
        response = admin.post(
            "/admin/users/new",
            {"username": username, "display_name": "x", "role": "clerk", "org_unit_id": 0},
        )
        assert response.status_code == 422
        assert message in response.get_data(as_text=True)


def test_changing_a_role_logs_the_user_out(login, org):
    victim = login("secretary")
    admin = login("admin")
    response = admin.post(
        f"/admin/users/{org.users['secretary'].id}",
        {
            "display_name": "踏梯村书记",
            "role": "township_officer",
            "org_unit_id": org.townships["迁陵镇"].id,
        },
    )
    assert response.status_code == 302
    assert db.session.get(User, org.users["secretary"].id).role == "township_officer"
    assert victim.get("/members/").status_code == 302
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "user.update"))
    assert json.loads(entry.before)["role"] == "village_secretary"


def test_privileged_changes_ask_for_the_password_again(login, org):
    admin = login("admin")
    login_long_ago(org.users["admin"].id)
    response = admin.get("/admin/users/new")
    assert "/reauth" in response.headers["Location"]
    assert (
        admin.post("/reauth?next=/admin/users/new", {"password": "wrong one entirely"}).status_code
        == 401
    )
    response = admin.post(
        "/reauth?next=/admin/users/new", {"password": "correct horse battery staple"}
    )
    assert response.headers["Location"] == "/admin/users/new"
    assert admin.get("/admin/users/new").status_code == 200


def test_admin_cannot_disable_themself(login, org):
    admin = login("admin")
    admin.post(f"/admin/users/{org.users['admin'].id}/active", {"active": "0"})
    assert db.session.get(User, org.users["admin"].id).active


def test_user_list_and_unknown_user(login, org):
    admin = login("admin")
    page = admin.get("/admin/users?role=village_secretary").get_data(as_text=True)
    assert "secretary2" in page and ">clerk<" not in page
    assert admin.get("/admin/users/9999").status_code == 404


def test_audit_log_browsing(login, org):
    login("secretary")
    admin = login("admin")
    page = admin.get("/admin/audit?action=auth.login&username=secretary").get_data(as_text=True)
    assert "登录" in page and "secretary" in page and "村党支部书记" in page
    page = admin.get("/admin/audit?username=nobody").get_data(as_text=True)
    assert "没有记录" in page


def test_audit_log_pages_by_id(login, org, app):
    app.config["AUDIT_PER_PAGE"] = 2
    for _ in range(4):
        login("secretary")
    admin = login("admin")  # five logins in all: pages of 2, 2 and 1
    first = admin.get("/admin/audit").get_data(as_text=True)
    link = re.search(r'href="(/admin/audit\?before=\d+)"', first).group(1)
    second = admin.get(link).get_data(as_text=True)
    assert "更早的记录" in second


def test_org_tree(login, org):
    page = login("admin").get("/branches/").get_data(as_text=True)
    for name in ("迁陵镇党委", "葫芦镇党委", "踏梯村党支部", "新民村党支部"):
        assert name in page
    township_page = login("township").get("/branches/").get_data(as_text=True)
    assert "踏梯村党支部" in township_page and "新民村党支部" not in township_page


def test_reauth_after_a_post_returns_to_the_form(login, org):
    admin = login("admin")
    login_long_ago(org.users["admin"].id)
    back = f"/admin/users/{org.users['secretary'].id}"
    response = admin.post(f"{back}/reset-password", headers={"Referer": f"http://localhost{back}"})
    assert unquote(response.headers["Location"]) == f"/reauth?next={back}"
    response = admin.post(
        response.headers["Location"], {"password": "correct horse battery staple"}
    )
    assert response.headers["Location"] == back
    assert admin.get(back).status_code == 200


def test_linking_a_member_who_has_an_account_is_refused(login, org):
    admin = login("admin")
    response = admin.post(
        f"/admin/users/{org.users['clerk'].id}",
        {
            "display_name": "x",
            "role": "member",
            "org_unit_id": 0,
            "member_id": org.members["tati"].id,
        },
    )
    assert response.status_code == 422
    assert "该党员已有账户" in response.get_data(as_text=True)


def test_member_account_opened_from_the_profile(login, org):
    admin = login("admin")
    profile = admin.get(f"/members/{org.members['angdong'].id}").get_data(as_text=True)
    link = re.search(r'href="(/admin/users/new\?member=\d+)">开通党员账户', profile).group(1)
    form = admin.get(link).get_data(as_text=True)
    assert f'value="{org.members["angdong"].id}"' in form
    response = admin.post(
        link,
        {"username": "pengangdong", "display_name": "彭昂洞", "role": "member", "org_unit_id": 0,
         "member_id": org.members["angdong"].id},
    )  # fmt: skip
    assert response.status_code == 200
    user = db.session.scalar(select(User).where(User.username == "pengangdong"))
    assert user.member_id == org.members["angdong"].id
    assert user.org_unit_id == org.villages["angdong"].id


def test_account_actions_need_the_csrf_token(login, org):
    admin = login("admin")
    before = db.session.get(User, org.users["secretary"].id).password_hash
    for action in ("reset-password", "active", "unlock", "reset-totp"):
        response = admin.post(
            f"/admin/users/{org.users['secretary'].id}/{action}", {"active": "0"}, csrf=False
        )
        assert response.status_code == 400, action
    user = db.session.get(User, org.users["secretary"].id)
    assert user.password_hash == before and user.active
