"""The phone's outbox (issue 15): its service worker, the no-signal page, the fresh CSRF token
a kept submission is sent with, and a resend that saves once. The browser side is in
tests/browser/test_care_browser.py."""

import re
from pathlib import Path

from sqlalchemy import func, select

from baojing.extensions import db
from baojing.models.care import CareVisit
from tests.test_care import open_case, visit_data

HTMX = {"HX-Request": "true"}


def _visits() -> int:
    return db.session.scalar(select(func.count()).select_from(CareVisit))


def _send_as_the_outbox(client, case_id: int, token: str, **over):
    """What outbox.js sends: the kept fields, a fresh token (field and header), HX-Request."""
    data = visit_data(**over) | {"csrf_token": token}
    return client.post(
        f"/care/cases/{case_id}/visit", data, csrf=False, content_type="multipart/form-data",
        headers=HTMX | {"X-CSRFToken": token},
    )  # fmt: skip


def test_the_service_worker_and_the_no_signal_page_are_public_and_hold_no_data(client, login, org):
    sw = client.get("/sw.js")
    assert sw.status_code == 200 and sw.mimetype == "text/javascript"
    assert sw.headers["Service-Worker-Allowed"] == "/"
    assert 'importScripts("/static/js/outbox.js")' in sw.get_data(as_text=True)
    sw.close()
    assert client.get("/offline").status_code == 200
    # Kept on the phone for whoever opens the site next: nobody's name, token or menu.
    secretary = org.users["secretary"]
    page = login("secretary").get("/offline").get_data(as_text=True)
    assert "没有网络" in page
    for private in (secretary.display_name, "csrf-token", "outbox-user", 'class="nav"'):
        assert private not in page
    assert re.search(r'src="/static/js/outbox\.js\?v=[0-9a-f]+"', page)


def test_the_token_is_the_sessions_and_an_ended_session_gets_401(client, login, org):
    assert client.get("/outbox/token", headers=HTMX).status_code == 401
    c = login("secretary")
    answer = c.get("/outbox/token", headers=HTMX).get_json()
    assert answer["user"] == org.users["secretary"].id and answer["csrf_token"]


def test_a_kept_visit_is_sent_with_a_fresh_token_after_a_new_login(login, org):
    """The token the form carried died with its session; the one fetched before sending works."""
    case = open_case(org, "tati")
    c = login("secretary")
    stale = c.csrf()
    c.logout()
    c.login(org.users["secretary"].username)
    refused = _send_as_the_outbox(c, case.id, stale)
    assert refused.status_code == 400 and _visits() == 0
    fresh = c.get("/outbox/token", headers=HTMX).get_json()["csrf_token"]
    sent = _send_as_the_outbox(c, case.id, fresh)
    assert sent.status_code == 200 and sent.headers["HX-Redirect"] == f"/care/cases/{case.id}"
    assert _visits() == 1


def test_a_resend_after_a_lost_answer_saves_once(login, org):
    """The first send was saved but its answer never reached the phone; the outbox sends it
    again with the same key: the same answer, one visit."""
    case = open_case(org, "tati")
    c = login("secretary")
    token = c.get("/outbox/token", headers=HTMX).get_json()["csrf_token"]
    first = _send_as_the_outbox(c, case.id, token)
    again = _send_as_the_outbox(c, case.id, token)
    assert (first.status_code, again.status_code) == (200, 200)
    assert first.headers["HX-Redirect"] == again.headers["HX-Redirect"]
    assert _visits() == 1
    # A refusal is a 4xx the outbox keeps for the person to see, never a silent drop.
    assert _send_as_the_outbox(c, case.id, token, findings="改了").status_code == 409


def test_the_outbox_never_keeps_a_token_a_password_or_an_id_number(app):
    js = (Path(app.static_folder) / "js" / "outbox.js").read_text(encoding="utf-8")
    never = re.search(r"const NEVER = \{(.*?)\};", js, re.S).group(1)
    for name in ("csrf_token", "password", "current_password", "new_password", "id_number"):
        assert f"{name}: 1" in never, name
