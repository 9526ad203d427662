"""小个专, honours and events on a 360 px phone: a township's enterprise from registration to
the totals, and every page of this part fitting the screen without console errors.

Run: .venv/bin/pytest -q tests/browser/test_enterprises_browser.py
"""

import random
import re
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from baojing.dates import local_today
from baojing.demo import enterprises as demo_enterprises
from baojing.extensions import db
from baojing.models.mentors import (
    CreditSupport,
    Difficulty,
    Enterprise,
    Event,
    HonourRecommendation,
    Invitation,
)
from baojing.models.org import OrgUnit
from baojing.models.users import User
from baojing.money import wan, yuan
from baojing.services.mentors import enterprises as svc
from tests.browser.conftest import assert_no_horizontal_scroll, sign_in

pytestmark = pytest.mark.browser

NAME = "迁陵镇黄金茶返乡创业合作社"
DIFFICULTY = "新茶上市前缺少冷库，存放困难（浏览器测试）"


@pytest.fixture
def enterprises_app(live_server):
    """The demo's enterprises, honours and 春节座谈会 on top of the browser demo data."""
    with live_server.app.app_context():
        try:
            # Until `flask demo load` includes it, the browser demo has none of this part.
            if db.session.scalar(select(Enterprise.id).limit(1)) is None:
                users = {u.username: u for u in db.session.scalars(select(User))}
                demo_enterprises.load(db.session, random.Random(5), local_today(), users)
                db.session.commit()
        finally:
            db.session.remove()
    return live_server


def _totals_for(live_server, username: str) -> svc.Figures:
    with live_server.app.app_context():
        try:
            user = db.session.scalar(select(User).where(User.username == username))
            return svc.totals(user).total
        finally:
            db.session.remove()


def _first(live_server, model, *where) -> int:
    row_id = live_server.scalar(select(model.id).where(*where).order_by(model.id))
    assert row_id is not None, f"the demo data should hold a {model.__name__} here"
    return row_id


def _no_problems(page, *expected_error_paths: str) -> None:
    problems = page.problems.unexpected(*expected_error_paths)
    assert problems == [], "console errors / CSP violations:\n" + "\n".join(problems)


def _visit_all(page, paths) -> None:
    for path in paths:
        response = page.goto(path)
        assert response.status == 200, (path, response.status)
        expect(page.locator("main h1")).to_have_count(1)
        assert_no_horizontal_scroll(page)
    _no_problems(page)


def test_township_registers_an_enterprise_and_sees_it_in_the_totals(enterprises_app, page):
    """登记企业 → 登记贷款 → 登记困难 → 协调解决 → 汇总 shows the loan and the difficulty."""
    before = _totals_for(enterprises_app, "township")
    sign_in(page, "township")
    page.goto("/mentors/enterprises")
    assert_no_horizontal_scroll(page)
    with page.expect_navigation():
        page.get_by_role("link", name="登记企业").click()
    assert urlsplit(page.url).path == "/mentors/enterprises/new"
    page.get_by_label("企业名称").fill(NAME)
    page.get_by_label("小微企业").check()
    expect(page.get_by_label("所属乡镇")).to_have_value(
        str(enterprises_app.scalar(select(OrgUnit.id).where(OrgUnit.name == "迁陵镇")))
    )
    page.get_by_label("经营地点").fill("浙江省宁波市北仑区")
    page.get_by_label("行业").fill("茶叶")
    page.get_by_label("企业中的党员人数").fill("5")
    page.get_by_label("已建立党组织").check()
    assert_no_horizontal_scroll(page)
    with page.expect_navigation():
        page.get_by_role("button", name="登记", exact=True).click()
    enterprise_id = enterprises_app.scalar(select(Enterprise.id).where(Enterprise.name == NAME))
    assert urlsplit(page.url).path == f"/mentors/enterprises/{enterprise_id}"
    expect(page.locator("#messages .flash.success")).to_have_text(f"已登记：{NAME}")
    expect(page.get_by_role("heading", name=NAME)).to_be_visible()
    assert_no_horizontal_scroll(page)

    # A loan: a first try with a negative amount is refused next to the field.
    page.get_by_text("登记一笔贷款", exact=True).click()
    page.get_by_label("贷款银行").fill("保靖农商银行")
    page.get_by_label("金额（元）").fill("-500")
    with page.expect_navigation():
        page.get_by_role("button", name="保存贷款").click()
    expect(page.locator("#amount-error")).to_have_text("金额不能为负数")
    expect(page.get_by_label("金额（元）")).to_have_attribute("aria-invalid", "true")
    assert (
        enterprises_app.scalar(
            select(CreditSupport.id).where(CreditSupport.enterprise_id == enterprise_id)
        )
        is None
    )
    assert_no_horizontal_scroll(page)
    page.get_by_label("金额（元）").fill("120000.50")
    with page.expect_navigation():
        page.get_by_role("button", name="保存贷款").click()
    expect(page.locator("#messages .flash.success")).to_have_text("已登记贷款 120,000.50 元")
    expect(page.locator("#credits")).to_contain_text("已放款合计 120,000.50 元")

    # A difficulty, then its resolution.
    page.get_by_text("登记困难诉求", exact=True).click()
    page.get_by_label("困难或诉求").fill(DIFFICULTY)
    with page.expect_navigation():
        page.locator("#difficulties").get_by_role("button", name="保存", exact=True).click()
    item = page.locator("#difficulties li.difficulty", has_text=DIFFICULTY)
    expect(item.locator(".badge")).to_have_text("待协调")
    with page.expect_navigation():
        item.get_by_role("link", name="协调解决 ›").click()
    expect(page.get_by_role("heading", name="协调解决")).to_be_visible()
    assert_no_horizontal_scroll(page)
    page.get_by_label("协调人/单位").fill("县供销社")
    page.get_by_label("解决情况").fill("借用县供销社冷库，按成本价收费")
    with page.expect_navigation():
        page.get_by_role("button", name="已解决，保存").click()
    item = page.locator("#difficulties li.difficulty", has_text=DIFFICULTY)
    expect(item.locator(".badge")).to_have_text("已解决")
    expect(item).to_contain_text("县供销社")
    assert (
        enterprises_app.scalar(
            select(Difficulty.resolved_on).where(Difficulty.description == DIFFICULTY)
        )
        == local_today()
    )

    # The totals: the township's figures moved by exactly this loan and this difficulty.
    with page.expect_navigation():
        page.get_by_role("link", name="‹ 小个专企业").click()
    with page.expect_navigation():
        page.get_by_role("link", name="汇总数据").click()
    assert urlsplit(page.url).path == "/mentors/enterprises/totals"
    lent = before.lent_fen + 12_000_050
    expect(page.locator("[data-figure=enterprises]")).to_have_text(str(before.enterprises + 1))
    expect(page.locator("[data-figure=lent-yuan]")).to_have_text(yuan(lent))
    expect(page.locator("[data-figure=lent-wan]")).to_have_text(wan(lent))
    expect(page.locator("[data-figure=raised]")).to_have_text(str(before.difficulties + 1))
    expect(page.locator("[data-figure=resolved]")).to_have_text(str(before.resolved + 1))
    assert_no_horizontal_scroll(page)
    # The refused amount came back as a 422 page, which the browser logs as a failed load.
    _no_problems(page, f"/mentors/enterprises/{enterprise_id}/credits")


def test_township_pages_fit(enterprises_app, page):
    qianling = enterprises_app.scalar(select(OrgUnit.id).where(OrgUnit.name == "迁陵镇"))
    # Which of 迁陵镇's enterprises the demo gave a loan depends on the day it was loaded.
    in_qianling = select(Enterprise.id).where(Enterprise.township_id == qianling)
    credit = _first(enterprises_app, CreditSupport, CreditSupport.enterprise_id.in_(in_qianling))
    enterprise = enterprises_app.scalar(
        select(CreditSupport.enterprise_id).where(CreditSupport.id == credit)
    )
    with enterprises_app.app.app_context():
        try:
            open_difficulty = db.session.execute(
                select(Difficulty.enterprise_id, Difficulty.id)
                .join(Enterprise, Enterprise.id == Difficulty.enterprise_id)
                .where(Enterprise.township_id == qianling, Difficulty.resolved_on.is_(None))
                .limit(1)
            ).first()
        finally:
            db.session.remove()
    honour = _first(
        enterprises_app, HonourRecommendation, HonourRecommendation.township_id == qianling
    )
    meeting = _first(enterprises_app, Event, Event.township_id.is_(None))
    sign_in(page, "township")
    paths = [
        "/mentors/enterprises", "/mentors/enterprises?q=茶", "/mentors/enterprises/new",
        f"/mentors/enterprises/{enterprise}", f"/mentors/enterprises/{enterprise}/members",
        f"/mentors/enterprises/{enterprise}/credits/{credit}", "/mentors/enterprises/totals",
        "/mentors/honours", "/mentors/honours?status=all", "/mentors/honours/pick",
        f"/mentors/honours/new?member_id={enterprises_app.member_id}", f"/mentors/honours/{honour}",
        "/mentors/events", "/mentors/events?past=1", "/mentors/events/new",
        f"/mentors/events/{meeting}", f"/mentors/events/{meeting}/invite",
        f"/mentors/events/{meeting}/invite?village={enterprises_app.village_id}",
    ]  # fmt: skip
    if open_difficulty:
        owner, difficulty = open_difficulty
        paths.append(f"/mentors/enterprises/{owner}/difficulties/{difficulty}/resolve")
    _visit_all(page, paths)

    # The member search as the picker runs it (by POST): results fit too.
    page.goto(f"/mentors/enterprises/{enterprise}/members")
    page.get_by_label("找到党员").fill(enterprises_app.member_name)
    with page.expect_navigation():
        page.get_by_role("button", name="查找").click()
    expect(page.locator("#found li").first).to_contain_text(enterprises_app.member_name)
    assert_no_horizontal_scroll(page)

    # A meeting today: invite a village, then tick who came on the checklist.
    page.goto("/mentors/events/new")
    page.get_by_label("活动名称").fill("迁陵镇返乡创业党员分享会")
    page.get_by_label("活动日期").fill(local_today().isoformat())
    with page.expect_navigation():
        page.get_by_role("button", name="创建，下一步邀请党员").click()
    assert urlsplit(page.url).path.endswith("/invite")
    page.get_by_label("村党支部").select_option(str(enterprises_app.village_id))
    with page.expect_navigation():
        page.get_by_role("button", name="选择").click()
    assert_no_horizontal_scroll(page)
    with page.expect_navigation():
        page.get_by_role("button", name=re.compile("^邀请全村")).click()
    expect(page.locator("#messages .flash.success")).to_contain_text("已邀请")
    invited = int(page.locator("[data-count=invited]").inner_text())
    assert invited > 1
    filter_box = page.locator("[data-filter-checks]")
    expect(filter_box).to_be_visible()
    filter_box.fill(enterprises_app.member_name)
    row = page.locator("#invited label", has_text=f"{enterprises_app.member_name}（")
    expect(row).to_be_visible()
    # Ticked right after typing in the filter: the count must not push the boxes around.
    row.locator("input[type=checkbox]").check()
    expect(page.locator("[data-checked-count]")).to_have_text("，已勾选 1 人")
    with page.expect_navigation():
        page.get_by_role("button", name="保存出席情况").click()
    expect(page.locator("#messages .flash.success")).to_have_text(
        f"已登记出席：到会 1 人，未到 {invited - 1} 人"
    )
    expect(page.locator("[data-count=attended]")).to_have_text("1")
    assert_no_horizontal_scroll(page)
    _no_problems(page)


def test_county_admin_pages_fit(enterprises_app, page):
    enterprise = _first(enterprises_app, Enterprise)
    honour = enterprises_app.scalar(
        select(HonourRecommendation.id).where(HonourRecommendation.status == "reviewing")
    ) or _first(enterprises_app, HonourRecommendation)
    meeting = _first(enterprises_app, Event, Event.township_id.is_(None))
    sign_in(page, "admin")
    _visit_all(page, [
        "/mentors/enterprises", "/mentors/enterprises/totals", "/mentors/enterprises/new",
        f"/mentors/enterprises/{enterprise}", "/mentors/honours", f"/mentors/honours/{honour}",
        "/mentors/events", "/mentors/events/new", f"/mentors/events/{meeting}",
        f"/mentors/events/{meeting}/invite",
    ])  # fmt: skip
    page.goto("/mentors/enterprises/totals")
    expect(page.locator("table tbody tr")).not_to_have_count(0)
    lent = _totals_for(enterprises_app, "admin").lent_fen
    expect(page.locator("[data-figure=lent-yuan]")).to_have_text(yuan(lent))


def test_secretary_pages_fit(enterprises_app, page):
    qianling = enterprises_app.scalar(select(OrgUnit.id).where(OrgUnit.name == "迁陵镇"))
    enterprise = _first(enterprises_app, Enterprise, Enterprise.township_id == qianling)
    meeting = _first(enterprises_app, Event, Event.township_id.is_(None))
    sign_in(page, "secretary")
    _visit_all(page, [
        "/mentors/enterprises", f"/mentors/enterprises/{enterprise}", "/mentors/honours",
        "/mentors/honours/pick", "/mentors/events", f"/mentors/events/{meeting}",
        f"/mentors/events/{meeting}/invite",
    ])  # fmt: skip


def test_member_answers_the_spring_festival_invitation(enterprises_app, page):
    invitation = _first(
        enterprises_app, Invitation, Invitation.member_id == enterprises_app.member_id
    )
    sign_in(page, "member")
    _visit_all(page, ["/mentors/events"])
    card = page.locator(f"#invitation-{invitation}")
    expect(card.get_by_role("heading")).to_have_text("春节返乡流动党员座谈会")
    expect(card.locator(".badge").first).to_have_text("已邀请")
    with page.expect_navigation():
        card.get_by_role("button", name="将参加").click()
    expect(page.locator("#messages .flash.success")).to_have_text("已回复：将参加")
    card = page.locator(f"#invitation-{invitation}")
    expect(card.locator(".badge").first).to_have_text("将参加")
    expect(card.get_by_role("button", name="将参加")).to_have_attribute("aria-pressed", "true")
    assert (
        enterprises_app.scalar(select(Invitation.status).where(Invitation.id == invitation))
        == "accepted"
    )
    for button in card.get_by_role("button").all():
        box = button.bounding_box()
        assert box["height"] >= 44 and box["x"] + box["width"] <= 360, box
    assert_no_horizontal_scroll(page)
    _no_problems(page)
