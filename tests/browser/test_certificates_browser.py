"""Certificates (持证管理) on a 360 px phone: issue, download, verify in public, revoke.

Run: .venv/bin/pytest -q tests/browser/test_certificates_browser.py
"""

import re
import shutil
import subprocess
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from baojing.dates import local_today
from baojing.models.certificates import Certificate
from baojing.models.members import ACTIVE
from tests.browser.conftest import (
    PageProblems,
    assert_no_horizontal_scroll,
    new_context,
    sign_in,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(shutil.which("pdftotext") is None, reason="needs poppler-utils"),
]

REVOKE_REASON = "证件遗失（浏览器测试）"


def _masked(name: str) -> str:
    """向*明, 张*, 欧阳**明: what the public page may show of a name."""
    if len(name) <= 1:
        return name
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def _no_problems(page, *expected_error_paths: str) -> None:
    problems = page.problems.unexpected(*expected_error_paths)
    assert problems == [], "console errors / CSP violations:\n" + "\n".join(problems)


def _pdf_text(data: bytes, tmp_path) -> str:
    path = tmp_path / "downloaded.pdf"
    path.write_bytes(data)
    return subprocess.run(
        ["pdftotext", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout


def _public_page(browser, base_url):
    """A fresh browser that has never logged in: a stranger scanning the QR code."""
    ctx = new_context(browser, base_url)
    ctx.set_default_timeout(5_000)
    pg = ctx.new_page()
    pg.problems = PageProblems()
    pg.problems.attach(pg)
    return ctx, pg


def test_admin_issues_a_certificate_a_stranger_verifies_it_then_it_is_revoked(
    live_server, page, browser, tmp_path
):
    """名单 → 党员资料 → 发证 → 证件页 → PDF → 核验（未登录）→ 作废 → 核验显示已作废."""
    sign_in(page, "admin")
    page.goto("/members/")
    assert_no_horizontal_scroll(page)
    first_row = page.locator("a.row-link[href^='/members/']").first
    expect(first_row).to_be_visible()
    member_id = int(re.search(r"/members/(\d+)$", first_row.get_attribute("href")).group(1))
    member = live_server.member(member_id)
    assert member.status == ACTIVE, "the first listed member should be on the mobile list"
    name = member.name
    expect(first_row.locator(".row-title")).to_have_text(name)

    # The profile: 发证 is there for the county admin.
    with page.expect_navigation():
        first_row.click()
    assert urlsplit(page.url).path == f"/members/{member_id}"
    expect(page.locator("main h1")).to_contain_text(name)
    issue_link = page.get_by_role("link", name="发证", exact=True)
    expect(issue_link).to_be_visible()
    with page.expect_navigation():
        issue_link.click()
    assert urlsplit(page.url).path == "/certificates/new"
    expect(page.get_by_role("heading", name=f"发证：{name}")).to_be_visible()
    assert_no_horizontal_scroll(page)

    # The form: a letter, valid for 90 days.
    card = page.get_by_label("流动党员活动证")
    expect(card).to_be_checked()  # the default
    page.get_by_label("流动党员证明信").check()
    valid_until = page.get_by_label("有效期至")
    expect(valid_until).not_to_have_value("")
    until = local_today() + timedelta(days=90)
    valid_until.fill(until.isoformat())
    page.get_by_label("外出原因").fill("参加培训")
    assert_no_horizontal_scroll(page)
    with page.expect_navigation():
        page.get_by_role("button", name="发证并生成 PDF").click()

    # The certificate page.
    match = re.fullmatch(r"/certificates/(\d+)", urlsplit(page.url).path)
    assert match, f"did not land on a certificate page: {page.url}"
    cert_id = int(match.group(1))
    serial = live_server.scalar(select(Certificate.serial).where(Certificate.id == cert_id))
    assert re.fullmatch(rf"433125-{local_today().year}-\d{{5}}", serial), serial
    expect(page.locator("#messages .flash.success")).to_contain_text(f"已发证，编号 {serial}")
    expect(page.locator("main h1")).to_have_text("流动党员证明信")
    facts = page.locator("main dl.facts").first
    expect(facts.locator("dt:text-is('编号') + dd")).to_have_text(serial)
    expect(facts.locator("dt:text-is('持证人') + dd")).to_have_text(name)
    expect(page.locator("main .card .badge").first).to_have_text("有效")
    assert_no_horizontal_scroll(page)

    # The PDF as the browser downloads it, with the logged-in cookies.
    pdf_href = page.get_by_role("link", name="下载 PDF").get_attribute("href")
    assert pdf_href == f"/certificates/{cert_id}.pdf"
    pdf = page.request.get(pdf_href)
    assert pdf.status == 200, pdf.status
    assert pdf.headers["content-type"] == "application/pdf"
    body = pdf.body()
    assert body.startswith(b"%PDF")
    text = _pdf_text(body, tmp_path)
    assert name in text, f"{name} is not in the PDF text"
    assert serial in text, f"{serial} is not in the PDF text"

    verify_href = page.get_by_role("link", name="核验页面").get_attribute("href")
    assert re.fullmatch(rf"{re.escape(live_server.url)}/verify/[A-Z2-7]{{26}}", verify_href), (
        verify_href
    )
    _no_problems(page)

    # A stranger, not logged in, opens the link: 有效, the masked name, never the full one.
    public_ctx, public = _public_page(browser, live_server.url)
    try:
        answer = public.goto(verify_href)
        assert answer.status == 200
        badge = public.locator(".verdict-state .badge")
        expect(badge).to_have_text("有效")
        verdict = public.locator(".verdict")
        expect(verdict.locator("dt:text-is('编号') + dd")).to_have_text(serial)
        expect(verdict.locator("dt:text-is('持证人') + dd")).to_have_text(_masked(name))
        assert name not in public.locator("body").inner_text()
        assert name not in public.content()
        expect(public.get_by_role("link", name="退出")).to_have_count(0)
        assert_no_horizontal_scroll(public)

        # Back at the office: 作废, with a reason, confirmed.
        revoke = page.locator("details.card:has(summary:text-is('作废'))")
        revoke.locator("summary").click()
        page.get_by_label("作废原因").fill(REVOKE_REASON)
        page.once("dialog", lambda d: d.accept())
        with page.expect_navigation():
            revoke.get_by_role("button", name="作废").click()
        assert urlsplit(page.url).path == f"/certificates/{cert_id}"
        expect(page.locator("#messages .flash.success")).to_contain_text("证件已作废")
        expect(page.locator("main .card .badge").first).to_have_text("已作废")
        expect(facts.locator("dt:text-is('作废原因') + dd")).to_contain_text(REVOKE_REASON)
        expect(page.locator("summary:text-is('作废')")).to_have_count(0)
        assert_no_horizontal_scroll(page)
        assert (
            live_server.scalar(select(Certificate.status).where(Certificate.id == cert_id))
            == "revoked"
        )

        # The stranger reloads: 已作废 at once.
        answer = public.reload()
        assert answer.status == 200
        expect(badge).to_have_text("已作废")
        expect(verdict).to_contain_text("不能")
        expect(verdict.locator("dt:text-is('持证人') + dd")).to_have_text(_masked(name))
        assert name not in public.content()
        assert_no_horizontal_scroll(public)
        _no_problems(public)
    finally:
        public_ctx.close()

    # Issued, so the form's draft is gone: it opens afresh, not as the letter just issued.
    page.goto(f"/certificates/new?member_id={member_id}")
    expect(page.get_by_label("流动党员活动证")).to_be_checked()
    expect(page.get_by_label("外出原因")).to_have_value("")
    expect(page.locator(".draft-note")).to_be_hidden()
    _no_problems(page)


def test_member_sees_and_downloads_their_own_card_only(live_server, page):
    """我的信息 → 持证记录 → 活动证 → PDF; another member's PDF is 404."""
    mine = live_server.scalar(
        select(Certificate.id)
        .where(Certificate.member_id == live_server.member_id, Certificate.status == "valid")
        .order_by(Certificate.id)
    )
    assert mine is not None, "the demo gives the member account a valid activity card"
    serial = live_server.scalar(select(Certificate.serial).where(Certificate.id == mine))
    theirs = live_server.scalar(
        select(Certificate.id)
        .where(Certificate.member_id != live_server.member_id)
        .order_by(Certificate.id)
    )
    assert theirs is not None, "the demo has certificates of other members"

    sign_in(page, "member")
    page.goto("/members/me")
    assert urlsplit(page.url).path == f"/members/{live_server.member_id}"
    expect(page.get_by_role("heading", name="持证记录")).to_be_visible()
    row = page.locator(f"a.row-link[href='/certificates/{mine}']")
    expect(row).to_contain_text(f"{serial} · 活动证")
    expect(row).to_contain_text("有效")
    assert_no_horizontal_scroll(page)
    # Issuing is for the township and county, not for the member.
    expect(page.get_by_role("link", name="发证", exact=True)).to_have_count(0)

    with page.expect_navigation():
        row.click()
    assert urlsplit(page.url).path == f"/certificates/{mine}"
    expect(page.locator("main h1")).to_have_text("流动党员活动证")
    expect(page.locator("main dl.facts dt:text-is('编号') + dd").first).to_have_text(serial)
    expect(page.locator("main dl.facts dt:text-is('持证人') + dd").first).to_have_text(
        live_server.member_name
    )
    expect(page.get_by_role("link", name="‹ 我的信息")).to_be_visible()
    # No revoke, renew or take-back for the holder.
    expect(page.locator("main summary")).to_have_count(0)
    expect(page.get_by_role("button", name="登记交回")).to_have_count(0)
    assert_no_horizontal_scroll(page)

    href = page.get_by_role("link", name="下载 PDF").get_attribute("href")
    own = page.request.get(href)
    assert own.status == 200, own.status
    assert own.headers["content-type"] == "application/pdf"
    assert own.body().startswith(b"%PDF")

    other = page.request.get(f"/certificates/{theirs}.pdf")
    assert other.status == 404, other.status
    assert not other.body().startswith(b"%PDF")
    assert page.request.get(f"/certificates/{theirs}").status == 404
    _no_problems(page)


def test_unknown_code_is_not_found_for_a_stranger(live_server, browser):
    ctx, public = _public_page(browser, live_server.url)
    path = "/verify/AAAABBBBCCCCDDDDEEEEFFFFGG"
    try:
        answer = public.goto(path)
        assert answer.status == 404
        expect(public.locator("main h1")).to_have_count(1)
        expect(public.locator(".verdict-state .badge")).to_have_text("查无此证")
        expect(public.locator(".verdict dl.facts")).to_have_count(0)
        assert_no_horizontal_scroll(public)
        _no_problems(public, path)
    finally:
        ctx.close()


def test_township_records_a_cards_yearly_check_on_the_same_card(live_server, page, browser):
    """年审: a card due for its check is checked on its own page; the serial stays, the
    next check moves a period on, and the public verify page says 长期有效."""
    from sqlalchemy import func

    from baojing.models.certificates import CardCheck

    row = live_server.scalar(
        select(Certificate.id)
        .where(Certificate.kind == "card", Certificate.status == "valid",
               Certificate.township_id == select(Certificate.township_id)
               .where(Certificate.member_id == live_server.member_id).scalar_subquery())
        .order_by(Certificate.id)
        .limit(1)
    )  # fmt: skip
    if row is None:
        pytest.skip("the demo has no valid card in 迁陵镇")
    cert_id = row
    before = live_server.scalar(select(Certificate.serial).where(Certificate.id == cert_id))
    sign_in(page, "township")
    page.goto(f"/certificates/{cert_id}")
    expect(page.locator("dl.facts")).to_contain_text("长期有效")
    summary = page.locator("summary", has_text="登记年审")
    if page.locator("#checked_on").is_hidden():
        summary.click()
    page.locator("#note").fill("年度民主评议合格（浏览器测试）")
    assert_no_horizontal_scroll(page)
    with page.expect_navigation():
        page.get_by_role("button", name="登记年审").click()
    expect(page.locator(".flash.success")).to_contain_text("已登记年审")
    expect(page.locator("section", has_text="年审记录")).to_contain_text("浏览器测试")
    expect(page.locator("dl.facts dd.nowrap").first).to_have_text(before)  # the same serial
    assert (
        live_server.scalar(
            select(func.count()).select_from(CardCheck).where(CardCheck.certificate_id == cert_id)
        )
        == 1
    )
    code = live_server.scalar(select(Certificate.verify_code).where(Certificate.id == cert_id))
    ctx, stranger = _public_page(browser, live_server.url)
    try:
        stranger.goto(f"/verify/{code}")
        expect(stranger.locator("main")).to_contain_text("长期有效")
        expect(stranger.locator(".verdict-state")).to_contain_text("有效")
        assert_no_horizontal_scroll(stranger)
    finally:
        ctx.close()
    _no_problems(page)
