"""帮带 on a 360 px phone: a township officer finds a mentor for a new entrepreneur (htmx),
proposes him, the mentor accepts on his own phone, and both sides then see the pairing with
each other's number; the mentor pool form refuses a capacity of 0 next to the field.

Run: .venv/bin/pytest -q tests/browser/test_mentors_browser.py
"""

import re
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from baojing.extensions import db
from baojing.models.mentors import MentorProfile, Mentorship
from baojing.models.users import User
from tests.browser.conftest import (
    PageProblems,
    assert_no_horizontal_scroll,
    menu_link,
    new_context,
    sign_in,
)

pytestmark = pytest.mark.browser

PHONE = re.compile(r"1\d{10}")  # a mainland mobile number, as the demo's phones are


def _no_problems(page) -> None:
    problems = page.problems.unexpected()
    assert problems == [], f"{page.url}: console errors / CSP violations:\n" + "\n".join(problems)


def _fits(page) -> None:
    """The page as it is now: no sideways scroll and nothing in the console."""
    assert_no_horizontal_scroll(page)
    _no_problems(page)


def _phone_page(browser, live_server):
    """A second (third, …) phone: its own context, cookies and console."""
    ctx = new_context(browser, live_server.url)
    ctx.set_default_timeout(5_000)
    pg = ctx.new_page()
    pg.problems = PageProblems()
    pg.problems.attach(pg)
    return ctx, pg


def _demo_mentor(live_server):
    """The demo account `mentor`: (member id, name, phone, mentor profile id)."""
    member_id = live_server.scalar(select(User.member_id).where(User.username == "mentor"))
    assert member_id is not None, "the demo data should hold the account `mentor`"
    profile_id = live_server.scalar(
        select(MentorProfile.id).where(MentorProfile.member_id == member_id)
    )
    assert profile_id is not None, "the demo `mentor` should be in the mentor pool"
    m = live_server.member(member_id)
    return member_id, m.name, m.phone, profile_id


def _tel_links(page):
    return page.locator("main a[href^='tel:']")


def _pairing_row(page, pairing_id: int):
    return page.locator(f"main a.row-link[href='/mentors/pairings/{pairing_id}']")


def test_township_finds_a_mentor_who_accepts_and_both_see_the_pairing(live_server, page, browser):
    """资料 → 找导师 → 查找导师 (htmx) → 提议 → 待确认; mentor: 我愿意帮带 → 帮带中; mentee sees it."""
    mentee = live_server.member(live_server.member_id)
    mentor_member_id, mentor_name, mentor_phone, mentor_profile_id = _demo_mentor(live_server)
    assert mentee.phone and mentor_phone and mentee.phone != mentor_phone
    suggest_path = f"/mentors/suggest/{mentee.id}"

    # The township officer, on the member's profile.
    sign_in(page, "township")
    page.goto(f"/members/{mentee.id}")
    expect(page.get_by_role("heading", level=1)).to_contain_text(mentee.name)
    with page.expect_navigation():
        page.get_by_role("link", name="找导师", exact=True).click()
    assert urlsplit(page.url).path == suggest_path
    expect(page.get_by_role("heading", name=f"找导师：{mentee.name}")).to_be_visible()
    expect(page.locator("#suggestions")).to_be_empty()
    _fits(page)

    # 查找导师: an htmx GET of the list into #suggestions, not a page load.
    page.evaluate("window.__samePage = 'still here'")
    with page.expect_response(
        lambda r: urlsplit(r.url).path == f"{suggest_path}/list" and r.request.method == "GET"
    ) as listed:
        page.get_by_role("link", name="查找导师").click()
    answer = listed.value
    assert answer.status == 200
    assert answer.request.headers.get("hx-request") == "true", "the list was not asked by htmx"
    assert "<html" not in answer.text().lower(), "the server sent a whole page, not the fragment"
    suggestions = page.locator("#suggestions ol.suggestions > li")
    expect(suggestions.first).to_be_visible()
    assert urlsplit(page.url).path == suggest_path, f"the page navigated to {page.url}"
    assert page.evaluate("window.__samePage") == "still here", "the page was reloaded"
    expect(page.locator("main h1")).to_have_count(1)  # swapped into the page, not nested

    # The demo mentor comes first, and says why: same trade, same city.
    best = suggestions.first
    expect(best.locator(".row-title")).to_contain_text(mentor_name)
    reasons = best.locator(".row-meta")
    expect(reasons).to_contain_text(f"同行业（{mentee.trade}）")
    expect(reasons).to_contain_text(f"同在{mentee.dest_city}")
    expect(reasons).to_contain_text("还可带")
    expect(best.locator("input[name=mentor_id]")).to_have_value(str(mentor_profile_id))
    expect(page.locator("#suggestions")).not_to_contain_text(mentee.name + " ·")  # not himself
    # Consent is never pre-ticked: the branch ticks it after asking 向光明.
    consent = best.get_by_label(re.compile("本人已同意"))
    expect(consent).not_to_be_checked()
    consent.check()
    _fits(page)

    # 提议由 … 帮带 → the pairing page: 待确认, no number shown to anyone yet.
    with page.expect_navigation():
        best.get_by_role("button", name=f"提议由 {mentor_name} 帮带").click()
    m = re.fullmatch(r"/mentors/pairings/(\d+)", urlsplit(page.url).path)
    assert m, f"the proposal did not land on a pairing page: {page.url}"
    pairing_id = int(m.group(1))
    expect(page.locator("#messages .flash.success")).to_have_text("已提议结对，等导师确认")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"{mentor_name} 带 {mentee.name}")
    card = page.locator("main .card").first
    expect(card.locator(".badge")).to_have_text("待确认")
    expect(card.locator("dt:text-is('导师确认') + dd")).to_have_text("待确认")
    expect(card.locator("dt:text-is('本人确认') + dd")).not_to_have_text("待确认")
    expect(_tel_links(page)).to_have_count(0)
    main_text = page.locator("main").inner_text()
    assert mentee.phone not in main_text and mentor_phone not in main_text
    assert not PHONE.search(main_text), "a phone number is shown before both accepted"
    expect(page.locator("main")).to_contain_text("双方都确认后，才互相显示联系电话")
    _fits(page)
    ms = live_server.scalar(select(Mentorship).where(Mentorship.id == pairing_id))
    assert (ms.status, ms.mentor_id, ms.mentee_member_id) == (
        "proposed",
        mentor_profile_id,
        mentee.id,
    )
    assert ms.mentee_accepted_at is not None and ms.mentor_accepted_at is None

    # The mentor, on his own phone: 帮带 in the menu, the pairing waiting for him.
    ctx, mentor = _phone_page(browser, live_server)
    try:
        sign_in(mentor, "mentor")
        with mentor.expect_navigation():
            menu_link(mentor, "帮带").click()
        assert urlsplit(mentor.url).path == "/mentors/"
        row = _pairing_row(mentor, pairing_id)
        expect(row).to_contain_text(f"{mentor_name} 带 {mentee.name}")
        expect(row.locator(".badge")).to_have_text("待确认")
        _fits(mentor)
        with mentor.expect_navigation():
            row.click()
        assert urlsplit(mentor.url).path == f"/mentors/pairings/{pairing_id}"
        expect(_tel_links(mentor)).to_have_count(0)
        assert mentee.phone not in mentor.locator("main").inner_text()
        _fits(mentor)
        with mentor.expect_navigation():
            mentor.get_by_role("button", name="我愿意帮带").click()
        assert urlsplit(mentor.url).path == f"/mentors/pairings/{pairing_id}"
        expect(mentor.locator("#messages .flash.success")).to_have_text("已确认")
        expect(mentor.locator("main .card").first.locator(".badge")).to_have_text("帮带中")
        # Now the mentee's number is his to call; his own is not repeated to him.
        tel = _tel_links(mentor)
        expect(tel).to_have_count(1)
        expect(tel).to_have_text(mentee.phone)
        expect(tel).to_have_attribute("href", f"tel:{mentee.phone}")
        assert mentor_phone not in mentor.locator("main").inner_text()
        expect(mentor.get_by_role("heading", name="回访记录")).to_be_visible()
        _fits(mentor)
        mentor.goto("/mentors/")
        expect(_pairing_row(mentor, pairing_id).locator(".badge")).to_have_text("帮带中")
        expect(mentor.locator("main .card").first).to_contain_text("正在帮带 1 / 2 人")
        _fits(mentor)
    finally:
        ctx.close()

    ms = live_server.scalar(select(Mentorship).where(Mentorship.id == pairing_id))
    assert ms.status == "active" and ms.started_on is not None
    taken = live_server.scalar(
        select(MentorProfile.active_mentees).where(MentorProfile.id == mentor_profile_id)
    )
    assert taken == 1

    # 向光明 himself (the demo `member`): his mentor, 帮带中, with the mentor's number.
    ctx, member = _phone_page(browser, live_server)
    try:
        sign_in(member, "member")
        with member.expect_navigation():
            menu_link(member, "帮带").click()
        assert urlsplit(member.url).path == "/mentors/"
        row = _pairing_row(member, pairing_id)
        expect(row).to_contain_text(f"{mentor_name} 带 {mentee.name}")
        expect(row.locator(".badge")).to_have_text("帮带中")
        _fits(member)
        with member.expect_navigation():
            row.click()
        expect(member.locator("main .card").first.locator(".badge")).to_have_text("帮带中")
        tel = _tel_links(member)
        expect(tel).to_have_count(1)
        expect(tel).to_have_text(mentor_phone)
        expect(tel).to_have_attribute("href", f"tel:{mentor_phone}")
        assert mentee.phone not in member.locator("main").inner_text()
        _fits(member)
    finally:
        ctx.close()

    # The township officer's own list shows it too, now 帮带中.
    page.goto("/mentors/")
    expect(_pairing_row(page, pairing_id).locator(".badge")).to_have_text("帮带中")
    _fits(page)
    # The suggestion page again: the list still loads (one place left for the mentor).
    page.goto(suggest_path)
    page.get_by_role("link", name="查找导师").click()
    expect(page.locator("#suggestions ol.suggestions > li").first).to_be_visible()
    _fits(page)


def test_mentor_pool_form_saves_and_refuses_capacity_zero(live_server, page):
    """资料 → 登记导师: capacity 0 is refused next to the field (422); 3 is saved."""
    member = live_server.member(live_server.member_id)  # 向光明 is not in the demo's pool
    assert (
        live_server.scalar(select(MentorProfile.id).where(MentorProfile.member_id == member.id))
        is None
    )
    pool_path = f"/mentors/pool/{member.id}"

    sign_in(page, "township")
    page.goto(f"/members/{member.id}")
    with page.expect_navigation():
        page.get_by_role("link", name="登记导师", exact=True).click()
    assert urlsplit(page.url).path == pool_path
    expect(page.get_by_role("heading", name=f"帮带导师：{member.name}")).to_be_visible()
    # Filled in from the member's record.
    expect(page.get_by_label("行业")).to_have_value(member.trade)
    expect(page.get_by_label("所在城市")).to_have_value(member.dest_city)
    expect(page.get_by_label("最多同时帮带几人")).to_have_value("2")
    expect(page.get_by_label("现在可以接受新的帮带")).to_be_checked()
    _fits(page)

    page.get_by_label("经验").fill("在宁波做装修十年，带过二十人的班组（浏览器测试）")
    capacity = page.get_by_label("最多同时帮带几人")
    capacity.fill("0")
    with page.expect_response(
        lambda r: urlsplit(r.url).path == pool_path and r.request.method == "POST"
    ) as posted:
        page.get_by_role("button", name="保存").click()
    assert posted.value.status == 422
    page.wait_for_load_state()
    error = page.locator("#capacity-error")
    expect(error).to_have_text("请填写 1 到 10 人")
    expect(error).to_have_attribute("role", "alert")
    expect(capacity).to_have_attribute("aria-invalid", "true")
    # Next to the field: inside the same .field block, right under the input.
    assert capacity.evaluate("el => el.closest('.field').querySelector('.field-error').id") == (
        "capacity-error"
    )
    cap_box, err_box = capacity.bounding_box(), error.bounding_box()
    assert 0 <= err_box["y"] - (cap_box["y"] + cap_box["height"]) < 60, (cap_box, err_box)
    expect(page.get_by_label("经验")).to_have_value(re.compile("带过二十人的班组"))
    assert (
        live_server.scalar(select(MentorProfile.id).where(MentorProfile.member_id == member.id))
        is None
    ), "a refused form saved a profile"
    assert_no_horizontal_scroll(page)
    # The refused POST is the only failed load in the console (422 is expected here).
    problems = page.problems.unexpected(pool_path)
    assert problems == [], "console errors:\n" + "\n".join(problems)

    capacity.fill("3")
    with page.expect_navigation():
        page.get_by_role("button", name="保存").click()
    assert urlsplit(page.url).path == pool_path
    expect(page.locator("#messages .flash.success")).to_have_text("已保存导师信息")
    expect(page.locator("main")).to_contain_text("正在帮带 0 / 3 人")
    expect(page.get_by_label("最多同时帮带几人")).to_have_value("3")
    expect(page.locator("#capacity-error")).to_have_text("")
    assert_no_horizontal_scroll(page)
    with live_server.app.app_context():
        try:
            profile = db.session.scalar(
                select(MentorProfile).where(MentorProfile.member_id == member.id)
            )
            assert (profile.capacity, profile.trade, profile.available) == (3, member.trade, True)
            assert "带过二十人的班组" in profile.experience
        finally:
            db.session.remove()
    problems = page.problems.unexpected(pool_path)
    assert problems == [], "console errors:\n" + "\n".join(problems)
