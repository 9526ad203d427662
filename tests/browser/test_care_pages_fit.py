"""Every care page fits a 360 px phone and runs without console errors or CSP violations.

Run: .venv/bin/pytest -q tests/browser/test_care_pages_fit.py
"""

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from baojing.models.care import CareCase, FamilyPairing, ServiceRequest
from baojing.models.members import Member
from tests.browser.conftest import assert_no_horizontal_scroll, sign_in

pytestmark = pytest.mark.browser


def _visit_all(page, paths):
    for path in paths:
        response = page.goto(path)
        assert response.status == 200, (path, response.status)
        expect(page.locator("main h1")).to_have_count(1)
        assert_no_horizontal_scroll(page)
    problems = page.problems.unexpected()
    assert problems == [], "console errors / CSP violations:\n" + "\n".join(problems)


def _first(live_server, model, *where):
    row_id = live_server.scalar(select(model.id).where(*where).order_by(model.id))
    assert row_id is not None, f"the demo data should hold a {model.__name__} here"
    return row_id


def _pending_case(live_server, column, scope_id):
    return _first(live_server, CareCase, column == scope_id, CareCase.status == "open")


def test_secretary_care_pages_fit(live_server, page):
    case = _pending_case(live_server, CareCase.village_id, live_server.village_id)
    closed = _first(
        live_server,
        CareCase,
        CareCase.village_id == live_server.village_id,
        CareCase.status == "closed",
    )
    req = _first(live_server, ServiceRequest, ServiceRequest.village_id == live_server.village_id)
    member = live_server.member_id
    sign_in(page, "secretary")
    _visit_all(page, [
        "/care/", "/care/cases", "/care/cases?status=overdue", "/care/cases?status=all",
        f"/care/cases/{case}", f"/care/cases/{closed}", f"/care/cases/{case}/visit",
        "/care/pairings", "/care/pairings?idle=1", "/care/requests", "/care/requests?status=all",
        f"/care/requests/{req}", "/care/cases/new", f"/care/cases/new?member_id={member}",
        f"/care/requests/new?member_id={member}", f"/care/pairings/new?member_id={member}",
    ])  # fmt: skip

    # 踏梯村 has no pairing in the demo data: make one, as the secretary would, to see its page.
    page.goto(f"/care/pairings/new?member_id={member}")
    page.get_by_label("结对党员").fill("彭光华、田小兰")
    page.get_by_label("家庭情况").fill("父母年迈，家有 3 亩水田")
    with page.expect_navigation():
        page.get_by_role("button", name="建立结对").click()
    assert urlsplit(page.url).path.startswith("/care/pairings/"), page.url
    expect(page.locator("#messages .flash.success")).to_have_text("已建立结对")
    assert_no_horizontal_scroll(page)
    pairing = _first(live_server, FamilyPairing, FamilyPairing.member_id == member)
    _visit_all(page, [f"/care/pairings/{pairing}", "/care/pairings", "/care/"])


def test_township_care_pages_fit(live_server, page):
    township = live_server.scalar(
        select(Member.township_id).where(Member.id == live_server.member_id)
    )
    case = _pending_case(live_server, CareCase.township_id, township)
    pairing = _first(live_server, FamilyPairing, FamilyPairing.township_id == township)
    req = _first(live_server, ServiceRequest, ServiceRequest.township_id == township)
    sign_in(page, "township")
    _visit_all(page, [
        "/care/", "/care/stats", "/care/cases", "/care/cases?status=all", "/care/pairings",
        "/care/requests", "/care/requests?status=all", f"/care/cases/{case}",
        f"/care/cases/{case}/visit", f"/care/pairings/{pairing}", f"/care/requests/{req}",
    ])  # fmt: skip


def test_county_admin_care_pages_fit(live_server, page):
    sign_in(page, "admin")
    _visit_all(page, ["/care/stats", "/care/settings", "/care/", "/care/cases?status=overdue"])


def test_member_care_pages_fit(live_server, page):
    member = live_server.member_id
    own_case = _first(live_server, CareCase, CareCase.member_id == member)
    sign_in(page, "member")
    paths = ["/care/mine", "/care/cases/new", "/care/requests/new", f"/care/cases/{own_case}"]
    own_request = live_server.scalar(
        select(ServiceRequest.id).where(ServiceRequest.member_id == member)
    )
    if own_request is not None:
        paths.append(f"/care/requests/{own_request}")
    _visit_all(page, paths)
    # /care/ takes a member to their own page.
    page.goto("/care/")
    assert urlsplit(page.url).path == "/care/mine"
