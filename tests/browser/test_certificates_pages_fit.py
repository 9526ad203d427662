"""Every certificates page fits a 360 px phone: one h1, no sideways scroll, no console errors.

Run: .venv/bin/pytest -q tests/browser/test_certificates_pages_fit.py
"""

import re
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from baojing.dates import local_today
from baojing.models.certificates import Certificate, Transfer
from baojing.models.members import ACTIVE, Member
from baojing.models.org import OrgUnit
from tests.browser.conftest import PageProblems, assert_no_horizontal_scroll, new_context, sign_in

pytestmark = pytest.mark.browser

TO_ORG = "中共宁波市鄞州区某某街道工作委员会"
HANDLER = "王晓红"


def _visit_all(page, paths):
    for path in paths:
        response = page.goto(path)
        assert response.status == 200, (path, response.status)
        expect(page.locator("main h1")).to_have_count(1)
        assert_no_horizontal_scroll(page)
    problems = page.problems.unexpected()
    assert problems == [], "console errors / CSP violations:\n" + "\n".join(problems)


def _qianling(live_server) -> int:
    return live_server.scalar(select(OrgUnit.id).where(OrgUnit.name == "迁陵镇"))


def _certificate(live_server, *where) -> int:
    cert_id = live_server.scalar(select(Certificate.id).where(*where).order_by(Certificate.id))
    assert cert_id is not None, "the demo data should hold a certificate here"
    return cert_id


def _active_member(live_server, *where) -> int:
    """An active member other than the member account's own (its card stays untouched)."""
    member_id = live_server.scalar(
        select(Member.id)
        .where(Member.status == ACTIVE, Member.id != live_server.member_id, *where)
        .order_by(Member.id)
    )
    assert member_id is not None
    return member_id


def _registry_paths(cert: int, member: int) -> list[str]:
    return [
        "/certificates/", "/certificates/?status=due", "/certificates/?status=revoked",
        "/certificates/?status=all", "/certificates/batch", "/certificates/transfers",
        "/certificates/transfers?status=all", f"/certificates/{cert}",
        f"/certificates/new?member_id={member}", f"/certificates/transfers/new?member_id={member}",
        "/certificates/new", "/certificates/transfers/new",
    ]  # fmt: skip


def test_county_admin_certificate_pages_fit(live_server, page):
    cert = _certificate(live_server)
    member = _active_member(live_server)
    sign_in(page, "admin")
    _visit_all(page, _registry_paths(cert, member))


def test_township_certificate_pages_fit(live_server, page):
    township = _qianling(live_server)
    cert = _certificate(live_server, Certificate.township_id == township)
    revoked = _certificate(
        live_server, Certificate.township_id == township, Certificate.status == "revoked"
    )
    member = _active_member(live_server, Member.township_id == township)
    sign_in(page, "township")
    _visit_all(page, [*_registry_paths(cert, member), f"/certificates/{revoked}"])


def test_secretary_certificate_pages_fit(live_server, page):
    cert = _certificate(live_server, Certificate.village_id == live_server.village_id)
    sign_in(page, "secretary")
    _visit_all(page, ["/certificates/", f"/certificates/{cert}", "/certificates/transfers"])
    # A secretary reads; issuing and voiding are for the township and county.
    expect(page.get_by_role("link", name="批量年审到期的活动证 ›")).to_have_count(0)
    page.goto(f"/certificates/{cert}")
    expect(page.locator("main summary")).to_have_count(0)


def test_verify_page_fits_for_a_stranger(live_server, browser):
    code = live_server.scalar(
        select(Certificate.verify_code).where(
            Certificate.id == _certificate(live_server, Certificate.status == "valid")
        )
    )
    revoked = live_server.scalar(
        select(Certificate.verify_code).where(Certificate.status == "revoked")
    )
    ctx = new_context(browser, live_server.url)
    ctx.set_default_timeout(5_000)
    try:
        pg = ctx.new_page()
        pg.problems = PageProblems()
        pg.problems.attach(pg)
        _visit_all(pg, [f"/verify/{code}", f"/verify/{revoked}"])
        expect(pg.locator(".verdict-state .badge")).to_have_text("已作废")
    finally:
        ctx.close()


def test_township_opens_a_transfer_and_records_the_receipt(live_server, page):
    """转接组织关系 → 开具介绍信 → 433125-Z-… → 登记回执 → 回执已收回."""
    township = _qianling(live_server)
    member_id = _active_member(live_server, Member.township_id == township)
    name = live_server.member(member_id).name
    sign_in(page, "township")
    page.goto(f"/certificates/transfers/new?member_id={member_id}")
    expect(page.get_by_role("heading", name=f"转接组织关系：{name}")).to_be_visible()
    expect(page.get_by_label("党费交到（年-月）")).to_have_value(local_today().strftime("%Y-%m"))
    expect(page.get_by_label("有效期（天）")).to_have_value("10")
    page.get_by_label("转往党组织").fill(TO_ORG)
    assert_no_horizontal_scroll(page)
    with page.expect_navigation():
        page.get_by_role("button", name="开具介绍信").click()

    match = re.fullmatch(r"/certificates/transfers/(\d+)", urlsplit(page.url).path)
    assert match, f"did not land on the transfer page: {page.url}"
    transfer_id = int(match.group(1))
    serial = live_server.scalar(select(Transfer.serial).where(Transfer.id == transfer_id))
    assert re.fullmatch(rf"433125-Z-{local_today().year}-\d{{5}}", serial), serial
    expect(page.locator("#messages .flash.success")).to_contain_text(serial)
    facts = page.locator("main dl.facts")
    expect(facts.locator("dt:text-is('编号') + dd")).to_have_text(serial)
    expect(facts.locator("dt:text-is('转往') + dd")).to_have_text(TO_ORG)
    expect(page.locator("main .card .badge").first).to_have_text("待回执")
    assert_no_horizontal_scroll(page)
    pdf = page.request.get(f"/certificates/transfers/{transfer_id}.pdf")
    assert pdf.status == 200 and pdf.body().startswith(b"%PDF")

    # The receipt came back by post.
    expect(page.get_by_label("回执日期")).to_have_value(local_today().isoformat())
    page.get_by_label("接收方经办人").fill(HANDLER)
    page.once("dialog", lambda dialog: dialog.accept())  # 不能撤销：确定已收到回执吗？
    with page.expect_navigation():
        page.get_by_role("button", name="回执已收到").click()
    assert urlsplit(page.url).path == f"/certificates/transfers/{transfer_id}"
    expect(page.locator("#messages .flash.success")).to_contain_text("回执已登记")
    expect(page.locator("main .card .badge").first).to_contain_text("回执已收回")
    expect(facts.locator("dt:text-is('回执') + dd")).to_contain_text(HANDLER)
    expect(page.get_by_role("button", name="回执已收到")).to_have_count(0)
    assert_no_horizontal_scroll(page)
    assert live_server.member(member_id).status == "transferred"
    _visit_all(
        page, [f"/certificates/transfers/{transfer_id}", "/certificates/transfers?status=returned"]
    )
    expect(
        page.locator(f"a.row-link[href='/certificates/transfers/{transfer_id}']")
    ).to_be_visible()
