"""Care (四必访) on a 360 px phone: the secretary's to-do, a visit with a photo, a member's report.

Run: .venv/bin/pytest -q tests/browser/test_care_browser.py
"""

import re
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from PIL import Image, ImageDraw
from playwright.sync_api import expect
from sqlalchemy import func, select

from baojing.dates import local_today
from baojing.extensions import db
from baojing.models.care import CareCase, CarePhoto, CareVisit
from baojing.models.members import Member
from baojing.models.users import User
from baojing.services.care import cases
from tests.browser.conftest import (
    PageProblems,
    assert_no_horizontal_scroll,
    menu_link,
    new_context,
    sign_in,
)

pytestmark = pytest.mark.browser

GPS_IFD = 0x8825
FINDINGS = "老人已出院在家休养，家属说药费报销还在办（浏览器测试）"
VISITORS = "支书 彭光华、联络员 田小兰"


@pytest.fixture
def live_server_uploads(live_server):
    """Where the served app keeps photos (tmp_path, set by the browser conftest)."""
    return Path(live_server.app.config["UPLOAD_FOLDER"])


def _phone_photo(path):
    """A 2000×1500 JPEG as a phone writes it: camera make and model, and where it was taken."""
    image = Image.new("RGB", (2000, 1500), (90, 140, 200))
    draw = ImageDraw.Draw(image)
    draw.rectangle((300, 400, 1700, 1300), fill=(200, 170, 120))
    draw.ellipse((800, 100, 1200, 500), fill=(250, 220, 60))
    exif = Image.Exif()
    exif[0x010F] = "HUAWEI"  # Make
    exif[0x0110] = "P40"  # Model
    # 保靖县: 28°41′N 109°39′E
    exif[GPS_IFD] = {1: "N", 2: (28.0, 41.0, 30.0), 3: "E", 4: (109.0, 39.0, 15.0)}
    image.save(path, "JPEG", quality=90, exif=exif)
    with Image.open(path) as check:  # the upload really carries a position
        assert check.getexif().get_ifd(GPS_IFD), "test photo was written without GPS data"
    return path


def _overdue_demo_case(live_server) -> int:
    """demo_care: 踏梯村 has an illness case opened 8 days ago, due 3 days later."""
    today = local_today()
    case_id = live_server.scalar(
        select(CareCase.id)
        .where(
            CareCase.village_id == live_server.village_id,
            CareCase.kind == "illness",
            CareCase.status == "open",
            CareCase.opened_on == today - timedelta(days=8),
        )
        .order_by(CareCase.id.desc())
    )
    assert case_id is not None, "the demo data should give 踏梯村 an overdue illness case"
    return case_id


def _case_row(live_server, case_id: int):
    with live_server.app.app_context():
        try:
            return db.session.execute(
                select(CareCase.status, CareCase.due_on).where(CareCase.id == case_id)
            ).one()
        finally:
            db.session.remove()


def _visit_count(live_server, case_id: int) -> int:
    return live_server.scalar(
        select(func.count()).select_from(CareVisit).where(CareVisit.case_id == case_id)
    )


def _photo_tokens(live_server, case_id: int) -> list[str]:
    with live_server.app.app_context():
        try:
            return list(
                db.session.scalars(
                    select(CarePhoto.token)
                    .join(CareVisit, CareVisit.id == CarePhoto.visit_id)
                    .where(CareVisit.case_id == case_id)
                )
            )
        finally:
            db.session.remove()


def _overdue_summary(page):
    return page.locator("p.summary a[href*='status=overdue']")


def _overdue_text(n: int) -> str:
    return f"已逾期 {n}" if n else "无逾期"


def _is_visit_post(case_id: int):
    path = f"/care/cases/{case_id}/visit"

    def check(response) -> bool:
        return urlsplit(response.url).path == path and response.request.method == "POST"

    return check


def _fill_visit_form(page, photo) -> None:
    page.get_by_label("走访人").fill(VISITORS)
    page.get_by_label("上门走访").check()
    page.get_by_label("了解到的情况").fill(FINDINGS)
    page.get_by_label("慰问金（元）").fill("200")
    page.locator("input[name=photos]").set_input_files(photo)


def _assert_form_kept(page) -> None:
    expect(page.get_by_label("走访人")).to_have_value(VISITORS)
    expect(page.get_by_label("上门走访")).to_be_checked()
    expect(page.get_by_label("了解到的情况")).to_have_value(FINDINGS)
    expect(page.get_by_label("慰问金（元）")).to_have_value("200")
    files = page.locator("input[name=photos]").evaluate("i => i.files.length")
    assert files == 1, "the chosen photo was dropped from the form"


def _no_problems(page, *expected_error_paths: str, ignore=()) -> None:
    problems = [
        p
        for p in page.problems.unexpected(*expected_error_paths)
        if not any(p.startswith(prefix) for prefix in ignore)
    ]
    assert problems == [], "console errors / CSP violations:\n" + "\n".join(problems)


def test_secretary_visits_an_overdue_case_with_a_photo(
    live_server, page, live_server_uploads, tmp_path
):
    """我的待办 → the red 逾期 case → 记录走访 with a photo → 已办结, photo shown, EXIF gone."""
    case_id = _overdue_demo_case(live_server)
    status, due_on = _case_row(live_server, case_id)
    late_days = (local_today() - due_on).days
    assert status == "open" and late_days > 0
    photo = _phone_photo(tmp_path / "IMG_20201107_093012.jpg")

    sign_in(page, "secretary")
    with page.expect_navigation():
        page.get_by_role("navigation", name="主菜单").get_by_role("link", name="关怀").click()
    assert urlsplit(page.url).path == "/care/"
    expect(page.get_by_role("heading", name="我的待办", exact=True)).to_be_visible()
    overdue = _overdue_summary(page)
    match = re.fullmatch(r"已逾期 (\d+)", overdue.inner_text().strip())
    assert match, f"the to-do does not show an overdue count: {overdue.inner_text()!r}"
    overdue_before = int(match.group(1))
    assert overdue_before >= 1
    case_link = page.locator(f"#todo-cases a.row-link[href='/care/cases/{case_id}']")
    expect(case_link).to_be_visible()
    expect(case_link).to_contain_text("生病住院")
    red = case_link.locator(".badge.bad")
    expect(red).to_have_text(f"逾期 {late_days} 天")
    r, g, b = map(int, re.findall(r"\d+", red.evaluate("el => getComputedStyle(el).color"))[:3])
    assert r > 150 and r > 2 * g and r > 2 * b, f"the overdue badge is not red: {(r, g, b)}"
    assert_no_horizontal_scroll(page)

    # The case page: still red, with a 记录走访 button.
    with page.expect_navigation():
        case_link.click()
    assert urlsplit(page.url).path == f"/care/cases/{case_id}"
    expect(page.locator("main .card .badge").first).to_have_text(f"逾期 {late_days} 天")
    expect(page.locator("#visits")).to_contain_text("还没有走访记录")
    assert_no_horizontal_scroll(page)
    with page.expect_navigation():
        page.get_by_role("link", name="记录走访").click()
    assert urlsplit(page.url).path == f"/care/cases/{case_id}/visit"
    expect(page.get_by_role("heading", name=re.compile("^记录走访："))).to_be_visible()
    expect(page.get_by_label("走访日期")).to_have_value(local_today().isoformat())
    assert_no_horizontal_scroll(page)

    # Fill the form as a secretary would, photo from the phone included, and save.
    _fill_visit_form(page, photo)
    assert_no_horizontal_scroll(page)
    with page.expect_response(_is_visit_post(case_id)) as posted:
        page.get_by_role("button", name="保存走访").click()
    answer = posted.value
    assert answer.request.headers.get("hx-request") == "true", "the form was not sent by htmx"
    assert answer.status == 200 and answer.headers.get("hx-redirect") == f"/care/cases/{case_id}"
    page.wait_for_url(f"**/care/cases/{case_id}")

    # The case page: 已办结, the visit, the photo.
    expect(page.locator("#messages .flash.success")).to_have_text("走访已记录，事件已办结")
    expect(page.locator("main .card .badge").first).to_have_text("已办结")
    expect(page.get_by_role("link", name="记录走访")).to_have_count(0)
    visits = page.locator("#visits article.visit")
    expect(visits).to_have_count(1)
    visit = visits.first
    expect(visit.locator("h3")).to_contain_text("上门走访")
    expect(visit.locator("dt:text-is('走访人') + dd")).to_have_text(VISITORS)
    expect(visit.locator("dt:text-is('情况') + dd")).to_have_text(FINDINGS)
    expect(visit.locator("dt:text-is('慰问金') + dd")).to_have_text("200.00 元")
    thumb = visit.locator("img[alt='走访照片 1']")
    expect(thumb).to_have_count(1)
    thumb.scroll_into_view_if_needed()  # loading="lazy"
    expect(thumb).to_be_visible()
    page.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=thumb.element_handle()
    )
    box = thumb.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 360, box
    assert_no_horizontal_scroll(page)

    # The full-size photo behind the thumbnail, as the browser downloads it.
    full = page.request.get(visit.locator("a:has(img)").get_attribute("href"))
    assert full.status == 200 and full.headers["content-type"] == "image/jpeg"
    assert "no-store" in full.headers["cache-control"]  # personal data: no cache keeps it

    # Back on the to-do: the case is gone, one overdue fewer.
    with page.expect_navigation():
        page.get_by_role("link", name="‹ 我的待办").click()
    assert urlsplit(page.url).path == "/care/"
    expect(page.locator(f"#todo-cases a[href='/care/cases/{case_id}']")).to_have_count(0)
    expect(_overdue_summary(page)).to_have_text(_overdue_text(overdue_before - 1))
    assert_no_horizontal_scroll(page)

    # The database: closed, one visit, one photo, stored without EXIF.
    assert _case_row(live_server, case_id).status == "closed"
    assert _visit_count(live_server, case_id) == 1
    tokens = _photo_tokens(live_server, case_id)
    assert len(tokens) == 1
    stored = live_server_uploads / "care" / f"{tokens[0]}.jpg"
    assert stored.is_file(), f"{stored} was not written"
    assert (live_server_uploads / "care" / f"{tokens[0]}-t.jpg").is_file()
    assert photo.name not in {p.name for p in (live_server_uploads / "care").iterdir()}
    with Image.open(stored) as saved:
        assert saved.format == "JPEG"
        assert max(saved.size) <= 1600, saved.size
        exif = saved.getexif()
        assert not exif.get_ifd(GPS_IFD), "the stored photo still says where it was taken"
        assert len(exif) == 0, f"the stored photo kept EXIF tags: {dict(exif)}"
    assert full.body() == stored.read_bytes()

    _no_problems(page)


def test_member_reports_illness_and_secretary_sees_it(live_server, page, browser):
    """关怀服务 → 家里有事，告诉支部 → 生病住院 → 等待走访; the secretary's to-do lists it."""
    description = "父亲在县人民医院住院，做了阑尾手术（浏览器测试）"
    sign_in(page, "member")
    with page.expect_navigation():
        menu_link(page, "关怀服务").click()
    assert urlsplit(page.url).path == "/care/mine"
    expect(page.get_by_role("heading", name="关怀服务", exact=True)).to_be_visible()
    assert_no_horizontal_scroll(page)

    with page.expect_navigation():
        page.get_by_role("link", name="家里有事，告诉支部").click()
    assert urlsplit(page.url).path == "/care/cases/new"
    expect(page.get_by_role("heading", name="告诉支部：家里有事")).to_be_visible()
    expect(page.get_by_label("事件日期")).to_have_value(local_today().isoformat())
    assert_no_horizontal_scroll(page)
    page.get_by_label("生病住院").check()
    page.get_by_label("简要情况").fill(description)
    with page.expect_navigation():
        page.get_by_role("button", name="提交").click()

    assert urlsplit(page.url).path == "/care/mine"
    expect(page.locator("#messages .flash.success")).to_contain_text("已报告给支部")
    case_id = live_server.scalar(
        select(CareCase.id).where(
            CareCase.member_id == live_server.member_id, CareCase.description == description
        )
    )
    assert case_id is not None
    reported = page.locator(f"a.row-link[href='/care/cases/{case_id}']")
    expect(reported).to_contain_text("生病住院")
    expect(reported.locator(".badge")).to_have_text("等待走访")
    assert_no_horizontal_scroll(page)
    _no_problems(page)

    # Saved, so the draft is gone: the form opens empty (a refilled form would
    # carry a new key and report the same event twice).
    page.goto("/care/cases/new")
    expect(page.get_by_label("简要情况")).to_have_value("")
    expect(page.locator(".draft-note")).to_be_hidden()

    # The secretary, on their own phone, has it on the to-do.
    ctx = new_context(browser, live_server.url)
    ctx.set_default_timeout(5_000)
    try:
        secretary = ctx.new_page()
        secretary.problems = PageProblems()
        secretary.problems.attach(secretary)
        sign_in(secretary, "secretary")
        secretary.goto("/care/")
        listed = secretary.locator(f"#todo-cases a.row-link[href='/care/cases/{case_id}']")
        expect(listed).to_contain_text(f"{live_server.member_name} · 生病住院")
        expect(listed.locator(".badge")).to_have_text("待走访")
        assert_no_horizontal_scroll(secretary)
        with secretary.expect_navigation():
            listed.click()
        facts = secretary.locator("dl.facts").first
        expect(facts.locator("dt:text-is('简要情况') + dd")).to_have_text(description)
        expect(facts.locator("dt:text-is('消息来源') + dd")).to_contain_text("党员本人")
        expect(secretary.get_by_role("link", name="记录走访")).to_be_visible()
        assert_no_horizontal_scroll(secretary)
        _no_problems(secretary)
    finally:
        ctx.close()


def test_visit_form_survives_a_lost_connection(live_server, context, page, tmp_path):
    """The phone thinks it has signal but the save gets no answer: 待发送, everything typed
    stays; tapped again once the line works, it saves once and the outbox lets go of it."""
    case_id = _overdue_demo_case(live_server)
    visit_path = f"/care/cases/{case_id}/visit"
    photo = _phone_photo(tmp_path / "IMG_0001.jpg")

    def cut_posts(route):
        if route.request.method == "POST":
            route.abort("internetdisconnected")
        else:
            route.continue_()

    sign_in(page, "secretary")
    page.goto(visit_path)
    _controlled_by_the_service_worker(page)
    _fill_visit_form(page, photo)
    # On the context: the service worker's own retries get no answer either.
    context.route(f"**{visit_path}", cut_posts)
    save = page.get_by_role("button", name="保存走访")
    save.click()

    status = page.locator("#visit-form .outbox-status")
    expect(status).to_contain_text("待发送")
    expect(page.locator("#messages .flash.warning")).to_have_count(0)  # not 网络不畅 as well
    assert urlsplit(page.url).path == visit_path
    _assert_form_kept(page)
    expect(save).to_be_enabled()
    assert _outbox_size(page) == 1
    assert _visit_count(live_server, case_id) == 0
    assert_no_horizontal_scroll(page)

    # The line works again: the same form, tapped again, saves the visit exactly once.
    context.unroute(f"**{visit_path}", cut_posts)
    with page.expect_response(_is_visit_post(case_id)) as posted:
        save.click()
    assert posted.value.status == 200
    page.wait_for_url(f"**/care/cases/{case_id}")
    expect(page.locator("main .card .badge").first).to_have_text("已办结")
    expect(page.locator("#visits article.visit")).to_have_count(1)
    assert _visit_count(live_server, case_id) == 1
    assert len(_photo_tokens(live_server, case_id)) == 1
    assert _case_row(live_server, case_id).status == "closed"
    assert _outbox_size(page) == 0

    # The cut request shows up as a failed load of the visit URL, and htmx logs its error.
    _no_problems(page, visit_path, ignore=("console.error: htmx: htmx:error",))


def _outbox_size(page) -> int:
    return page.evaluate("BaojingOutbox.all().then(rows => rows.length)")


def _controlled_by_the_service_worker(page) -> None:
    page.evaluate("navigator.serviceWorker.ready")
    page.wait_for_function("navigator.serviceWorker.controller !== null")


def test_a_visit_saved_with_no_signal_waits_in_the_outbox_and_is_sent_once(
    live_server, context, page, tmp_path
):
    """Issue 15: saved offline → 待发送; a reload still shows it waiting; online → one visit."""
    case_id = _overdue_demo_case(live_server)
    visit_path = f"/care/cases/{case_id}/visit"
    photo = _phone_photo(tmp_path / "IMG_0002.jpg")
    sign_in(page, "secretary")
    page.goto(visit_path)
    _controlled_by_the_service_worker(page)
    _fill_visit_form(page, photo)

    # 1. No signal: the save is kept on the phone, with everything typed still on the form.
    context.set_offline(True)
    page.get_by_role("button", name="保存走访").click()
    status = page.locator("#visit-form .outbox-status")
    expect(status).to_contain_text("待发送")
    expect(status).to_contain_text("共 1 条待发送")
    _assert_form_kept(page)
    assert _outbox_size(page) == 1
    assert _visit_count(live_server, case_id) == 0

    # 2. A reload with no signal: the no-signal page, and the visit is still waiting.
    page.reload()
    expect(page.get_by_role("heading", name="没有网络")).to_be_visible()
    waiting = page.locator("#outbox")
    expect(waiting).to_contain_text("待发送 1 条")
    name = live_server.scalar(
        select(Member.name)
        .join(CareCase, CareCase.member_id == Member.id)
        .where(CareCase.id == case_id)
    )
    expect(waiting).to_contain_text(f"记录走访：{name}（待发送）")
    assert_no_horizontal_scroll(page)
    assert _visit_count(live_server, case_id) == 0

    # 3. The signal returns: it is sent by itself, and the phone goes where a save goes.
    context.set_offline(False)
    page.wait_for_url(f"**/care/cases/{case_id}")
    expect(page.locator("#messages .flash.success")).to_contain_text("走访已记录，事件已办结")
    expect(page.locator("main .card .badge").first).to_have_text("已办结")

    # 4. Exactly one visit, with its photo, and nothing left waiting.
    expect(page.locator("#visits article.visit")).to_have_count(1)
    assert _visit_count(live_server, case_id) == 1
    assert len(_photo_tokens(live_server, case_id)) == 1
    assert _outbox_size(page) == 0
    _no_problems(
        page,
        visit_path,
        ignore=("console.error: Failed to load resource: net::ERR_INTERNET_DISCONNECTED",),
    )


def _cancel_case(live_server, case_id: int) -> None:
    """Someone else at the branch cancels the case (登记错了) while the phone has no signal."""
    with live_server.app.app_context():
        try:
            case = db.session.get(CareCase, case_id)
            township = db.session.scalar(select(User).where(User.username == "township"))
            cases.cancel_case(case, township, "重复登记")
            db.session.commit()
        finally:
            db.session.remove()


def test_a_kept_visit_the_server_refuses_waits_for_the_person_and_is_never_dropped(
    live_server, context, page, tmp_path
):
    """A 4xx on sending (the case was cancelled meanwhile): 没有发送成功 with the server's
    reason, the form keeps what was typed, other pages list it, until the person discards it."""
    case_id = _overdue_demo_case(live_server)
    sign_in(page, "secretary")
    page.goto(f"/care/cases/{case_id}/visit")
    _controlled_by_the_service_worker(page)
    _fill_visit_form(page, _phone_photo(tmp_path / "IMG_0003.jpg"))
    context.set_offline(True)
    page.get_by_role("button", name="保存走访").click()
    status = page.locator("#visit-form .outbox-status")
    expect(status).to_contain_text("待发送")
    _cancel_case(live_server, case_id)

    context.set_offline(False)
    expect(status).to_contain_text("没有发送成功")
    expect(status).to_contain_text("不能再记录走访")
    _assert_form_kept(page)
    assert _outbox_size(page) == 1
    assert _visit_count(live_server, case_id) == 0

    # Anywhere else on the site it waits for a decision, with what was typed to copy.
    page.goto("/care/")
    box = page.locator("#outbox")
    expect(box).to_contain_text("没有发送成功")
    box.get_by_text("查看填写的内容").click()
    expect(box.locator("dt:text-is('了解到的情况') + dd")).to_have_text(FINDINGS)
    assert_no_horizontal_scroll(page)
    page.once("dialog", lambda dialog: dialog.accept())
    box.get_by_role("button", name="丢弃").click()
    expect(box).to_be_hidden()
    assert _outbox_size(page) == 0
    assert _visit_count(live_server, case_id) == 0
    _no_problems(page, f"/care/cases/{case_id}/visit")  # the 422 it was refused with


def test_a_visit_kept_past_the_end_of_its_session_is_sent_after_the_next_login(
    live_server, context, page, tmp_path
):
    """The session ended while the phone had no signal (the CSRF token with it): the visit
    waits for a login, then goes with the new session's token, once."""
    case_id = _overdue_demo_case(live_server)
    sign_in(page, "secretary")
    page.goto(f"/care/cases/{case_id}/visit")
    _controlled_by_the_service_worker(page)
    _fill_visit_form(page, _phone_photo(tmp_path / "IMG_0004.jpg"))
    context.set_offline(True)
    page.get_by_role("button", name="保存走访").click()
    status = page.locator("#visit-form .outbox-status")
    expect(status).to_contain_text("待发送")
    context.clear_cookies()  # the session is gone

    context.set_offline(False)
    expect(status).to_contain_text("登录已过期")
    assert _outbox_size(page) == 1
    assert _visit_count(live_server, case_id) == 0

    sign_in(page, "secretary")
    expect(page.locator("#messages .flash.success")).to_contain_text("已发送：记录走访")
    assert _visit_count(live_server, case_id) == 1
    assert _outbox_size(page) == 0
    page.goto(f"/care/cases/{case_id}")
    expect(page.locator("main .card .badge").first).to_have_text("已办结")
