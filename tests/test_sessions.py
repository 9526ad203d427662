"""The cookie session is Flask's own signed cookie: tampered, aged or re-keyed, it is empty.

(Who is logged in lives server-side, in user_sessions; the cookie only names the row.)
"""

import time

from flask import flash, get_flashed_messages, request, session
from flask.sessions import SecureCookieSessionInterface


def cookie_for(app, data: dict) -> str:
    serializer = app.session_interface.get_signing_serializer(app)
    return serializer.dumps(data)


def open_with(app, cookie: str):
    name = app.config["SESSION_COOKIE_NAME"]
    with app.test_request_context(headers={"Cookie": f"{name}={cookie}"}):
        return app.session_interface.open_session(app, request)


def test_the_session_is_flasks_own_signed_cookie(app):
    # No cache of verified cookies in front of it (issue 14): itsdangerous checks each one.
    assert type(app.session_interface) is SecureCookieSessionInterface
    cookie = cookie_for(app, {"_user_id": "token", "_fresh": True})
    first = open_with(app, cookie)
    first["_user_id"] = "changed by this request"
    again = open_with(app, cookie)
    assert again["_user_id"] == "token" and not again.modified


def test_a_tampered_or_foreign_cookie_is_an_empty_session(app):
    cookie = cookie_for(app, {"_user_id": "token"})
    assert dict(open_with(app, cookie[:-2] + ("AA" if not cookie.endswith("AA") else "BB"))) == {}
    payload, _, _ = cookie.rpartition(".")
    assert dict(open_with(app, payload + ".forged")) == {}


def test_a_cookie_ages_out(app, monkeypatch):
    cookie = cookie_for(app, {"_user_id": "token"})
    assert open_with(app, cookie)["_user_id"] == "token"
    lifetime = app.permanent_session_lifetime.total_seconds()
    later = time.time() + lifetime + 5
    monkeypatch.setattr(time, "time", lambda: later)
    assert dict(open_with(app, cookie)) == {}


def test_flashed_messages_are_not_shared_between_requests(app):
    with app.test_request_context():
        flash("已保存", "success")
        cookie = cookie_for(app, dict(session))
    for _ in range(2):
        name = app.config["SESSION_COOKIE_NAME"]
        with app.test_request_context(headers={"Cookie": f"{name}={cookie}"}):
            flash("又一条")  # Flask appends to the session's list in place
            assert get_flashed_messages() == ["已保存", "又一条"]


def test_a_new_secret_key_ends_every_cookie(app):
    cookie = cookie_for(app, {"_user_id": "token"})
    assert open_with(app, cookie)["_user_id"] == "token"
    app.secret_key = "a-rotated-secret-key-0123456789abcdef"
    assert dict(open_with(app, cookie)) == {}


def test_a_cookie_signed_with_a_retired_key_stops_working_once_the_key_goes(app):
    old_secret = app.secret_key
    cookie = cookie_for(app, {"_user_id": "token"})
    app.secret_key = "a-new-secret-key-0123456789abcdef"
    app.config["SECRET_KEY_FALLBACKS"] = [old_secret]
    assert open_with(app, cookie)["_user_id"] == "token"  # still valid
    app.config["SECRET_KEY_FALLBACKS"] = []
    assert dict(open_with(app, cookie)) == {}
