"""A county's first day, from an empty database, on a 360 px screen.

`flask setup` → the admin logs in with the one-time password and replaces it → creates a
village → imports a 200-row roster with 12 bad rows → sees the 12, downloads the error
file, fixes two and sends it back → 190 members, none twice.
"""

from datetime import date

import pytest
import python_calamine
from flask_migrate import upgrade
from sqlalchemy import func, select

from baojing.extensions import db
from baojing.models import Member, OrgUnit
from tests.browser.conftest import (
    assert_no_horizontal_scroll,
    browser_app,
    new_context,
    screenshot,
    serve,
)
from tests.factories import resident_id
from tests.roster_files import HEADINGS, member_row, write_xlsx

pytestmark = pytest.mark.browser

NEW_PASSWORD = "酉水河边 吊脚楼 2026"


@pytest.fixture
def empty_server(browser_database):
    """A migrated, empty database after `flask setup`, served on an ephemeral port."""
    app = browser_app(browser_database)
    with app.app_context():
        upgrade()
        result = app.test_cli_runner().invoke(args=["setup", "--admin", "zzb"])
        assert result.exit_code == 0, result.output
        db.session.remove()
    line = next(x for x in result.output.splitlines() if x.startswith("一次性密码："))
    with serve(app) as url:
        yield app, url, line.removeprefix("一次性密码：").split("（")[0]


def _roster(tmp_path):
    """188 good rows in 踏梯村 (made in the test) and 12 bad ones, shuffled in."""
    rows = [member_row("踏梯村", 姓名=f"第{n}号") for n in range(188)]
    bad = []
    for n in range(2):
        wrong = member_row("踏梯村", 姓名=f"校验错{n}")
        last = wrong["身份证号"][-1]
        wrong["身份证号"] = wrong["身份证号"][:-1] + ("1" if last != "1" else "2")
        bad.append(wrong)
    bad += [member_row("踏梯村", 姓名=f"重复{n}", 身份证号=rows[n]["身份证号"]) for n in range(2)]
    bad += [member_row("白岩村", township="火星镇", 姓名=f"外星{n}") for n in range(2)]
    bad += [member_row("踏梯村", 姓名=f"日期错{n}", 入党时间="2011年13月") for n in range(2)]
    bad += [member_row("踏梯村", 姓名=f"手机错{n}", 手机号码="0743-123") for n in range(2)]
    bad.append(member_row("踏梯村", 姓名="太年轻", 身份证号=resident_id(date(2000, 5, 1)),
                          入党时间=date(2010, 1, 1)))  # fmt: skip
    bad.append(member_row("踏梯村", 姓名="", 手机号码="13812345678"))
    for n, row in enumerate(bad):
        rows.insert(15 * n + 7, row)
    return write_xlsx(tmp_path / "迁陵镇花名册.xlsx", rows)


def test_a_county_starts_from_nothing_but_its_roster(browser, empty_server, tmp_path):
    app, url, one_time = empty_server
    ctx = new_context(browser, url, accept_downloads=True)
    ctx.set_default_timeout(15_000)
    page = ctx.new_page()

    # 1. The first admin logs in with the one-time password and must replace it.
    page.goto("/login")
    page.fill("#username", "zzb")
    page.fill("#password", one_time)
    with page.expect_navigation():
        page.click("form button[type=submit]:has-text('登录')")
    assert page.url.endswith("/account/password")
    page.fill("#current_password", one_time)
    page.fill("#new_password", NEW_PASSWORD)
    page.fill("#confirm", NEW_PASSWORD)
    with page.expect_navigation():
        page.click("main form button[type=submit]")
    assert "/account/password" not in page.url

    # 2. The admin creates 踏梯村 in 迁陵镇.
    with app.app_context():
        qianling = db.session.scalar(select(OrgUnit.id).where(OrgUnit.name == "迁陵镇"))
        db.session.remove()
    page.goto(f"/branches/new?kind=village&township={qianling}")
    page.fill("#name", "踏梯村")
    with page.expect_navigation():
        page.click("main form button[type=submit]:has-text('新建')")
    assert "踏梯村" in page.content()

    # 3. The roster goes up; the preview finds the 12.
    page.goto("/members/import")
    assert_no_horizontal_scroll(page)
    screenshot(page, "county-import-upload")
    page.set_input_files("#file", str(_roster(tmp_path)))
    with page.expect_navigation():
        page.click("main form button[type=submit]:has-text('上传并检查')")
    summary = page.locator("#summary").inner_text()
    assert "188 人可新增登记" in summary and "12 行有问题" in summary
    assert page.locator("#refusals li").count() == 12
    assert_no_horizontal_scroll(page)
    screenshot(page, "county-import-preview")
    with page.expect_navigation():
        page.click("button:has-text('确认导入')")
    page.wait_for_selector("#result", timeout=30_000)
    assert "新增 188 人" in page.locator("#result").inner_text().replace("\n", " ")
    screenshot(page, "county-import-done")

    # 4. The error file comes down; two rows are fixed and it goes back up.
    with page.expect_download() as download:
        page.click("a:has-text('下载出错行')")
    saved = tmp_path / "出错行.xlsx"
    download.value.save_as(saved)
    sheet = python_calamine.CalamineWorkbook.from_path(str(saved)).get_sheet_by_index(0)
    cells = sheet.to_python()
    assert cells[0] == [*HEADINGS, "错误"] and len(cells) == 13
    fixed = [dict(zip(cells[0], row, strict=True)) for row in cells[1:]]
    for row in fixed:
        if row["姓名"] == "日期错0":
            row["入党时间"] = "2011.11"
        if row["姓名"] == "手机错0":
            row["手机号码"] = "13907430000"
    again = write_xlsx(tmp_path / "改好的.xlsx", fixed, headings=cells[0], title="出错行")
    page.goto("/members/import")
    page.set_input_files("#file", str(again))
    with page.expect_navigation():
        page.click("main form button[type=submit]:has-text('上传并检查')")
    assert "2 人可新增登记" in page.locator("#summary").inner_text()
    with page.expect_navigation():
        page.click("button:has-text('确认导入')")
    page.wait_for_selector("#result", timeout=30_000)

    # 5. 190 members, each ID number once.
    with app.app_context():
        total = db.session.scalar(select(func.count()).select_from(Member))
        distinct = db.session.scalar(select(func.count(func.distinct(Member.id_number))))
        db.session.remove()
    assert total == distinct == 190
    page.goto("/members/")
    assert "190" in page.locator("#member-results").inner_text()
    ctx.close()
