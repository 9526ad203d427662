"""思想汇报 on a 360 px phone: the signal drops while the member types, nothing is lost; the
township officer returns the report, the member hands it in again, it is accepted.

Run: .venv/bin/pytest -q tests/browser/test_thoughts_browser.py
"""

import time

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from baojing.dates import local_today, quarter_of
from baojing.models.thoughts import ThoughtReport
from tests.browser.conftest import assert_no_horizontal_scroll, new_context, sign_in

pytestmark = pytest.mark.browser

QUARTER = quarter_of(local_today())
ONLINE_TEXT = "本季度我在宁波的工地上坚持学习党章，按时交纳党费。"
OFFLINE_TEXT = "信号断了也要写完：我还参加了驻地党支部的主题党日。"
AGAIN_TEXT = "按书记的意见补充：我帮三位老乡联系了返乡体检。"


def _server_body(live_server) -> str:
    return (
        live_server.scalar(
            select(ThoughtReport.body).where(
                ThoughtReport.member_id == live_server.member_id, ThoughtReport.quarter == QUARTER
            )
        )
        or ""
    )


def _wait_for_server(live_server, text: str, seconds: float = 10) -> str:
    deadline = time.monotonic() + seconds
    body = _server_body(live_server)
    while text not in body and time.monotonic() < deadline:
        time.sleep(0.2)
        body = _server_body(live_server)
    return body


def _status(live_server) -> str:
    return live_server.scalar(
        select(ThoughtReport.status).where(
            ThoughtReport.member_id == live_server.member_id, ThoughtReport.quarter == QUARTER
        )
    )


def test_thought_report_survives_a_dropped_signal_and_goes_through_review(browser, live_server):
    member_ctx = new_context(browser, live_server.url)
    member_ctx.set_default_timeout(10_000)
    page = member_ctx.new_page()
    problems = []
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    sign_in(page, "member")
    page.goto(f"/thoughts/mine/{QUARTER}")
    assert_no_horizontal_scroll(page)
    body = page.locator("#body")

    # 1. Writing: the first sentence is saved on the server as it is typed.
    body.press_sequentially(ONLINE_TEXT, delay=10)
    expect(page.locator("#autosave")).to_contain_text("已自动保存")
    assert ONLINE_TEXT in _wait_for_server(live_server, ONLINE_TEXT)

    # ... then the signal drops while the member goes on typing.
    member_ctx.set_offline(True)
    body.press_sequentially(OFFLINE_TEXT, delay=10)
    page.locator("h1").click()  # the field loses focus: an autosave is tried, and fails
    expect(page.locator("#messages")).to_contain_text("网络不畅", timeout=10_000)
    expect(page.locator("#autosave")).to_contain_text("未保存")
    assert OFFLINE_TEXT not in _server_body(live_server)
    expect(body).to_have_value(ONLINE_TEXT + OFFLINE_TEXT)

    # 2. The signal comes back: the draft goes to the server by itself.
    member_ctx.set_offline(False)
    assert OFFLINE_TEXT in _wait_for_server(live_server, OFFLINE_TEXT), "not saved after reconnect"
    expect(page.locator("#autosave")).to_contain_text("已自动保存")
    page.reload()
    expect(page.locator("#body")).to_have_value(ONLINE_TEXT + OFFLINE_TEXT)
    page.click("button:has-text('提交汇报')")
    expect(page.locator("#messages")).to_contain_text("已提交，等待审阅")
    assert _status(live_server) == "submitted"
    assert_no_horizontal_scroll(page)

    # 3. The township officer reads it and returns it with a reason.
    officer_ctx = new_context(browser, live_server.url)
    officer_ctx.set_default_timeout(10_000)
    officer = officer_ctx.new_page()
    officer.on("pageerror", lambda exc: problems.append(str(exc)))
    sign_in(officer, "township")
    officer.goto("/thoughts/")
    assert_no_horizontal_scroll(officer)
    officer.click(f"a.row-link:has-text('{live_server.member_name} · {QUARTER}')")
    expect(officer.locator(".report-body")).to_contain_text(OFFLINE_TEXT)
    assert_no_horizontal_scroll(officer)
    officer.check("input[name=decision][value=return]")
    officer.fill("#comment", "请结合本季度的具体事情再写一写")
    officer.click("button:has-text('提交审阅意见')")
    expect(officer.locator("#messages")).to_contain_text("已退回")
    assert _status(live_server) == "returned"

    # The member sees the reason and hands it in again.
    page.goto(f"/thoughts/mine/{QUARTER}")
    expect(page.locator(".flash.warning")).to_contain_text("请结合本季度的具体事情再写一写")
    page.locator("#body").press("End")
    page.locator("#body").press_sequentially(AGAIN_TEXT, delay=5)
    page.click("button:has-text('重新提交')")
    expect(page.locator("#messages")).to_contain_text("已提交，等待审阅")
    assert _status(live_server) == "submitted"
    assert AGAIN_TEXT in _server_body(live_server)

    # 4. It is accepted.
    officer.goto("/thoughts/")
    officer.click(f"a.row-link:has-text('{live_server.member_name} · {QUARTER}')")
    expect(officer.locator(".report-body")).to_contain_text(AGAIN_TEXT)
    officer.check("input[name=decision][value=accept]")
    officer.click("button:has-text('提交审阅意见')")
    expect(officer.locator("#messages")).to_contain_text("已通过")
    assert _status(live_server) == "accepted"
    page.goto("/thoughts/")
    expect(page.locator("main")).to_contain_text("已通过")
    assert_no_horizontal_scroll(page)

    officer.goto("/thoughts/missing")
    assert_no_horizontal_scroll(officer)
    assert problems == []
    officer_ctx.close()
    member_ctx.close()
