"""The points store on a 360 px phone: the counter, the member's own page, a batch award.

Run: .venv/bin/pytest -q tests/browser/test_store_browser.py
"""

from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from baojing.dates import local_today, quarter_of
from baojing.extensions import db
from baojing.models.members import Member
from baojing.models.points import CatalogItem, PointAccount, PointEntry, PointRule, Redemption
from tests.browser.conftest import (
    DEMO_PASSWORD,
    PageProblems,
    assert_no_horizontal_scroll,
    menu_link,
    sign_in,
)

pytestmark = pytest.mark.browser

RICE = "大米 10 斤"  # demo_points.ITEMS: 50 points, 400 in stock


def _is_post(path: str):
    def check(response) -> bool:
        return urlsplit(response.url).path == path and response.request.method == "POST"

    return check


def _balance(live_server, member_id: int) -> int:
    return (
        live_server.scalar(
            select(func.coalesce(PointAccount.balance, 0)).where(
                PointAccount.member_id == member_id
            )
        )
        or 0
    )


def _redemption_count(live_server, member_id: int) -> int:
    return live_server.scalar(
        select(func.count()).select_from(Redemption).where(Redemption.member_id == member_id)
    )


def _counter_member(live_server, price: int) -> tuple[int, str, int]:
    """A 踏梯村 member who can afford the item twice, so a duplicate redemption would go through.

    The demo's 向光明 has about 55 points: one 大米 and a second one would be refused for the
    balance alone, which would hide a missing double-click protection. The richest member of
    the village (the demo is seeded, the balance depends on today's date) is taken instead.
    """
    with live_server.app.app_context():
        try:
            row = db.session.execute(
                select(Member.id, Member.name, PointAccount.balance)
                .join(PointAccount, PointAccount.member_id == Member.id)
                .where(Member.village_id == live_server.village_id, Member.status == "active")
                .order_by(PointAccount.balance.desc(), Member.id)
                .limit(1)
            ).one()
        finally:
            db.session.remove()
    member_id, name, balance = row
    assert balance >= 2 * price, f"the richest 踏梯村 member has only {balance} points"
    return member_id, name, balance


def _recent_receipts(page):
    return page.locator("#counter-panel section.card:has(h2:text-is('最近兑换')) ul.list > li")


def _offer(page, item_name: str):
    return page.locator("#counter-panel li.offer").filter(
        has=page.locator(".row-title", has_text=item_name)
    )


def test_clerk_serves_a_member_at_the_counter(live_server, page, context):
    """Look-up → panel → 兑换 (no reload) → double tap redeems once → receipt → 冲正."""
    price = live_server.scalar(select(CatalogItem.price).where(CatalogItem.name == RICE))
    assert price == 50
    member_id, name, start = _counter_member(live_server, price)
    redemptions_before = _redemption_count(live_server, member_id)

    sign_in(page, "clerk")
    with page.expect_navigation():
        page.get_by_role("link", name="积分超市", exact=True).click()
    assert urlsplit(page.url).path == "/store/counter"
    expect(page.get_by_role("heading", name="积分超市柜台", exact=True)).to_be_visible()
    assert_no_horizontal_scroll(page)
    page.evaluate("window.__marker = 1")

    # Type the name: htmx fills in the results under the search box.
    member_link = page.locator(f"#lookup-results a[href='/store/counter?member={member_id}']")
    with page.expect_response(_is_post("/store/counter/lookup")) as lookup:
        page.locator("#counter-q").press_sequentially(name, delay=40)
    assert lookup.value.status == 200
    expect(member_link).to_be_visible()
    expect(member_link).to_contain_text(name)
    expect(member_link).to_contain_text(f"{start} 分")
    assert_no_horizontal_scroll(page)

    # Tap the member: the panel shows the balance and the catalogue.
    member_link.click()
    expect(page.locator("#member-panel")).to_have_attribute("data-member", str(member_id))
    expect(page.locator("#balance")).to_have_text(str(start))
    expect(page.locator("#member-panel h2")).to_contain_text(name)
    assert parse_qs(urlsplit(page.url).query).get("member") == [str(member_id)]
    assert page.evaluate("window.__marker") == 1, "opening the member reloaded the page"
    expect(page.locator("h1")).to_have_count(1)
    assert_no_horizontal_scroll(page)

    rice = _offer(page, RICE)
    expect(rice).to_have_count(1)
    expect(rice.locator("button", has_text="兑换")).to_be_enabled()
    receipts = _recent_receipts(page)
    receipts_before = receipts.count()

    # 兑换: a success box with the serial, the balance down by the price, no reload.
    with page.expect_response(_is_post("/store/redeem")) as redeemed:
        rice.locator("button", has_text="兑换").click()
    assert redeemed.value.status == 200
    success = page.locator("#last-receipt")
    expect(success).to_be_visible()
    expect(success).to_contain_text(RICE)
    serial = success.locator("strong").inner_text().strip()
    assert serial.startswith("JF"), serial
    expect(page.locator("#balance")).to_have_text(str(start - price))
    assert _balance(live_server, member_id) == start - price
    assert page.evaluate("window.__marker") == 1, "redeeming reloaded the page"
    expect(receipts).to_have_count(receipts_before + 1)
    expect(receipts.first).to_contain_text(serial)
    assert_no_horizontal_scroll(page)

    # A double tap on 兑换 redeems once: hx-disable="find button" disables the button while
    # the request is on its way (the server would also refuse a replayed request_id).
    posts = []
    page.on(
        "request",
        lambda r: (
            posts.append(r.post_data)
            if urlsplit(r.url).path == "/store/redeem" and r.method == "POST"
            else None
        ),
    )
    button = _offer(page, RICE).locator("button", has_text="兑换")
    expect(button).to_be_enabled()
    button.evaluate(
        """b => {
            window.__disabledWhileSending = false;
            new MutationObserver(() => { if (b.disabled) window.__disabledWhileSending = true; })
                .observe(b, {attributes: true, attributeFilter: ["disabled"]});
        }"""
    )
    with page.expect_response(_is_post("/store/redeem")) as redeemed_again:
        button.dblclick()
    assert redeemed_again.value.status == 200
    expect(page.locator("#last-receipt strong")).not_to_have_text(serial)
    page.wait_for_load_state("networkidle")
    second = page.locator("#last-receipt strong").inner_text().strip()
    assert second.startswith("JF") and second != serial
    expect(page.locator("#balance")).to_have_text(str(start - 2 * price))
    expect(receipts).to_have_count(receipts_before + 2)
    assert _balance(live_server, member_id) == start - 2 * price
    assert _redemption_count(live_server, member_id) == redemptions_before + 2
    assert page.evaluate("window.__disabledWhileSending"), "兑换 was not disabled in flight"
    assert len(posts) == 1, f"a double tap sent {len(posts)} redemption requests"
    assert page.evaluate("window.__marker") == 1, "redeeming reloaded the page"

    # 打印小票 opens the receipt in a new tab.
    print_link = page.locator("#last-receipt a:has-text('打印小票')")
    expect(print_link).to_have_attribute("target", "_blank")
    popup_problems = PageProblems()
    context.on("page", popup_problems.attach)
    with context.expect_page() as popup:
        print_link.click()
    receipt = popup.value
    receipt.wait_for_load_state()
    assert urlsplit(receipt.url).path == f"/store/receipts/{second}"
    card = receipt.locator("article.receipt")
    expect(card).to_contain_text(second)
    expect(card.locator("dt:text-is('党员') + dd")).to_have_text(name)
    expect(card.locator("dt:text-is('项目') + dd")).to_have_text(RICE)
    expect(card.locator("dt:text-is('扣除积分') + dd")).to_contain_text(str(price))
    assert_no_horizontal_scroll(receipt)
    problems = popup_problems.unexpected()
    assert problems == [], "console errors on the receipt tab:\n" + "\n".join(problems)
    receipt.close()

    # The first receipt, from 最近兑换, reversed with a reason.
    with page.expect_navigation():
        receipts.filter(has_text=serial).locator("a").click()
    assert urlsplit(page.url).path == f"/store/receipts/{serial}"
    expect(page.locator("article.receipt dt:text-is('党员') + dd")).to_have_text(name)
    expect(page.locator("article.receipt dt:text-is('项目') + dd")).to_have_text(RICE)
    expect(page.locator("article.receipt .serial")).to_contain_text(serial)
    expect(page.locator("article.receipt")).not_to_contain_text("已冲正")
    assert_no_horizontal_scroll(page)
    page.locator("details summary", has_text="冲正").click()
    reason = "浏览器测试：误点了大米，党员要的是食用油"
    page.locator("#reason").fill(reason)
    with page.expect_navigation():
        page.get_by_role("button", name="确认冲正").click()
    assert urlsplit(page.url).path == f"/store/receipts/{serial}"
    expect(page.locator("main .flash.success")).to_contain_text("已冲正")
    expect(page.locator("article.receipt .badge")).to_have_text("已冲正")
    expect(page.locator("article.receipt")).to_contain_text(reason)
    expect(page.get_by_role("button", name="确认冲正")).to_have_count(0)
    assert _balance(live_server, member_id) == start - price
    assert_no_horizontal_scroll(page)

    # Back at the counter the member's balance has the points back.
    with page.expect_navigation():
        page.get_by_role("link", name="回到柜台").click()
    assert urlsplit(page.url).path == "/store/counter"
    expect(page.locator("#member-panel")).to_have_attribute("data-member", str(member_id))
    expect(page.locator("#balance")).to_have_text(str(start - price))
    assert_no_horizontal_scroll(page)

    problems = page.problems.unexpected()
    assert problems == [], "console errors / CSP violations:\n" + "\n".join(problems)


def test_member_sees_balance_and_qr_code(live_server, page):
    """/points/mine: the balance, the member's QR code, no sideways scrolling at 360 px."""
    balance = _balance(live_server, live_server.member_id)
    sign_in(page, "member")
    with page.expect_navigation():
        page.get_by_role("navigation", name="主菜单").get_by_role("link", name="我的积分").click()
    assert urlsplit(page.url).path == "/points/mine"
    expect(page.get_by_role("heading", name="我的积分", exact=True)).to_be_visible()
    expect(page.locator("#balance")).to_have_text(str(balance))
    qr = page.locator("figure.member-qr img.qr")
    expect(qr).to_be_visible()
    assert qr.get_attribute("src").startswith("data:image/svg+xml")
    assert qr.evaluate("img => img.complete && img.naturalWidth > 0"), "the QR code did not load"
    box = qr.bounding_box()
    assert box["width"] >= 150 and box["x"] >= 0 and box["x"] + box["width"] <= 360, box
    assert_no_horizontal_scroll(page)
    problems = page.problems.unexpected()
    assert problems == [], "console errors / CSP violations:\n" + "\n".join(problems)


def test_secretary_awards_points_to_two_members(live_server, page):
    """登记积分: tick two members, pick a rule, a reason, submit → 已登记 2 人."""
    rule_name = "参加组织生活"  # +10, cap 30 a quarter; the demo gives at most 10 a quarter
    rule_id = live_server.scalar(select(PointRule.id).where(PointRule.name == rule_name))
    sign_in(page, "secretary")
    with page.expect_navigation():
        menu_link(page, "登记积分").click()
    assert urlsplit(page.url).path == "/points/award"
    expect(page.get_by_role("heading", name="批量登记积分")).to_be_visible()
    assert_no_horizontal_scroll(page)

    boxes = page.locator("fieldset.member-checks input[type=checkbox]")
    assert boxes.count() >= 2
    chosen = [int(boxes.nth(i).get_attribute("value")) for i in range(2)]
    names = [live_server.member(mid).name for mid in chosen]
    # Tick the first, then find the second by the name filter: the first stays ticked.
    boxes.nth(0).check()
    page.locator("#member-filter").fill(names[1])
    expect(page.locator(f"fieldset.member-checks input[value='{chosen[0]}']")).to_be_hidden()
    page.locator(f"fieldset.member-checks input[value='{chosen[1]}']").check()
    page.locator("#member-filter").fill("")
    expect(page.locator("[data-checked-count]")).to_have_text("，已勾选 2 人")
    assert boxes.nth(0).is_checked() and boxes.nth(1).is_checked()
    before = {mid: _balance(live_server, mid) for mid in chosen}

    page.locator("#rule_id").select_option(str(rule_id))
    reason = "参加 11 月主题党日（浏览器测试）"
    page.locator("#reason").fill(reason)
    with page.expect_navigation():
        page.get_by_role("button", name="登记积分").click()
    assert urlsplit(page.url).path == "/points/award"
    result = page.locator("section.card[role=status]")
    expect(result).to_contain_text("已登记 2 人")
    items = result.locator("ul.list > li")
    expect(items).to_have_count(2)
    texts = items.all_inner_texts()
    for name in names:
        assert any(t.startswith(name) and "+10 分" in t for t in texts), (name, texts)
    for mid in chosen:
        assert _balance(live_server, mid) == before[mid] + 10
        assert (
            live_server.scalar(
                select(func.count()).where(
                    PointEntry.member_id == mid,
                    PointEntry.rule_id == rule_id,
                    PointEntry.reason == reason,
                    PointEntry.quarter == quarter_of(local_today()),
                )
            )
            == 1
        )
    assert_no_horizontal_scroll(page)
    problems = page.problems.unexpected()
    assert problems == [], "console errors / CSP violations:\n" + "\n".join(problems)


def test_an_award_after_ten_minutes_asks_the_password_and_keeps_what_was_typed(live_server, page):
    """Points by hand ask for the password again once the login is 10 minutes old; the
    award is not replayed, but the form comes back as it was typed, and then saves."""
    from baojing.models.users import User
    from tests.conftest import login_long_ago

    rule_name = "参加组织生活"
    rule_id = live_server.scalar(select(PointRule.id).where(PointRule.name == rule_name))
    member_id = live_server.member_id
    sign_in(page, "secretary")
    page.goto(f"/points/members/{member_id}")
    before = _balance(live_server, member_id)
    page.get_by_text("登记加分 / 扣分").click()
    page.locator("#rule_id").select_option(str(rule_id))
    reason = "帮村里修水渠（浏览器测试）"
    page.locator("#reason").fill(reason)
    with live_server.app.app_context():
        secretary = db.session.scalar(select(User.id).where(User.username == "secretary"))
        login_long_ago(secretary)
        db.session.remove()

    with page.expect_navigation():
        page.get_by_role("button", name="登记", exact=True).click()
    assert urlsplit(page.url).path == "/reauth"
    assert _balance(live_server, member_id) == before  # not saved without the password
    page.fill("#password", DEMO_PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="确认").click()
    assert urlsplit(page.url).path == f"/points/members/{member_id}"
    expect(page.locator("#reason")).to_be_visible()  # the folded form opened to show it
    expect(page.locator("#reason")).to_have_value(reason)
    expect(page.locator("#rule_id")).to_have_value(str(rule_id))
    expect(page.locator(".draft-note")).to_be_visible()
    assert_no_horizontal_scroll(page)

    with page.expect_navigation():
        page.get_by_role("button", name="登记", exact=True).click()
    expect(page.locator(".flash.success")).to_contain_text("+10 分")
    assert _balance(live_server, member_id) == before + 10
    # Saved, so the draft is gone: the form opens empty.
    page.reload()
    expect(page.locator("#reason")).to_have_value("")
    problems = page.problems.unexpected()
    assert problems == [], "console errors / CSP violations:\n" + "\n".join(problems)
