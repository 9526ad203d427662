"""A village secretary on a 360 px phone: the acceptance flow, inline validation, scope, weight.

Run: .venv/bin/pytest tests/browser -q -s   (the page weights are printed with -s)
"""

import gzip
import re
from urllib.parse import urlencode, urlsplit

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from baojing.dates import local_today
from baojing.models.members import Member, RegistrationVisit
from baojing.validators import id_check_char
from tests.browser.conftest import assert_no_horizontal_scroll, new_context, sign_in

pytestmark = pytest.mark.browser

PAGE_BUDGET = 60 * 1024  # DESIGN.md: a first page load ≤ 60 KB compressed incl. CSS and htmx
FRAGMENT_BUDGET = 5 * 1024  # DESIGN.md: a fragment ≤ 5 KB


def _gz(data: bytes) -> int:
    return len(gzip.compress(data, compresslevel=6))


def _is_search_fragment(response) -> bool:
    # The page searches by POST, so that the search text never lands in a URL.
    return (
        urlsplit(response.url).path == "/members/"
        and response.request.method == "POST"
        and response.request.headers.get("hx-request") == "true"
    )


def test_secretary_finds_edits_and_registers_a_member(live_server, page):
    """Log in → list → htmx search (no reload) → profile → edit employer → 上门登记."""
    today = local_today().isoformat()
    member_id, name = live_server.member_id, live_server.member_name
    in_village = Member.village_id == live_server.village_id
    village_total = live_server.scalar(
        select(func.count()).where(in_village, Member.status == "active")
    )
    expected_hits = live_server.scalar(
        select(func.count()).where(
            in_village, Member.status == "active", Member.name.contains(name)
        )
    )
    assert 1 <= expected_hits < village_total, "the search must narrow the village's list"

    # Log in at /login.
    sign_in(page, "secretary")
    assert_no_horizontal_scroll(page)

    # The member list shows.
    with page.expect_navigation():
        page.get_by_role("link", name="流动党员", exact=True).click()
    assert urlsplit(page.url).path == "/members/"
    expect(page.get_by_role("heading", name="流动党员", exact=True)).to_be_visible()
    expect(page.locator("#member-results")).to_contain_text(f"共 {village_total} 人")
    expect(page.locator("#member-results .row-title").first).to_be_visible()
    assert_no_horizontal_scroll(page)

    # Type a search: htmx swaps the results, the page itself is not reloaded.
    page.evaluate("window.__noReload = 'still here'")
    with page.expect_response(_is_search_fragment) as search:
        page.locator("#q").press_sequentially(name, delay=40)
    assert search.value.status == 200
    expect(page.locator("#member-results")).to_contain_text(f"共 {expected_hits} 人")
    expect(page.locator("#member-results .row-title")).to_have_count(expected_hits)
    for title in page.locator("#member-results .row-title").all_inner_texts():
        assert name in title
    assert page.evaluate("window.__noReload") == "still here", "the search reloaded the page"
    # The fragment went into the results box, not a second page inside the page.
    expect(page.locator("h1")).to_have_count(1)
    expect(page.locator("#q")).to_have_count(1)
    expect(page.locator("#q")).to_have_value(name)
    # A name or phone number typed into the search never shows in the address bar/history.
    assert "q=" not in urlsplit(page.url).query, f"search text leaked into the URL: {page.url}"
    assert_no_horizontal_scroll(page)

    # Open the profile.
    with page.expect_navigation():
        page.locator(f"#member-results a[href='/members/{member_id}']").click()
    assert urlsplit(page.url).path == f"/members/{member_id}"
    expect(page.locator("h1")).to_contain_text(name)
    assert_no_horizontal_scroll(page)
    visits = page.locator("section.card:has(h2:text-is('上门登记')) ul.list > li")
    visits_before = visits.count()

    # 编辑 → change the employer → 保存 → the profile shows the new value.
    with page.expect_navigation():
        page.get_by_role("link", name="编辑", exact=True).click()
    assert urlsplit(page.url).path == f"/members/{member_id}/edit"
    assert_no_horizontal_scroll(page)
    new_employer = "宁波甬江建设集团有限公司"
    assert page.locator("#employer").input_value() != new_employer
    page.locator("#employer").fill(new_employer)
    with page.expect_navigation():
        page.locator("main form button[type=submit]", has_text="保存").click()
    assert urlsplit(page.url).path == f"/members/{member_id}", page.content()[:2000]
    expect(page.locator("#messages")).to_contain_text("已保存")
    expect(page.locator("dt:text-is('工作单位') + dd")).to_have_text(new_employer)
    assert live_server.member(member_id).employer == new_employer
    assert_no_horizontal_scroll(page)

    # 上门登记: the date defaults to today; tick an item; save.
    with page.expect_navigation():
        page.get_by_role("link", name="上门登记", exact=True).click()
    assert urlsplit(page.url).path == f"/members/{member_id}/visit"
    assert_no_horizontal_scroll(page)
    expect(page.locator("#visited_on")).to_have_value(today)
    page.get_by_label("联系电话").check()
    page.get_by_label("工作单位").check()
    page.locator("#met_with").select_option("本人")
    page.get_by_label("已核实，去向明确").check()
    note = "浏览器测试：在宁波工地见到本人，春节回家"
    page.locator("#note").fill(note)
    with page.expect_navigation():
        page.locator("main form button[type=submit]", has_text="保存登记").click()
    assert urlsplit(page.url).path == f"/members/{member_id}", page.content()[:2000]
    expect(page.locator("#messages")).to_contain_text("上门登记已记录")

    # The profile shows the new registration date as 最近核实, and the visit in the list.
    expect(page.locator("section.card:has(h2:text-is('上门登记'))")).to_contain_text(
        f"最近核实：{today}"
    )
    expect(visits).to_have_count(visits_before + 1)
    newest = visits.first
    expect(newest).to_contain_text(today)
    expect(newest).to_contain_text("踏梯村党支部书记")
    expect(newest).to_contain_text("联系电话")
    expect(newest).to_contain_text("工作单位")
    expect(newest).to_contain_text(note)
    assert live_server.member(member_id).last_verified_on.isoformat() == today
    assert (
        live_server.scalar(
            select(func.count()).where(
                RegistrationVisit.member_id == member_id, RegistrationVisit.note == note
            )
        )
        == 1
    )
    assert_no_horizontal_scroll(page)

    problems = page.problems.unexpected()
    assert problems == [], "console errors / CSP violations:\n" + "\n".join(problems)


def test_new_member_form_validates_inline_and_refuses_bad_input(live_server, page):
    """A bad ID check digit is flagged next to the field via htmx; a bad phone saves nothing."""
    sign_in(page, "secretary")
    page.goto("/members/new")
    assert_no_horizontal_scroll(page)
    before = live_server.member_count()
    page.evaluate("window.__noReload = 'still here'")

    # Wrong check digit (the right one is X): the message appears without submitting.
    with page.expect_response(lambda r: urlsplit(r.url).path == "/members/validate") as check:
        page.locator("#id_number").fill("110105194912310021")
        page.locator("#id_number").blur()
    assert check.value.status == 200
    expect(page.locator("#id_number-error")).to_contain_text("校验位")
    assert (
        page.locator("#id_number").get_attribute("aria-describedby").startswith("id_number-error")
    )
    assert page.evaluate("window.__noReload") == "still here", "validation reloaded the page"
    assert urlsplit(page.url).path == "/members/new"
    assert live_server.member_count() == before
    assert_no_horizontal_scroll(page)

    # A valid ID clears the message.
    first17 = "11010519850618003"
    with page.expect_response(lambda r: urlsplit(r.url).path == "/members/validate"):
        page.locator("#id_number").fill(first17 + id_check_char(first17))
        page.locator("#id_number").blur()
    expect(page.locator("#id_number-error")).to_have_text("")

    # Everything else valid, the phone not: inline message first, then a refused submit.
    page.locator("#name").fill("测试新党员")
    page.locator("#join_date").fill("2010-07-01")
    with page.expect_response(lambda r: urlsplit(r.url).path == "/members/validate"):
        page.locator("#phone").fill("12345")
        page.locator("#phone").blur()
    expect(page.locator("#phone-error")).to_contain_text("手机号码")

    with page.expect_response(
        lambda r: urlsplit(r.url).path == "/members/new" and r.request.method == "POST"
    ) as submitted:
        page.locator("main form button[type=submit]", has_text="保存").click()
    page.wait_for_load_state()
    assert submitted.value.status == 422
    assert urlsplit(page.url).path == "/members/new"
    expect(page.locator("#phone-error")).to_contain_text("手机号码")
    expect(page.locator("#phone")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#name")).to_have_value("测试新党员")  # what was typed is kept
    assert live_server.member_count() == before, "a refused form must save nothing"
    assert_no_horizontal_scroll(page)

    # Chromium logs the 422 document as a failed resource load; that status is intended
    # (DESIGN.md: bad input gets a 4xx), so only that one URL is excused.
    problems = page.problems.unexpected("/members/new")
    assert problems == [], "console errors / CSP violations:\n" + "\n".join(problems)


def test_secretary_of_another_village_gets_404_for_a_tati_member(live_server, page):
    """Scope is enforced by the query: a guessed URL of another village's member is 404."""
    sign_in(page, "secretary2")
    response = page.goto(f"/members/{live_server.member_id}")
    assert response.status == 404
    expect(page.locator("h1")).to_have_text("找不到页面")
    content = page.content()
    assert live_server.member_name not in content
    assert "编辑" not in content and "上门登记" not in content
    assert_no_horizontal_scroll(page)
    # The sub-pages of that member are out of scope as well.
    for suffix in ("/edit", "/visit", "/contact"):
        assert page.goto(f"/members/{live_server.member_id}{suffix}").status == 404
    member = f"/members/{live_server.member_id}"
    problems = page.problems.unexpected(
        member, *(member + s for s in ("/edit", "/visit", "/contact"))
    )
    assert problems == [], "console errors / CSP violations:\n" + "\n".join(problems)


def test_members_page_weight_and_search_fragment(browser, live_server):
    """First load of /members/ (cold cache) ≤ 60 KB gzipped; the search fragment ≤ 5 KB."""
    # Log in in one context, measure in a fresh one (empty HTTP cache) with the same cookies.
    login_ctx = new_context(browser, live_server.url)
    try:
        sign_in(login_ctx.new_page(), "secretary")
        state = login_ctx.storage_state()
    finally:
        login_ctx.close()

    ctx = new_context(browser, live_server.url, storage_state=state)
    try:
        page = ctx.new_page()
        responses = []
        page.on("response", lambda r: responses.append(r))
        document = page.goto("/members/")
        assert document.status == 200
        assert urlsplit(page.url).path == "/members/"
        page.wait_for_load_state("networkidle")

        rows = []
        for r in responses:
            path = urlsplit(r.url).path
            if r.request.resource_type not in ("document", "stylesheet", "script"):
                continue
            assert r.status == 200, f"{r.url} → {r.status}"
            body = r.body()
            rows.append((r.request.resource_type, path, len(body), _gz(body)))
        kinds = {path for _, path, _, _ in rows}
        assert "/members/" in kinds
        assert any(p.endswith(".css") for p in kinds), kinds
        assert any("htmx" in p for p in kinds), kinds
        assert any(p.endswith("/app.js") for p in kinds), kinds
        total_raw = sum(raw for _, _, raw, _ in rows)
        total_gz = sum(gz for _, _, _, gz in rows)
        print("\nfirst load of /members/ as secretary (gzip -6):")
        for kind, path, raw, gz in rows:
            print(f"  {kind:<10} {path:<40} {raw:>7} B raw {gz:>7} B gzip")
        print(
            f"  {'total':<51} {total_raw:>7} B raw {total_gz:>7} B gzip ({total_gz / 1024:.1f} KB)"
        )
        assert total_gz <= PAGE_BUDGET, f"first load is {total_gz} B gzipped, budget {PAGE_BUDGET}"

        # The htmx search fragment, fetched with the session's cookies.
        for label, query in (
            ("search fragment", {"q": live_server.member_name}),
            ("unfiltered list fragment", {}),
        ):
            url = "/members/" + (f"?{urlencode(query)}" if query else "")
            fragment = ctx.request.get(url, headers={"HX-Request": "true"})
            assert fragment.status == 200
            body = fragment.body()
            text = body.decode()
            assert "<html" not in text and 'id="q"' not in text, "expected a fragment, got a page"
            assert re.search(r"共 \d+ 人", text)
            print(f"  {label} GET {url}: {len(body)} B raw, {_gz(body)} B gzip")
            assert len(body) <= FRAGMENT_BUDGET, f"{label} is {len(body)} B"
            assert _gz(body) <= FRAGMENT_BUDGET
    finally:
        ctx.close()


def test_no_missing_favicon_request(live_server, page):
    """A browser's automatic /favicon.ico request must not 404 (a console error on every visit).

    APP BUG (reported): layout.html declares no icon and nothing serves /favicon.ico, so
    chromium requests it after every first page load and gets 404 — a console error and a
    wasted round trip on a weak mobile connection. Fix: `<link rel="icon" href="data:,">`
    in layout.html (CSP img-src already allows data:), or serve a real icon.
    """
    # Playwright does not surface chromium's favicon fetch as a response event, but chromium
    # logs its 404 as a console error, which is what a person with devtools open would see.
    sign_in(page, "secretary")
    page.wait_for_load_state("networkidle")
    favicon_errors = [
        message for message, url in page.problems.entries if urlsplit(url).path == "/favicon.ico"
    ]
    assert favicon_errors == [], "/favicon.ico answered 404 (see APP BUG in the docstring)"
    assert page.problems.entries == [], page.problems.entries


@pytest.mark.browser
def test_password_can_be_shown_while_typing(live_server, browser):
    context = browser.new_context(
        viewport={"width": 360, "height": 800}, is_mobile=True, has_touch=True
    )
    page = context.new_page()
    page.goto(f"{live_server.url}/login")
    page.locator("#password").fill("baojing-demo-2020")
    page.get_by_role("button", name="显示").click()
    assert page.locator("#password").get_attribute("type") == "text"
    page.get_by_role("button", name="隐藏").click()
    assert page.locator("#password").get_attribute("type") == "password"
    context.close()
