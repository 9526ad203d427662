"""Every points-store page fits a 360 px phone and runs without console errors or CSP violations.

Run: .venv/bin/pytest -q tests/browser/test_store_pages_fit.py
"""

import pytest
from sqlalchemy import select

from baojing.models.points import CatalogItem, PointRule, Redemption
from baojing.models.rankings import RankingPublication
from tests.browser.conftest import assert_no_horizontal_scroll, sign_in

pytestmark = pytest.mark.browser


def _visit_all(page, paths):
    for path in paths:
        response = page.goto(path)
        assert response.status == 200, (path, response.status)
        assert_no_horizontal_scroll(page)
    problems = page.problems.unexpected()
    assert problems == [], "console errors / CSP violations:\n" + "\n".join(problems)


def test_county_admin_pages_fit(live_server, page):
    rule = live_server.scalar(select(PointRule.id).order_by(PointRule.id))
    item = live_server.scalar(select(CatalogItem.id).where(CatalogItem.kind == "health_check"))
    ranking = live_server.scalar(select(RankingPublication.id))
    serial = live_server.scalar(select(Redemption.serial).order_by(Redemption.id))
    sign_in(page, "admin")
    _visit_all(page, [
        "/points/rules", f"/points/rules/{rule}", "/points/rules/new", "/store/catalog",
        f"/store/catalog/{item}", "/store/catalog/new", "/store/vouchers", "/rankings/",
        f"/rankings/{ranking}", f"/store/receipts/{serial}",
    ])  # fmt: skip


def test_township_and_member_ranking_pages_fit(live_server, page, context):
    ranking = live_server.scalar(select(RankingPublication.id))
    sign_in(page, "township")
    _visit_all(page, ["/rankings/", f"/rankings/{ranking}", "/points/award"])
    member_page = context.new_page()
    member_page.problems = page.problems
    page.problems.attach(member_page)
    context.clear_cookies()
    sign_in(member_page, "member")
    _visit_all(member_page, ["/points/mine", f"/rankings/{ranking}"])
    # The member sees their own line in full and a form to raise a query.
    assert member_page.locator("tr.mine").count() == 1
