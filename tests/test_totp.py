"""Two-step verification (TOTP) for county and township admins (SECURITY.md item 5)."""

import re
import time

import pyotp
from sqlalchemy import select

from baojing.extensions import db
from baojing.models import AuditEntry, User, UserSession


def enrol(client, username="admin") -> str:
    """Walk a logged-in admin through enrolment; return the secret."""
    assert client.post("/account/totp", {"action": "start"}).status_code == 302
    page = client.get("/account/totp").get_data(as_text=True)
    assert 'src="data:image/svg+xml' in page
    secret = re.search(r'class="full-id">([A-Z2-7]+)<', page).group(1)
    assert client.post("/account/totp", {"code": "000000"}).status_code in (422,)
    response = client.post("/account/totp", {"code": pyotp.TOTP(secret).now()})
    assert response.status_code == 302
    return secret


def test_enrol_then_log_in_with_a_code(login, org, new_client):
    secret = enrol(login("admin"))
    user = db.session.scalar(select(User).where(User.username == "admin"))
    assert user.totp_enabled and user.totp_secret == secret and user.totp_pending_secret is None

    c = new_client()
    response = c.login("admin")
    assert response.headers["Location"].endswith("/login/totp")
    assert c.get("/members/").status_code == 302  # no session before the code
    sessions = db.session.scalars(select(UserSession).where(UserSession.user_id == user.id)).all()
    assert len(sessions) == 1  # only the enrolling browser's: the password alone opened none
    c._token = None
    response = c.post("/login/totp", {"code": "123456"})
    assert response.status_code == 401
    assert "验证码不正确" in response.get_data(as_text=True)
    # Skip the step the enrolment used, so that this code is a fresh one.
    code = pyotp.TOTP(secret).at(time.time() + 30)
    response = c.post("/login/totp", {"code": code})
    assert response.status_code == 302
    assert c.get("/admin/users").status_code == 200


def test_a_code_works_once(login, org, new_client):
    secret = enrol(login("admin"))
    code = pyotp.TOTP(secret).at(time.time() + 30)
    first, second = new_client(), new_client()
    first.login("admin")
    second.login("admin")
    first._token = second._token = None
    assert first.post("/login/totp", {"code": code}).status_code == 302
    assert second.post("/login/totp", {"code": code}).status_code == 401


def test_wrong_codes_count_towards_the_lockout(login, org, new_client):
    enrol(login("admin"))
    c = new_client()
    c.login("admin")
    c._token = None
    statuses = [c.post("/login/totp", {"code": "000001"}).status_code for _ in range(10)]
    assert statuses[-1] == 429 and set(statuses[:-1]) == {401}
    outcomes = db.session.scalars(
        select(AuditEntry.outcome).where(AuditEntry.action == "auth.totp")
    ).all()
    assert "locked_now" in outcomes


def test_the_pending_step_expires(app, login, org, new_client):
    enrol(login("admin"))
    app.config["TOTP_PENDING_SECONDS"] = -1
    c = new_client()
    c.login("admin")
    response = c.get("/login/totp")
    assert response.headers["Location"].endswith("/login")


def test_without_a_pending_password_the_code_page_sends_back_to_login(client, org):
    assert client.get("/login/totp").headers["Location"].endswith("/login")


def test_admin_resets_a_lost_phone(login, org, new_client):
    township = login("township")
    enrol(township)
    admin = login("admin")
    response = admin.post(f"/admin/users/{org.users['township'].id}/reset-totp")
    assert response.status_code == 302
    user = db.session.get(User, org.users["township"].id)
    assert not user.totp_enabled and user.totp_secret is None
    assert township.get("/members/").status_code == 302  # logged out everywhere
    assert new_client().login("township").headers["Location"] == "/"


def test_required_roles_must_enrol_first(app, login, org):
    app.config["TOTP_REQUIRED_ROLES"] = ("county_admin",)
    admin = login("admin")
    assert admin.get("/members/").headers["Location"].endswith("/account/totp")
    enrol(admin)
    assert admin.get("/members/").status_code == 200


def test_only_admin_roles_may_enrol(login, org):
    for who in ("secretary", "member", "clerk"):
        assert login(who).get("/account/totp").status_code == 404


def test_a_get_never_creates_a_secret(login, org):
    admin = login("admin")
    page = admin.get("/account/totp").get_data(as_text=True)
    assert "开始设置" in page
    assert db.session.get(User, org.users["admin"].id).totp_pending_secret is None


def test_password_is_still_checked_first(login, org, new_client):
    enrol(login("admin"))
    response = new_client().login("admin", "not the right password")
    assert response.status_code == 401
    assert "/login/totp" not in response.headers.get("Location", "")


def test_account_page_links_to_two_step_setup_in_the_page_not_the_title(login, org):
    page = login("admin").get("/account/password").get_data(as_text=True)
    title = re.search(r"<title>(.*?)</title>", page, re.S).group(1)
    assert title == "修改密码 · 保靖流动党员之家"
    assert "两步验证" in page and 'href="/account/totp"' in page
