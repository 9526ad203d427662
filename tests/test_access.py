"""Default deny for anonymous users, and the role × object matrix (SECURITY.md items 11–13)."""

import pytest
from sqlalchemy import func, select

from baojing.extensions import db
from baojing.models import AccessDenial, AuditEntry, ContactLog, Member, RegistrationVisit

PUBLIC = {
    "auth.login",
    "main.healthz",
    "static",
    "verify.show",
    "verify.lookup",
    "contacts.index",
    "outbox.service_worker",
    "outbox.offline",
}  # SECURITY.md items 11 and 37


def test_every_endpoint_refuses_anonymous_users(server, client, org):
    checked = 0
    for rule in server.url_map.iter_rules():
        if rule.endpoint in PUBLIC:
            continue
        url = rule.build({arg: 1 for arg in rule.arguments}, append_unknown=False)[1]
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            if method == "GET":
                response = client.get(url)
            else:
                response = client.post(url, {})
            assert response.status_code in (302, 401), f"{method} {url}: {response.status_code}"
            if response.status_code == 302:
                assert "/login" in response.headers["Location"], url
            checked += 1
    assert checked >= 15


def test_public_endpoints_answer_anonymous_users(client, org):
    """The few public pages open without a login and show no menu (SECURITY.md item 37)."""
    for url in ("/login", "/verify/", "/contacts"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert 'class="nav"' not in response.get_data(as_text=True), url


def test_htmx_request_from_an_expired_session_reloads_to_login(client, org):
    response = client.get("/members/?q=x", headers={"HX-Request": "true"})
    assert response.status_code == 401
    assert response.headers["HX-Redirect"].startswith("/login")


# What each role may do with the member of 踏梯村 (secretary's village).
MEMBER_URLS = [
    ("GET", "/members/{id}"),
    ("GET", "/members/{id}/edit"),
    ("POST", "/members/{id}/edit"),
    ("GET", "/members/{id}/visit"),
    ("POST", "/members/{id}/visit"),
    ("POST", "/members/{id}/contact"),
    ("POST", "/members/{id}/reveal-id"),
    ("POST", "/members/{id}/liaison"),
    ("GET", "/members/{id}/contact-info"),
]


@pytest.mark.parametrize("method,url", MEMBER_URLS)
@pytest.mark.parametrize("who", ["secretary2", "clerk"])
def test_other_scopes_get_404_and_write_nothing(login, org, who, method, url):
    c = login(who)
    target = url.format(id=org.members["tati"].id)
    before = db.session.scalar(select(func.count()).select_from(AuditEntry))
    if method == "GET":
        response = c.get(target)
    else:
        response = c.post(
            target,
            {
                "name": "篡改",
                "phone": "13900000000",
                "visited_on": "2026-01-01",
                "items": "identity",
                "contacted_on": "2026-01-01",
                "channel": "电话",
                "liaison_id": org.liaisons["tati"].id,
            },
        )
    assert response.status_code == 404, f"{who} {method} {target}"
    assert "找不到页面" in response.get_data(as_text=True)
    assert db.session.get(Member, org.members["tati"].id).name == "向光明"
    # Nothing was written but the login and the count of refusals.
    new = db.session.scalars(select(AuditEntry.action).where(AuditEntry.id > before)).all()
    assert set(new) <= {"auth.login"}, new
    denied = db.session.execute(select(AccessDenial.outcome, AccessDenial.username)).all()
    assert denied == [("404", who)]


def test_township_officer_sees_own_township_only(login, org):
    c = login("township")
    assert c.get(f"/members/{org.members['tati'].id}").status_code == 200
    assert c.get(f"/members/{org.members['angdong'].id}").status_code == 200
    assert c.get(f"/members/{org.members['xinmin'].id}").status_code == 404
    page = c.get("/members/").get_data(as_text=True)
    assert "向光明" in page and "彭昂洞" in page and "田新民" not in page


def test_secretary_sees_own_village_only(login, org):
    c = login("secretary")
    page = c.get("/members/").get_data(as_text=True)
    assert "向光明" in page
    assert "彭昂洞" not in page and "田新民" not in page
    assert c.get(f"/members/{org.members['angdong'].id}").status_code == 404


def test_search_never_crosses_scope(login, org):
    c = login("secretary")
    tail = org.members["xinmin"].id_number[-4:]
    page = c.get(f"/members/?q={tail}").get_data(as_text=True)
    assert "田新民" not in page


def test_member_sees_only_own_profile_read_only(login, org):
    c = login("member")
    response = c.get("/members/me")
    assert response.headers["Location"].endswith(f"/members/{org.members['tati'].id}")
    assert c.get(f"/members/{org.members['tati'].id}").status_code == 200
    assert c.get(f"/members/{org.members['angdong'].id}").status_code == 404
    assert c.get("/members/").status_code == 403
    assert c.get(f"/members/{org.members['tati'].id}/edit").status_code == 403
    assert c.post(f"/members/{org.members['tati'].id}/visit", {}).status_code == 403


def test_clerk_cannot_open_the_registry(login, org):
    c = login("clerk")
    assert c.get("/members/").status_code == 403
    assert c.get("/members/new").status_code == 403
    assert c.get("/branches/").status_code == 403


@pytest.mark.parametrize("who", ["township", "secretary", "secretary2", "clerk", "member"])
def test_only_the_county_admin_manages_accounts_and_reads_the_audit_log(login, org, who):
    c = login(who)
    assert c.get("/admin/users").status_code == 403
    assert c.get("/admin/audit").status_code == 403
    response = c.post(
        f"/admin/users/{org.users[who].id}", {"role": "county_admin", "display_name": "x"}
    )
    assert response.status_code == 403


def test_secretary_cannot_create_a_member_in_another_village(login, org):
    c = login("secretary")
    before = db.session.scalar(select(func.count()).select_from(Member))
    response = c.post(
        "/members/new",
        {
            "village_id": org.villages["xinmin"].id,
            "name": "越权",
            "ethnicity": "苗族",
            "id_number": "11010519491231002X",
            "phone": "13900001111",
            "join_date": "1990-01-01",
            "membership": "full",
            "request_id": "r-cross",
        },
    )
    assert response.status_code == 422  # not one of the choices offered
    assert db.session.scalar(select(func.count()).select_from(Member)) == before


def test_visit_form_field_for_another_member_is_ignored(login, org):
    """Ids come from the URL and the scope, never from the form body."""
    c = login("secretary")
    response = c.post(
        f"/members/{org.members['tati'].id}/visit",
        {
            "visited_on": "2026-01-02",
            "met_with": "本人",
            "whereabouts": "yes",
            "items": "identity",
            "member_id": org.members["xinmin"].id,
            "request_id": "r-visit-x",
        },
    )
    assert response.status_code == 302
    visit = db.session.scalar(
        select(RegistrationVisit).where(RegistrationVisit.request_id == "r-visit-x")
    )
    assert visit.member_id == org.members["tati"].id


def test_contact_for_another_village_writes_nothing(login, org):
    c = login("secretary")
    response = c.post(
        f"/members/{org.members['xinmin'].id}/contact",
        {"contacted_on": "2026-01-02", "channel": "电话", "request_id": "r-c"},
    )
    assert response.status_code == 404
    assert db.session.scalar(select(func.count()).select_from(ContactLog)) == 0


@pytest.mark.parametrize("method,url", MEMBER_URLS)
def test_township_officer_cannot_reach_another_township(login, org, method, url):
    c = login("township")
    target = url.format(id=org.members["xinmin"].id)
    response = (
        c.get(target)
        if method == "GET"
        else c.post(target, {"name": "篡改", "liaison_id": org.liaisons["xinmin"].id})
    )
    assert response.status_code == 404
    assert db.session.get(Member, org.members["xinmin"].id).name == "田新民"


def test_liaison_endpoints_refuse_other_villages(login, org):
    c = login("secretary")
    other = org.villages["xinmin"].id
    assert c.get(f"/members/liaisons?village={other}").status_code == 404
    response = c.post(
        f"/members/liaisons?village={other}",
        {
            "action": "handover",
            "handover-source_id": org.liaisons["xinmin"].id,
            "handover-target_id": org.liaisons["tati"].id,
        },
    )
    assert response.status_code == 404
    assert db.session.get(Member, org.members["xinmin"].id).liaison_id is None
