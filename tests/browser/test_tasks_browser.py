"""Monthly tasks on a 360 px phone: the officer publishes, a member completes with a photo,
the officer's grid shows it done, the points are in the member's ledger.

Run: .venv/bin/pytest -q tests/browser/test_tasks_browser.py
"""

import calendar
from datetime import date, timedelta
from urllib.parse import urlsplit

import pytest
from PIL import Image
from playwright.sync_api import expect
from sqlalchemy import select

from baojing.dates import local_today
from baojing.models.points import PointEntry
from baojing.models.tasks import Task, TaskCompletion
from tests.browser.conftest import assert_no_horizontal_scroll, new_context, screenshot, sign_in

pytestmark = pytest.mark.browser

TITLE = "主题党日：重温入党誓词（浏览器测试）"


def _due() -> date:
    """Three days on, within this month (the member's list shows this month's tasks)."""
    today = local_today()
    last = date(today.year, today.month, calendar.monthrange(today.year, today.month)[1])
    return min(today + timedelta(days=3), last)


def _photo(path):
    image = Image.new("RGB", (1600, 1200), (180, 30, 30))
    exif = Image.Exif()
    exif[0x8825] = {1: "N", 2: (28.0, 41.0, 30.0), 3: "E", 4: (109.0, 39.0, 15.0)}
    image.save(path, "JPEG", quality=90, exif=exif)
    return path


def _no_problems(page) -> None:
    problems = page.problems.unexpected()
    assert problems == [], "console errors / CSP violations:\n" + "\n".join(problems)


def test_officer_publishes_member_completes_with_a_photo_grid_and_ledger_show_it(
    live_server, page, browser, tmp_path
):
    # 1. The township officer publishes the month's task, with 红星云学习 points.
    sign_in(page, "township")
    page.goto("/tasks/")
    assert_no_horizontal_scroll(page)
    with page.expect_navigation():
        page.get_by_role("link", name="布置任务").click()
    page.get_by_label("任务名称").fill(TITLE)
    page.get_by_label("任务说明").fill("在所在地参加主题党日，拍一张现场照片上传。")
    page.get_by_label("上传照片").check()
    page.get_by_label("截止日期").fill(_due().isoformat())
    page.get_by_label("完成后计分").select_option(label="红星云学习（+5 分）")
    assert_no_horizontal_scroll(page)
    with page.expect_navigation():
        page.get_by_role("button", name="发布").click()
    assert urlsplit(page.url).path == "/tasks/"
    expect(page.locator("main")).to_contain_text(TITLE)
    assert_no_horizontal_scroll(page)
    _no_problems(page)
    task_id = live_server.scalar(select(Task.id).where(Task.title == TITLE))
    assert task_id is not None

    # 2. The member sees it and completes it with a photo from the phone.
    member_ctx = new_context(browser, live_server.url)
    member_ctx.set_default_timeout(5_000)
    phone = member_ctx.new_page()
    phone.problems = type(page.problems)()
    phone.problems.attach(phone)
    sign_in(phone, "member")
    phone.goto("/tasks/")
    link = phone.locator(f"a.row-link[href='/tasks/{task_id}']")
    expect(link).to_contain_text(TITLE)
    expect(link).to_contain_text("未完成")
    assert_no_horizontal_scroll(phone)
    with phone.expect_navigation():
        link.click()
    expect(phone.get_by_role("heading", name=TITLE)).to_be_visible()
    screenshot(phone, "tasks-complete")
    phone.locator("input[name=attachment]").set_input_files(_photo(tmp_path / "IMG_0001.jpg"))
    assert_no_horizontal_scroll(phone)
    with phone.expect_response(
        lambda r: urlsplit(r.url).path == f"/tasks/{task_id}/complete"
    ) as posted:
        phone.get_by_role("button", name="提交").click()
    assert posted.value.status == 200 and posted.value.headers.get("hx-redirect") == "/tasks/"
    phone.wait_for_url("**/tasks/")
    expect(phone.locator(f"a.row-link[href='/tasks/{task_id}']")).to_contain_text("已完成")
    assert_no_horizontal_scroll(phone)
    _no_problems(phone)
    completion_id = live_server.scalar(
        select(TaskCompletion.id).where(TaskCompletion.task_id == task_id)
    )
    assert completion_id is not None

    # 3. The officer's grid (踏梯村, stacked cards on the phone) shows it done.
    page.goto(f"/tasks/?village={live_server.village_id}")
    row = page.locator("table.task-grid tbody tr", has_text=live_server.member_name)
    for _ in range(20):
        if row.count():
            break
        with page.expect_navigation():
            page.get_by_role("link", name="下一页").click()
    cell = row.locator(f"td[data-label='{TITLE}']")
    expect(cell).to_contain_text("已完成")
    screenshot(page, "tasks-grid")
    expect(cell.locator(f"a[href='/tasks/completions/{completion_id}']")).to_be_visible()
    assert_no_horizontal_scroll(page)
    with page.expect_navigation():
        cell.locator("a").click()
    expect(page.locator("main")).to_contain_text("5 分")
    expect(page.locator("main img[alt='提交的照片']")).to_be_visible()
    assert_no_horizontal_scroll(page)
    _no_problems(page)

    # 4. The points are in the member's ledger, linked to the completion.
    entry = live_server.scalar(
        select(PointEntry.points).where(
            PointEntry.source_type == "task_completion", PointEntry.source_id == completion_id
        )
    )
    assert entry == 5
    phone.goto("/points/mine")
    expect(phone.locator("main")).to_contain_text("自动：红星云学习")
    assert_no_horizontal_scroll(phone)
    _no_problems(phone)
    member_ctx.close()
