"""The home page and the one-row menu on a 360 px phone, for every role (issue 16).

Run: .venv/bin/pytest -q tests/browser/test_home_browser.py
"""

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import assert_no_horizontal_scroll, menu_link, sign_in

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("role", ["admin", "township", "secretary", "clerk", "member"])
def test_the_menu_takes_one_row_and_more_opens_the_rest(live_server, page, role):
    sign_in(page, role)
    nav = page.get_by_role("navigation", name="主菜单")
    box = nav.bounding_box()
    assert box is not None and box["height"] <= 56, f"the menu wraps: {box}"
    assert_no_horizontal_scroll(page)
    more = nav.locator("details.more > summary")
    more.click()
    panel = nav.locator(".more-panel")
    expect(panel).to_be_visible()
    panel_box = panel.bounding_box()
    assert panel_box["x"] >= 0 and panel_box["x"] + panel_box["width"] <= 360 + 1
    with page.expect_navigation():
        menu_link(page, "修改密码").click()
    assert urlsplit(page.url).path == "/account/password"
    # Where the page is: 更多 is marked when the current page sits behind it.
    expect(nav.locator("details.more > summary")).to_be_visible()
    problems = page.problems.unexpected()
    assert problems == [], "console errors / CSP violations:\n" + "\n".join(problems)


def test_a_member_finds_their_points_and_events_on_the_home_page(live_server, page):
    sign_in(page, "member")
    assert urlsplit(page.url).path == "/"
    expect(page.locator("section.home-points")).to_contain_text("积分余额")
    assert_no_horizontal_scroll(page)
    with page.expect_navigation():
        page.locator("section.home-points a").click()
    assert urlsplit(page.url).path == "/points/mine"
