"""The county keeps the org tree on a 360 px phone: a new village in 迁陵镇, renamed, two
members of 踏梯村 moved there with a reason, and an empty 流动党组织 closed.

Run: .venv/bin/pytest -q tests/browser/test_branches_browser.py
"""

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from baojing.models import AuditEntry
from baojing.models.members import Member
from baojing.models.org import MOBILE_ORG, ONLINE_BRANCH, VILLAGE, OrgUnit
from baojing.models.users import User
from tests.browser.conftest import assert_no_horizontal_scroll, sign_in

pytestmark = pytest.mark.browser


def _no_problems(page, *expected_error_paths: str) -> None:
    problems = page.problems.unexpected(*expected_error_paths)
    assert problems == [], "console errors / CSP violations:\n" + "\n".join(problems)


def _submit(page, label: str) -> None:
    with page.expect_navigation():
        page.locator("main form button[type=submit]", has_text=label).click()


def test_county_admin_creates_renames_moves_into_and_closes(live_server, page):
    sign_in(page, "admin")
    page.goto("/branches/")
    expect(page.locator("main h1")).to_have_text("组织架构")
    assert_no_horizontal_scroll(page)

    # 新建 a village under 迁陵镇, from the township's own row of the tree.
    qianling = page.locator("section.card", has=page.locator("summary", has_text="迁陵镇党委"))
    qianling.locator("summary").first.click()
    with page.expect_navigation():
        qianling.get_by_role("link", name="在迁陵镇新建村党支部").click()
    assert urlsplit(page.url).path == "/branches/new"
    qianling_id = live_server.scalar(select(OrgUnit.id).where(OrgUnit.name == "迁陵镇"))
    expect(page.locator("#township_id")).to_have_value(str(qianling_id))
    assert_no_horizontal_scroll(page)
    page.locator("#name").fill("踏梯村")  # taken: said next to the field, what was typed kept
    page.locator("#code").fill("433125109288")
    _submit(page, "新建")
    expect(page.locator("#name-error")).to_contain_text("已有名为“踏梯村”的村党支部")
    expect(page.locator("#code")).to_have_value("433125109288")
    assert_no_horizontal_scroll(page)
    page.locator("#name").fill("茶香村")
    _submit(page, "新建")
    expect(page.locator("main h1")).to_have_text("茶香村党支部")
    expect(page.locator("#messages")).to_contain_text("已新建村党支部")
    new_id = int(urlsplit(page.url).path.rsplit("/", 1)[1])
    assert_no_horizontal_scroll(page)

    # Rename it.
    with page.expect_navigation():
        page.get_by_role("link", name="修改名称和信息").click()
    expect(page.locator("#name")).to_have_value("茶香村")
    page.locator("#name").fill("茶香新村")
    _submit(page, "保存")
    expect(page.locator("main h1")).to_have_text("茶香新村党支部")
    assert live_server.scalar(select(OrgUnit.name).where(OrgUnit.id == new_id)) == "茶香新村"

    # Move two members of 踏梯村 there, with a reason.
    page.goto(f"/branches/{live_server.village_id}")
    with page.expect_navigation():
        page.get_by_role("link", name="转移党员").click()
    assert urlsplit(page.url).path == f"/branches/{live_server.village_id}/move"
    assert_no_horizontal_scroll(page)
    boxes = page.locator("input[name=member_ids]")
    assert boxes.count() >= 2
    chosen = [int(boxes.nth(i).get_attribute("value")) for i in (0, 1)]
    boxes.nth(0).check()
    boxes.nth(1).check()
    page.locator("#target_id").select_option(label="茶香新村（迁陵镇）")
    page.locator("#reason").fill("搬迁到茶香新村")
    _submit(page, "转移")
    expect(page.locator("#messages")).to_contain_text("已将 2 名党员转到茶香新村")
    for member_id in chosen:
        assert live_server.member(member_id).village_id == new_id
    assert live_server.scalar(select(func.count()).where(AuditEntry.action == "member.move")) == 2
    page.goto(f"/branches/{new_id}")
    expect(page.locator("dt:text-is('在册党员') + dd")).to_have_text("2 人")

    # Close an empty unit of 迁陵镇: no members in it or taking part, no account on it.
    empty_id = live_server.scalar(
        select(OrgUnit.id)
        .where(
            OrgUnit.township_id == qianling_id,
            OrgUnit.kind.in_((VILLAGE, ONLINE_BRANCH, MOBILE_ORG)),
            OrgUnit.closed_at.is_(None),
            ~select(Member.id)
            .where(
                (Member.village_id == OrgUnit.id) | (Member.mobile_org_id == OrgUnit.id),
                Member.status == "active",
            )
            .exists(),
            ~select(User.id).where(User.org_unit_id == OrgUnit.id, User.active).exists(),
        )
        .order_by(OrgUnit.kind, OrgUnit.id)
        .limit(1)
    )
    assert empty_id is not None, "迁陵镇 should have an empty unit: at least its online branch"
    page.goto(f"/branches/{empty_id}")
    with page.expect_navigation():
        page.get_by_role("link", name="撤销该组织").click()
    assert_no_horizontal_scroll(page)
    page.locator("#reason").fill("职能已并入乡镇党委")
    page.once("dialog", lambda dialog: dialog.accept())
    _submit(page, "撤销该组织")
    expect(page.locator("#messages")).to_contain_text("已撤销")
    expect(page.locator(".badge.bad")).to_have_text("已撤销")
    assert live_server.scalar(select(OrgUnit.closed_at).where(OrgUnit.id == empty_id))

    # The tree lists it apart, under 已撤销; the new village is among the open ones.
    page.goto("/branches/")
    qianling.locator("summary").first.click()
    expect(qianling.locator(".closed-units summary")).to_have_text("已撤销（1）")
    expect(qianling.locator(f"a[href='/branches/{new_id}']")).to_have_text("茶香新村党支部")
    assert_no_horizontal_scroll(page)
    assert (
        live_server.scalar(
            select(func.count()).where(OrgUnit.kind == VILLAGE, OrgUnit.name == "茶香新村")
        )
        == 1
    )
    _no_problems(page, "/branches/new")  # the refused duplicate name answered 422
