"""The county hub on a 360 px phone: an officer publishes, a member reads it, the officer's
unread list shrinks.

Run: .venv/bin/pytest -q tests/browser/test_hub_browser.py
"""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import (
    PageProblems,
    assert_no_horizontal_scroll,
    new_context,
    screenshot,
    sign_in,
)

pytestmark = pytest.mark.browser

TITLE = "迁陵镇网络党支部：本月主题党日改在线上（浏览器测试）"
BODY = "各位党员：\n\n本月主题党日改在线上开展，请点 https 链接收看。\n<script>alert(1)</script>"


def _no_problems(page) -> None:
    problems = page.problems.unexpected()
    assert problems == [], "console errors / CSP violations:\n" + "\n".join(problems)


def _unread_counts(page) -> tuple[int, int]:
    text = page.locator("#receipt-counts").inner_text()
    read, total = map(int, re.search(r"已读 (\d+) / (\d+)", text).groups())
    return read, total


def test_officer_publishes_a_member_reads_it_and_the_unread_list_shrinks(
    browser, live_server, page
):
    # 1. The township officer publishes on the phone.
    sign_in(page, "township")
    page.goto("/hub/")
    assert_no_horizontal_scroll(page)
    page.get_by_role("link", name="发布公告").click()
    expect(page.get_by_role("heading", name="发布公告")).to_be_visible()
    expect(page.get_by_text("发给：迁陵镇的流动党员")).to_be_visible()
    assert_no_horizontal_scroll(page)
    page.get_by_label("标题").fill(TITLE)
    page.get_by_label("正文").fill(BODY)
    page.get_by_role("button", name="发布").click()
    expect(page.get_by_role("heading", name=TITLE)).to_be_visible()
    expect(page.locator(".flash.success")).to_have_text("公告已发布")
    expect(page.locator(".prose")).to_contain_text("本月主题党日改在线上开展")
    assert "alert(1)" not in page.locator(".prose").inner_html()
    assert_no_horizontal_scroll(page)
    announcement_url = page.url
    page.get_by_role("link", name="查看未读名单并提醒").click()
    read_before, total = _unread_counts(page)
    assert read_before == 0 and total > 1
    expect(page.locator("#unread")).to_contain_text(live_server.member_name)
    assert_no_horizontal_scroll(page)
    screenshot(page, "hub-unread")
    unread_url = page.url
    _no_problems(page)

    # 2. The member, on their own phone, sees it unread and reads it.
    member_ctx = new_context(browser, live_server.url)
    member_ctx.set_default_timeout(5_000)
    try:
        phone = member_ctx.new_page()
        phone.problems = PageProblems()
        phone.problems.attach(phone)
        sign_in(phone, "member")
        phone.goto("/hub/")
        row = phone.locator("#announcements li", has_text=TITLE)
        expect(row).to_contain_text("未读")
        assert_no_horizontal_scroll(phone)
        screenshot(phone, "hub-member-list")
        row.get_by_role("link").click()
        expect(phone.get_by_role("heading", name=TITLE)).to_be_visible()
        expect(phone.locator(".prose")).to_contain_text("请点 https 链接收看")
        expect(phone.locator("#receipts")).to_have_count(0)  # a member sees no receipts
        assert phone.url == announcement_url
        assert_no_horizontal_scroll(phone)
        phone.goto("/hub/")
        expect(phone.locator("#announcements li", has_text=TITLE)).not_to_contain_text("未读")
        _no_problems(phone)
    finally:
        member_ctx.close()

    # 3. The officer's unread list has one name fewer.
    page.goto(unread_url)
    read_after, total_after = _unread_counts(page)
    assert (read_after, total_after) == (1, total)
    expect(page.locator("#unread")).not_to_contain_text(live_server.member_name)
    page.get_by_role("button", name="提醒全部未读党员").click()
    expect(page.locator(".flash.success")).to_contain_text(f"已提醒 {total - 1} 名党员")
    assert_no_horizontal_scroll(page)
    _no_problems(page)


def test_a_member_asks_and_the_officer_answers_on_phones(browser, live_server, page):
    """The question pages fit 360 px; the answer is on the member's question page."""
    sign_in(page, "member")
    page.goto("/hub/questions")
    assert_no_horizontal_scroll(page)
    page.get_by_role("link", name="我要提问或留言").click()
    page.get_by_label("乡镇党委").check()
    page.get_by_label("内容").fill("回乡以后，组织关系要不要转回村里？（浏览器测试）")
    page.get_by_label("同意隐去姓名后").check()
    assert_no_horizontal_scroll(page)
    page.get_by_role("button", name="提交").click()
    expect(page.locator(".flash.success")).to_contain_text("已提交")
    question_url = page.url
    page.goto("/hub/faq")
    assert_no_horizontal_scroll(page)
    _no_problems(page)

    officer_ctx = new_context(browser, live_server.url)
    officer_ctx.set_default_timeout(5_000)
    try:
        officer = officer_ctx.new_page()
        officer.problems = PageProblems()
        officer.problems.attach(officer)
        sign_in(officer, "township")
        officer.goto("/hub/questions")
        assert_no_horizontal_scroll(officer)
        officer.get_by_role("link", name=re.compile("组织关系要不要转回")).click()
        officer.locator("textarea#answer").fill("长期回乡的，请到乡镇党委办理转回手续。")
        officer.get_by_label("同时公开到常见问答").check()
        assert_no_horizontal_scroll(officer)
        officer.get_by_role("button", name="回复").click()
        expect(officer.locator(".flash.success")).to_contain_text("已回复")
        _no_problems(officer)
    finally:
        officer_ctx.close()

    page.goto(question_url)
    expect(page.locator("#answer")).to_contain_text("请到乡镇党委办理转回手续")
    page.goto("/hub/faq")
    expect(page.locator("main")).to_contain_text("组织关系要不要转回")
    assert_no_horizontal_scroll(page)
    _no_problems(page)
