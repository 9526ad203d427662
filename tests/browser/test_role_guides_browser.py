"""Each role's everyday pages on a 360 px phone: they open, fit, and raise no errors.

These are the pages docs/guide-*.md walk through; under `make docs` this test also takes
the guides' screenshots (tests/browser/conftest.screenshot), so the pictures in the
guides are always the pages as they are.
"""

import pytest

from tests.browser.conftest import assert_no_horizontal_scroll, screenshot, sign_in

pytestmark = pytest.mark.browser

# (role, [(path, screenshot name, text the page must show)]); {member} is 向光明's id.
ROLE_PAGES = {
    "secretary": [
        ("/", "secretary-home", "需要处理"),
        ("/members/", "secretary-members", "流动党员"),
        ("/members/{member}", "secretary-profile", "向光明"),
        ("/care/", "secretary-care", "关怀"),
        ("/branches/contact", "secretary-contact", "联系"),
    ],
    "township": [
        ("/", "township-home", "名册与组织"),
        ("/branches/", "township-branches", "组织架构"),
        ("/members/import", "township-import", "导入花名册"),
        ("/rankings/", "township-rankings", "积分"),
    ],
    "admin": [
        ("/branches/", "county-branches", "组织架构"),
        ("/admin/users", "county-users", "账户"),
    ],
    "clerk": [("/store/counter?member={member}", "clerk-counter", "向光明")],
    "member": [
        ("/members/me", "member-profile", "向光明"),
        ("/points/mine", "member-points", "积分"),
        ("/care/mine", "member-care", "关怀"),
    ],
    "leader": [("/members/", "leader-members", "流动党员")],
}


@pytest.mark.parametrize("role", list(ROLE_PAGES))
def test_a_roles_everyday_pages_open_and_fit_a_phone(live_server, page, role):
    sign_in(page, role)
    for path, name, text in ROLE_PAGES[role]:
        response = page.goto(path.format(member=live_server.member_id))
        assert response.status == 200, (path, response.status)
        assert text in page.locator("main").inner_text(), (path, text)
        assert_no_horizontal_scroll(page)
        screenshot(page, name)
    assert page.problems.unexpected() == []


def test_the_public_contact_list_for_a_member_far_away(live_server, page):
    response = page.goto("/contacts")
    assert response.status == 200
    assert "踏梯村党支部" in page.locator("main").inner_text()
    assert_no_horizontal_scroll(page)
    screenshot(page, "public-contacts", full_page=False)
    assert page.problems.unexpected() == []
