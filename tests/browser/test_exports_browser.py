"""A village secretary on a 360 px phone searches the member list and downloads it as .xlsx.

Run: .venv/bin/pytest -q tests/browser/test_exports_browser.py
"""

import json
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect
from python_calamine import CalamineWorkbook
from sqlalchemy import func, select

from baojing.dates import local_today
from baojing.models.audit import AuditEntry
from baojing.models.members import Member
from tests.browser.conftest import assert_no_horizontal_scroll, sign_in

pytestmark = pytest.mark.browser


def test_secretary_searches_and_exports_what_is_shown(live_server, page, tmp_path):
    name = live_server.member_name
    hits = live_server.scalar(
        select(func.count()).where(
            Member.village_id == live_server.village_id, Member.status == "active",
            Member.name.contains(name),
        )
    )  # fmt: skip
    sign_in(page, "secretary")
    page.goto("/members/")
    with page.expect_response(lambda r: urlsplit(r.url).path == "/members/"):
        page.locator("#q").press_sequentially(name, delay=40)
    expect(page.locator("#member-results")).to_contain_text(f"共 {hits} 人")
    button = page.locator("#member-results form.export button")
    expect(button).to_have_text(f"导出 Excel（{hits} 人）")
    expect(page.locator("#member-results form.export")).to_contain_text("含完整身份证号")
    assert_no_horizontal_scroll(page)

    with page.expect_download() as download:
        button.click()
    saved = tmp_path / "export.xlsx"
    download.value.save_as(saved)
    assert download.value.suggested_filename == f"流动党员-{local_today():%Y%m%d}.xlsx"
    rows = CalamineWorkbook.from_path(str(saved)).get_sheet_by_index(0).to_python()
    names = [row[0] for row in rows[1:]]
    assert name in names and len(names) == hits  # exactly what the page showed
    assert all(name in n for n in names)
    ids = [row[rows[0].index("身份证号")] for row in rows[1:]]
    assert all("********" in i for i in ids), "the box was not ticked: IDs stay masked"

    # The page stayed where it was, and the name is in no URL.
    assert urlsplit(page.url).path == "/members/" and not urlsplit(page.url).query
    assert name not in download.value.url
    after = live_server.scalar(
        select(AuditEntry.after).where(AuditEntry.action == "export.members")
    )
    assert json.loads(after) == {"rows": hits, "full_id": False, "filters": ["q"]}
    assert page.problems.unexpected() == []
