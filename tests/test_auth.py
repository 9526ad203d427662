"""Login, lockout, server-side sessions, password policy, CSRF and security headers."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select, text

from baojing import security
from baojing.extensions import db
from baojing.models import AuditEntry, LoginFailure, User, UserSession
from baojing.models.types import utcnow
from tests.conftest import PASSWORD


def audit_actions(outcome=None):
    stmt = select(AuditEntry.action, AuditEntry.outcome).order_by(AuditEntry.id)
    return [(a, o) for a, o in db.session.execute(stmt) if outcome is None or o == outcome]


def test_login_then_logout(client, org):
    response = client.login("secretary")
    assert response.status_code == 302
    assert client.get("/members/").status_code == 200
    client.logout()
    response = client.get("/members/")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]
    assert ("auth.login", "ok") in audit_actions()
    assert ("auth.logout", "ok") in audit_actions()


def test_wrong_password_is_refused_and_audited(client, org):
    response = client.login("secretary", "not the password at all")
    assert response.status_code == 401
    assert "用户名或密码错误" in response.get_data(as_text=True)
    assert ("auth.login", "bad_password") in audit_actions()


def test_unknown_user_gets_the_same_message(client, org):
    response = client.login("nobody-here", PASSWORD)
    assert response.status_code == 401
    assert "用户名或密码错误" in response.get_data(as_text=True)


def test_empty_login_form_gets_field_messages(client, org):
    response = client.post("/login", {"username": "", "password": ""})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "请填写用户名" in page and "请填写密码" in page


def test_replayed_cookie_is_dead_after_logout(app, org, new_client):
    """Stock Flask keeps accepting a captured cookie; ours is backed by a session record."""
    c = new_client()
    c.login("secretary")
    stolen = c.get_cookie("baojing_session").value
    c.logout()
    thief = new_client()
    thief.set_cookie("baojing_session", stolen)
    response = thief.get("/members/")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_cookie_from_before_login_does_not_authenticate(app, org, new_client):
    c = new_client()
    c.get("/login")
    before = c.get_cookie("baojing_session")
    c.login("secretary")
    after = c.get_cookie("baojing_session").value
    assert before is None or before.value != after
    session_rows = db.session.scalar(select(func.count()).select_from(UserSession))
    assert session_rows == 1


def test_password_change_ends_other_sessions(app, org, new_client):
    phone = new_client()
    desk = new_client()
    phone.login("secretary")
    desk.login("secretary")
    response = desk.change_password(PASSWORD, "my village has three osmanthus trees")
    assert response.status_code == 302
    assert desk.get("/members/").status_code == 200  # the changer keeps working, on a new session
    assert phone.get("/members/").status_code == 302  # the other device is logged out
    fresh = new_client()
    assert fresh.login("secretary", "my village has three osmanthus trees").status_code == 302


def test_disabling_a_user_kills_their_session(app, org, login, new_client):
    victim = login("secretary")
    admin = login("admin")
    response = admin.post(f"/admin/users/{org.users['secretary'].id}/active", {"active": "0"})
    assert response.status_code == 302
    assert victim.get("/members/").status_code == 302
    assert new_client().login("secretary").status_code == 403


def test_lockout_after_ten_failures_holds_even_for_the_right_password(client, org):
    for _ in range(9):
        assert client.login("secretary", "wrong password number x").status_code == 401
    response = client.login("secretary", "wrong password number x")
    assert response.status_code == 429
    assert "锁定" in response.get_data(as_text=True)
    response = client.login("secretary", PASSWORD)
    assert response.status_code == 429
    assert "锁定" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(LoginFailure)) == 10
    assert ("auth.login", "locked_now") in audit_actions()
    assert ("auth.login", "locked") in audit_actions()


def test_lock_counts_in_the_database_not_in_a_process(app, org, new_client):
    """Failures from different clients (different server processes) add up."""
    for _ in range(10):
        new_client().login("secretary", "wrong password from elsewhere")
    assert new_client().login("secretary").status_code == 429


def test_lock_expires(client, org):
    user = db.session.get(User, org.users["secretary"].id)
    user.locked_until = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert client.login("secretary").status_code == 302


def test_old_failures_fall_out_of_the_window(app, org, new_client):
    user = db.session.get(User, org.users["secretary"].id)
    long_ago = utcnow() - timedelta(minutes=16)
    db.session.add_all([LoginFailure(user_id=user.id, at=long_ago) for _ in range(9)])
    db.session.commit()
    c = new_client()
    assert c.login("secretary", "one more wrong password").status_code == 401


def test_admin_unlocks(app, org, login, new_client):
    for _ in range(10):
        new_client().login("secretary", "wrong password again and again")
    admin = login("admin")
    response = admin.post(f"/admin/users/{org.users['secretary'].id}/unlock")
    assert response.status_code == 302
    assert new_client().login("secretary").status_code == 302
    assert ("user.unlock", "ok") in audit_actions()


def test_other_accounts_still_work_during_a_lock(app, org, new_client):
    for _ in range(12):
        new_client().login("secretary", "attack attack attack")
    assert new_client().login("secretary2").status_code == 302


def test_idle_timeout(app, org, new_client):
    c = new_client()
    c.login("secretary")
    row = db.session.scalar(select(UserSession))
    row.last_seen_at = utcnow() - timedelta(minutes=31)
    db.session.commit()
    response = c.get("/members/")
    assert response.status_code == 302
    follow = c.get(response.headers["Location"]).get_data(as_text=True)
    assert "登录已超时" in follow
    db.session.refresh(row)
    assert row.end_reason == "idle"


def test_absolute_timeout(app, org, new_client):
    c = new_client()
    c.login("secretary")
    row = db.session.scalar(select(UserSession))
    row.created_at = utcnow() - timedelta(hours=13)
    db.session.commit()
    assert c.get("/members/").status_code == 302


def test_idle_timeout_is_a_setting(app, org, new_client):
    app.config["SESSION_IDLE_MINUTES"] = 60
    c = new_client()
    c.login("secretary")
    row = db.session.scalar(select(UserSession))
    row.last_seen_at = utcnow() - timedelta(minutes=31)
    db.session.commit()
    assert c.get("/members/").status_code == 200


def test_session_cookie_flags(client, org):
    response = client.login("secretary")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_secure_cookie_when_configured(app, org, new_client):
    app.config["SESSION_COOKIE_SECURE"] = True
    response = new_client().login("secretary")
    assert "Secure" in response.headers["Set-Cookie"]


def test_post_without_csrf_token_is_refused(client, org):
    response = client.post("/login", {"username": "secretary", "password": PASSWORD}, csrf=False)
    assert response.status_code == 400
    assert db.session.scalar(select(func.count()).select_from(UserSession)) == 0


def test_expired_csrf_token_keeps_what_was_typed(login, org):
    c = login("secretary")
    member = org.members["tati"]
    response = c.post(
        f"/members/{member.id}/contact",
        {
            "csrf_token": "stale-token",
            "contacted_on": "2026-01-05",
            "channel": "电话",
            "note": "在宁波工地",
        },
        headers={"Sec-Fetch-Site": "same-origin"},
    )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "页面已过期" in page
    assert 'value="在宁波工地"' in page  # re-submit form keeps the text
    assert "stale-token" not in page


def test_htmx_requests_need_the_token_too(login, org):
    c = login("secretary")
    response = c.post(
        f"/members/{org.members['tati'].id}/reveal-id", csrf=False, headers={"HX-Request": "true"}
    )
    assert response.status_code == 400
    response = c.post(
        f"/members/{org.members['tati'].id}/reveal-id",
        csrf=False,
        headers={"HX-Request": "true", "X-CSRFToken": c.csrf()},
    )
    assert response.status_code == 200


def test_security_headers_on_pages(client, org):
    response = client.get("/login")
    h = response.headers
    assert "default-src 'self'" in h["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in h["Content-Security-Policy"]
    assert "unsafe-inline" not in h["Content-Security-Policy"]
    assert h["X-Content-Type-Options"] == "nosniff"
    assert h["Referrer-Policy"] == "same-origin"
    assert h["Cache-Control"] == "no-store"


def test_pages_contain_no_inline_script(login, org):
    c = login("secretary")
    for url in ("/", "/members/", f"/members/{org.members['tati'].id}", "/members/new"):
        page = c.get(url).get_data(as_text=True)
        assert "<script>" not in page and "onclick=" not in page and "style=" not in page, url


def test_static_files_are_cacheable(client):
    response = client.get("/static/css/app.css")
    response.close()
    assert response.status_code == 200
    assert "no-store" not in response.headers.get("Cache-Control", "")
    assert "max-age=31536000" in response.headers.get("Cache-Control", "")


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_admin_issued_password_must_be_changed(app, org, login, new_client):
    admin = login("admin")
    response = admin.post(f"/admin/users/{org.users['secretary'].id}/reset-password")
    assert response.status_code == 200
    import re

    issued = re.search(r'class="full-id">([^<]+)<', response.get_data(as_text=True)).group(1)
    c = new_client()
    response = c.login("secretary", issued)
    assert response.headers["Location"].endswith("/account/password")
    assert c.get("/members/").headers["Location"].endswith("/account/password")
    response = c.change_password(issued, "a long walk up the hill")
    assert response.status_code == 302
    assert c.get("/members/").status_code == 200


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("short", "至少"),
        ("桂花树", "至少"),
        ("Baojing2020!!", "容易猜到"),
        ("baojing-party-2020", "容易猜到"),
        ("qwertyuiop12", "太常见"),
        ("aaaaaaaaaaaaaa", "太常见"),
    ],
)
def test_password_policy_refuses(app, password, message):
    from baojing.validators import InvalidValue

    with pytest.raises(InvalidValue, match=message):
        security.check_password_policy(password)


def test_password_policy_accepts_a_long_passphrase(app):
    assert security.check_password_policy("我家门口有三棵桂花树") == "我家门口有三棵桂花树"
    assert security.check_password_policy("correct horse battery staple")


def test_dengbao_policy_is_a_setting(app):
    from baojing.validators import InvalidValue

    app.config["PASSWORD_MIN_CLASSES"] = 3
    with pytest.raises(InvalidValue, match="至少 3 类"):
        security.check_password_policy("all lower case words here")
    assert security.check_password_policy("Mixed Case words 42")


def test_password_max_age_forces_a_change(app, org, client):
    app.config["PASSWORD_MAX_AGE_DAYS"] = 90
    user = db.session.get(User, org.users["secretary"].id)
    user.password_changed_at = utcnow() - timedelta(days=91)
    db.session.commit()
    client.login("secretary")
    assert client.get("/members/").headers["Location"].endswith("/account/password")


def test_hashes_are_argon2id(app, org):
    assert db.session.get(User, org.users["secretary"].id).password_hash.startswith("$argon2id$")


def test_change_password_rejects_wrong_current(login, org):
    c = login("secretary")
    response = c.change_password("wrong current pass", "a long walk up the hill")
    assert response.status_code == 401
    assert "当前密码不正确" in response.get_data(as_text=True)
    assert ("user.change_password", "bad_password") in audit_actions()


def test_guessing_on_the_change_password_page_locks_the_account(login, org):
    """An unattended phone with a live session is not a password-guessing machine."""
    c = login("secretary")
    for _ in range(9):
        assert c.change_password("a guess at it", "a long walk up the hill").status_code == 401
    response = c.change_password("a guess at it", "a long walk up the hill")
    assert response.headers["Location"].endswith("/login")
    secretary = db.session.get(User, org.users["secretary"].id)
    assert secretary.locked_until is not None
    assert c.get("/members/").status_code == 302  # the lock ended the session
    assert ("user.change_password", "locked_now") in audit_actions()


def test_a_locked_account_cannot_change_its_password_even_with_the_right_one(
    login, org, new_client
):
    c = login("secretary")
    for _ in range(10):  # someone guesses at the login page meanwhile
        new_client().login("secretary", "somebody else's guess")
    before = db.session.get(User, org.users["secretary"].id).password_hash
    response = c.change_password(PASSWORD, "a long walk up the hill")
    assert response.status_code == 429
    assert "账户已临时锁定" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, org.users["secretary"].id).password_hash == before
    assert ("user.change_password", "locked") in audit_actions()


def test_a_disabled_account_is_told_so_whatever_the_password(client, org):
    """The answer must not differ with the password, or it would confirm a guess."""
    secretary = db.session.get(User, org.users["secretary"].id)
    secretary.active = False
    db.session.commit()
    right = client.login("secretary")
    wrong = client.login("secretary", "not the password at all")
    assert right.status_code == wrong.status_code == 403
    for response in (right, wrong):
        page = response.get_data(as_text=True)
        assert "该账户已停用" in page and "用户名或密码错误" not in page
    assert db.session.scalar(select(func.count()).select_from(LoginFailure)) == 0


def test_next_parameter_cannot_leave_the_site(client, org):
    client.get("/login")
    response = client.post(
        "/login?next=//evil.example/x", {"username": "secretary", "password": PASSWORD}
    )
    assert response.headers["Location"] == "/"


def test_a_write_after_a_minute_of_reading_does_not_deadlock(login, org):
    """The once-a-minute session touch must not wait for the request's own write lock."""
    import time as _time

    c = login("secretary")
    c.csrf()  # fetched now: fetching it later would be a GET, which touches the session
    row = db.session.scalar(select(UserSession))
    row.last_seen_at = utcnow() - timedelta(minutes=2)
    db.session.commit()
    started = _time.monotonic()
    response = c.post(
        f"/members/{org.members['tati'].id}/contact",
        {"contacted_on": "2026-01-05", "channel": "电话", "request_id": "after-a-minute"},
    )
    assert response.status_code == 302
    assert _time.monotonic() - started < 2
    db.session.refresh(row)
    assert utcnow() - row.last_seen_at < timedelta(seconds=30)
    # Logout in the same situation ends the session.
    row.last_seen_at = utcnow() - timedelta(minutes=2)
    db.session.commit()
    started = _time.monotonic()
    assert c.post("/logout").status_code == 302
    assert _time.monotonic() - started < 2
    db.session.refresh(row)
    assert row.end_reason == "logout"


@pytest.mark.parametrize(
    "target", ["/%09/evil.example", "/%0a/evil.example", "/\\evil.example", "https://evil.example/"]
)
def test_next_with_control_characters_stays_home(client, org, target):
    client.get("/login")
    response = client.post(f"/login?next={target}", {"username": "secretary", "password": PASSWORD})
    assert response.headers["Location"] == "/"


def test_database_errors_do_not_log_personal_data(server, login, org, caplog):
    """SQLAlchemy's error text carries bound values unless told not to (hide_parameters)."""
    with server.app_context():
        assert db.engine.hide_parameters
    trigger = "CREATE TRIGGER fail_insert BEFORE INSERT ON members " + (
        "FOR EACH ROW EXECUTE FUNCTION baojing_refuse('disk trouble')"
        if db.engine.dialect.name == "postgresql"
        else "BEGIN SELECT RAISE(ABORT, 'disk trouble'); END"
    )
    db.session.execute(text(trigger))
    db.session.commit()
    c = login("secretary")
    response = c.post(
        "/members/new",
        {
            "village_id": org.villages["tati"].id,
            "name": "出错",
            "ethnicity": "苗族",
            "id_number": "11010519491231002X",
            "phone": "13900004444",
            "join_date": "1980-07-01",
            "membership": "full",
            "request_id": "boom",
        },  # fmt: skip
    )
    assert response.status_code == 500
    assert "disk trouble" in caplog.text
    assert "11010519491231002X" not in caplog.text and "13900004444" not in caplog.text


def test_reauth_failures_count_and_lock(login, org, new_client):
    c = login("admin")
    for _ in range(9):
        assert c.post("/reauth", {"password": "wrong wrong wrong"}).status_code == 401
    response = c.post("/reauth", {"password": "wrong wrong wrong"})
    assert response.headers["Location"].endswith("/login")
    assert db.session.get(User, org.users["admin"].id).locked_until is not None
    assert c.get("/admin/users").status_code == 302  # the session ended with the lock
    assert ("auth.reauth", "locked_now") in audit_actions()


def test_logging_in_over_a_live_session_ends_it(app, org, new_client):
    c = new_client()
    c.login("secretary")
    old = c.get_cookie("baojing_session").value
    c.login("secretary2")
    replay = new_client()
    replay.set_cookie("baojing_session", old)
    assert replay.get("/members/").status_code == 302
    reasons = db.session.scalars(select(UserSession.end_reason)).all()
    assert "relogin" in reasons


def test_csrf_failure_from_another_site_echoes_nothing(login, org):
    c = login("secretary")
    response = c.post(
        f"/members/{org.members['tati'].id}/contact",
        {"csrf_token": "forged", "note": "来自别的网站"},
        headers={"Sec-Fetch-Site": "cross-site"},
    )
    assert response.status_code == 400
    assert "来自别的网站" not in response.get_data(as_text=True)
    assert "重新提交" not in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("headers", "ours"),
    [
        ({}, False),  # nothing says where it came from
        ({"Origin": "https://evil.example"}, False),
        ({"Referer": "https://evil.example/form"}, False),
        ({"Origin": "http://localhost"}, True),  # an older browser on our own page
        ({"Referer": "http://localhost/members/"}, True),
        ({"Sec-Fetch-Site": "same-site", "Origin": "http://localhost"}, False),
    ],
)
def test_csrf_resubmit_is_offered_only_to_our_own_pages(login, org, headers, ours):
    c = login("secretary")
    response = c.post(
        f"/members/{org.members['tati'].id}/contact",
        {"csrf_token": "stale", "note": "在宁波工地"},
        headers=headers,
    )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert ("在宁波工地" in page) == ours and ("重新提交" in page) == ours


def test_csrf_resubmit_keeps_the_query_string(login, org):
    c = login("township")
    response = c.post(
        f"/members/liaisons?village={org.villages['angdong'].id}",
        {"csrf_token": "stale", "action": "add", "add-name": "新人"},
        headers={"Sec-Fetch-Site": "same-origin"},
    )
    assert response.status_code == 400
    assert f'action="/members/liaisons?village={org.villages["angdong"].id}"' in response.get_data(
        as_text=True
    )


def test_lock_starts_a_fresh_count(app, client, org):
    app.config["LOGIN_LOCK_MINUTES"] = 1  # shorter than the 15-minute window
    for _ in range(10):
        client.login("secretary", "wrong wrong wrong")
    user = db.session.get(User, org.users["secretary"].id)
    user.locked_until = utcnow() - timedelta(seconds=1)  # the lock has run out
    db.session.commit()
    assert client.login("secretary", "one more wrong").status_code == 401  # not locked again


def test_login_page_clears_drafts_in_the_browser(client):
    page = client.get("/login").get_data(as_text=True)
    assert "data-clear-all-drafts" in page
    script = client.get("/static/js/app.js")
    js = script.get_data(as_text=True)
    script.close()
    assert "id_number: 1" in js  # an ID number is never kept in a draft
