"""A migrant on a 360 px phone finds whom to call at home, without an account."""

from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from baojing.extensions import db
from baojing.models.org import VILLAGE, OrgUnit
from tests.browser.conftest import assert_no_horizontal_scroll, new_context

pytestmark = pytest.mark.browser


def _unit(live_server, *conditions) -> OrgUnit:
    with live_server.app.app_context():
        try:
            unit = db.session.scalar(
                select(OrgUnit)
                .where(OrgUnit.kind == VILLAGE, OrgUnit.closed_at.is_(None), *conditions)
                .order_by(OrgUnit.id)
            )
            db.session.expunge(unit)
            return unit
        finally:
            db.session.remove()


def _is_results_fragment(response) -> bool:
    return (
        urlsplit(response.url).path == "/contacts/"
        and response.request.headers.get("hx-request") == "true"
    )


def test_migrant_finds_the_branch_number_without_logging_in(live_server, page):
    tati = _unit(live_server, OrgUnit.name == "踏梯村")
    assert tati.publish_phone == "mobile" and tati.contact_name, "demo data: 踏梯村 publishes"
    hidden = _unit(live_server, OrgUnit.publish_phone == "")
    assert hidden is not None, "demo data: some contact people publish no number"

    # From the login page, without an account.
    page.goto("/login")
    with page.expect_navigation():
        page.get_by_role("link", name="找组织：各支部联系电话").click()
    assert urlsplit(page.url).path.startswith("/contacts")
    expect(page.get_by_role("heading", name="找组织：各支部联系电话")).to_be_visible()
    expect(page.locator("nav.nav")).to_have_count(0)  # no menu for a visitor
    assert_no_horizontal_scroll(page)

    # Choose the township: htmx swaps the list in place, the address can be bookmarked.
    page.evaluate("window.__noReload = 'still here'")
    with page.expect_response(_is_results_fragment):
        page.select_option("#contact-township", label="迁陵镇")
    results = page.locator("#contact-results")
    expect(results.locator("h2")).to_have_text(["迁陵镇"])
    expect(results).to_contain_text("迁陵镇驻宁波流动党支部")
    assert page.evaluate("window.__noReload") == "still here", "the filter reloaded the page"
    expect(page).to_have_url(f"{live_server.url}/contacts/?q=&township={tati.township_id}")

    # Search the secretary's name: 踏梯村 is there, with the number to tap.
    with page.expect_response(_is_results_fragment):
        page.locator("#contact-q").press_sequentially(tati.contact_name, delay=40)
    expect(results).to_contain_text("踏梯村党支部")
    call = results.locator(f'a[href="tel:{tati.contact_mobile}"]')
    expect(call).to_have_text(tati.contact_mobile)
    assert call.bounding_box()["height"] >= 44, "a phone number is a 44 px tap target"
    assert_no_horizontal_scroll(page)
    expect(page.locator("h1")).to_have_count(1)  # the fragment went into the list only

    # The bookmarked address opens the same list as a whole page.
    bookmarked = page.url
    assert parse_qs(urlsplit(bookmarked).query)["q"] == [tati.contact_name]
    page.goto(bookmarked)
    expect(page.locator("#contact-q")).to_have_value(tati.contact_name)
    expect(page.locator("#contact-results")).to_contain_text("踏梯村党支部")

    # A contact person who published nothing: no number anywhere, said plainly.
    page.goto(f"/contacts/?township={hidden.township_id}&q={hidden.name}")
    entry = page.locator("#contact-results li", has_text=f"{hidden.name}党支部")
    expect(entry).to_contain_text("未公布电话")
    expect(entry.locator("a[href^='tel:']")).to_have_count(0)
    assert hidden.contact_mobile not in page.content()
    assert page.problems.unexpected() == []


def test_the_search_works_without_javascript(browser, live_server):
    tati = _unit(live_server, OrgUnit.name == "踏梯村")
    ctx = new_context(browser, live_server.url, java_script_enabled=False)
    try:
        page = ctx.new_page()
        page.goto("/contacts")
        page.fill("#contact-q", "踏梯村")
        with page.expect_navigation():
            page.click("#contact-search button[type=submit]")
        expect(page.locator("#contact-results h2")).to_have_text(["迁陵镇"])
        expect(page.locator(f'a[href="tel:{tati.contact_mobile}"]')).to_be_visible()
        assert_no_horizontal_scroll(page)
    finally:
        ctx.close()
