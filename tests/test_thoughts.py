"""思想汇报: a member writes (autosaved) and hands in the quarter's report; the reviewer
accepts or returns it; an on-time acceptance earns 定期汇报 points; private and scoped."""

import io
import re

import pytest
from PIL import Image
from sqlalchemy import func, select

from baojing.dates import local_today, quarter_of
from baojing.extensions import db
from baojing.models import AppMeta, AuditEntry, PointEntry, PointRule, ThoughtEvent, ThoughtReport
from baojing.services import thoughts
from tests import factories

QUARTER = quarter_of(local_today())
TEXT = "本季度我在宁波的工地上坚持学习党章，按时交纳党费，参加了驻地党支部的主题党日。"


@pytest.fixture
def rule(org):
    row = PointRule(name="按时定期汇报", points=10, quarterly_cap=30,
                    awarder_roles="township_officer", auto_source="thought_report")  # fmt: skip
    db.session.add(row)
    db.session.commit()
    return row


@pytest.fixture
def more(org):
    """A township officer of 葫芦镇 and a member account in 新民村 (another township)."""
    users = {
        "township2": factories.user("township2", "township_officer", org.townships["葫芦镇"]),
        "member2": factories.user(
            "member2", "member", org.villages["xinmin"], org.members["xinmin"]
        ),
        "angdong_member": factories.user(
            "angdong_member", "member", org.villages["angdong"], org.members["angdong"]
        ),
    }
    db.session.commit()
    return users


def _login_new(new_client, username):
    c = new_client()
    assert c.login(username).status_code == 302
    return c


def _form(page: str) -> dict:
    """The writing form's hidden fields as the page rendered them."""
    html = page.get_data(as_text=True)
    fields = {}
    for name in ("request_id", "editor", "version"):
        found = re.search(rf'name="{name}"[^>]*value="([^"]*)"', html) or re.search(
            rf'value="([^"]*)"[^>]*name="{name}"', html
        )
        fields[name] = found.group(1) if found else ""
    return fields


def _write(member, body=TEXT):
    """Open the writing page, autosave, then hand the report in; returns the report."""
    page = member.get(f"/thoughts/mine/{QUARTER}")
    assert page.status_code == 200
    fields = _form(page)
    saved = member.post(f"/thoughts/mine/{QUARTER}/draft", fields | {"body": body},
                        headers={"HX-Request": "true"})  # fmt: skip
    assert saved.status_code == 200, saved.get_data(as_text=True)
    version = re.search(r'name="version" value="(\d+)"', saved.get_data(as_text=True)).group(1)
    response = member.post(
        f"/thoughts/mine/{QUARTER}/submit", fields | {"body": body, "version": version}
    )
    assert response.status_code == 303, response.get_data(as_text=True)
    return db.session.scalar(select(ThoughtReport).where(ThoughtReport.quarter == QUARTER))


def _review(reviewer, report_id, decision, comment=""):
    page = reviewer.get(f"/thoughts/{report_id}").get_data(as_text=True)
    request_id = re.search(r'name="request_id"[^>]*value="([^"]+)"', page)
    request_id = request_id.group(1) if request_id else "review-key-0001"
    return reviewer.post(
        f"/thoughts/{report_id}/review",
        {"decision": decision, "comment": comment, "request_id": request_id},
    )


def test_autosave_keeps_the_text_and_counts_versions(login, org):
    member = login("member")
    fields = _form(member.get(f"/thoughts/mine/{QUARTER}"))
    first = member.post(f"/thoughts/mine/{QUARTER}/draft", fields | {"body": "本季度"},
                        headers={"HX-Request": "true"})  # fmt: skip
    assert first.status_code == 200 and 'name="version" value="1"' in first.get_data(as_text=True)
    # The same page goes on typing; a lost answer (it still sends version 0) is no conflict.
    again = member.post(f"/thoughts/mine/{QUARTER}/draft", fields | {"body": TEXT},
                        headers={"HX-Request": "true"})  # fmt: skip
    assert again.status_code == 200
    report = db.session.scalar(select(ThoughtReport))
    assert (report.body, report.version, report.status) == (TEXT, 2, "draft")
    # The page opened again shows it, and the draft is nobody else's to read.
    assert TEXT in member.get(f"/thoughts/mine/{QUARTER}").get_data(as_text=True)
    assert login("township").get(f"/thoughts/{report.id}").status_code == 404
    # Another page (another phone) that started from version 0 does not overwrite it.
    other = member.post(
        f"/thoughts/mine/{QUARTER}/draft",
        {"body": "旧的", "version": "0", "editor": "another-page-0001"},
        headers={"HX-Request": "true"},
    )
    assert other.status_code == 409 and "另一个页面" in other.get_data(as_text=True)
    db.session.refresh(report)
    assert report.body == TEXT
    # One audit row for the editing page, not one per autosave; never the text.
    drafts = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "thought.draft"))
    drafts = list(drafts)
    assert len(drafts) == 1 and TEXT not in (drafts[0].after or "")


def test_too_long_text_is_refused_by_the_field_and_nothing_written(login, org):
    member = login("member")
    fields = _form(member.get(f"/thoughts/mine/{QUARTER}"))
    response = member.post(
        f"/thoughts/mine/{QUARTER}/submit", fields | {"body": "字" * (thoughts.MAX_BODY + 1)}
    )
    assert response.status_code == 422 and "最多 10000 个字" in response.get_data(as_text=True)
    short = member.post(f"/thoughts/mine/{QUARTER}/submit", fields | {"body": "好"})
    assert short.status_code == 422 and "至少 20 个字" in short.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(ThoughtEvent)) == 0
    assert db.session.scalar(select(ThoughtReport.status)) in (None, "draft")


def test_missing_csrf_is_refused(login, org):
    member = login("member")
    response = member.post(f"/thoughts/mine/{QUARTER}/draft", {"body": TEXT}, csrf=False)
    assert response.status_code == 400
    assert db.session.scalar(select(func.count()).select_from(ThoughtReport)) == 0


def test_return_resubmit_accept_earns_points_once(login, org, rule):
    member = login("member")
    report = _write(member)
    assert report.status == "submitted" and report.on_time
    township = login("township")
    # Returning needs a reason, said by the field; nothing changes without one.
    refused = _review(township, report.id, "return")
    assert refused.status_code == 422 and "退回时请写明原因" in refused.get_data(as_text=True)
    assert _review(township, report.id, "return", "请写得具体一些").status_code == 303
    page = member.get(f"/thoughts/mine/{QUARTER}").get_data(as_text=True)
    assert "已退回" in page and "请写得具体一些" in page
    _write(member, TEXT + "另外，我还帮工友联系了返乡的车票。")
    accepted = _review(township, report.id, "accept", "写得实在")
    assert accepted.status_code == 303
    db.session.refresh(report)
    assert report.status == "accepted"
    entries = db.session.scalars(select(PointEntry).where(PointEntry.member_id == report.member_id))
    assert [(e.kind, e.points, e.source_type) for e in entries] == [("earn", 10, "thought_report")]
    # Accepting again (a second tap, or a stale page) earns nothing more.
    again = _review(township, report.id, "accept")
    assert again.status_code == 422
    assert db.session.scalar(select(func.count()).select_from(PointEntry)) == 1
    # Withdrawing the acceptance reverses the points; accepting anew earns them again once.
    withdraw = township.post(
        f"/thoughts/{report.id}/withdraw", {"reason": "误点通过", "request_id": "withdraw-0001"}
    )
    assert withdraw.status_code == 303
    balance = db.session.scalar(
        select(func.sum(PointEntry.points)).where(PointEntry.member_id == report.member_id)
    )
    assert balance == 0
    assert _review(township, report.id, "accept").status_code == 303
    balance = db.session.scalar(
        select(func.sum(PointEntry.points)).where(PointEntry.member_id == report.member_id)
    )
    assert balance == 10


def test_a_late_report_is_accepted_without_points(login, org, rule):
    member = login("member")
    report = _write(member)
    report.on_time = False  # as if first handed in after the deadline
    db.session.commit()
    assert _review(login("township"), report.id, "accept").status_code == 303
    assert db.session.scalar(select(func.count()).select_from(PointEntry)) == 0


def test_double_submit_saves_once(login, org):
    member = login("member")
    page = member.get(f"/thoughts/mine/{QUARTER}")
    fields = _form(page) | {"body": TEXT}
    assert member.post(f"/thoughts/mine/{QUARTER}/submit", fields).status_code == 303
    assert member.post(f"/thoughts/mine/{QUARTER}/submit", fields).status_code == 303
    assert db.session.scalar(select(func.count()).select_from(ThoughtEvent)) == 1


def test_reads_by_others_are_audited_and_scoped(login, org, more, new_client):
    member = login("member")
    report = _write(member)
    reads = select(AuditEntry).where(AuditEntry.action == "sensitive.read")
    # The member reading their own is not recorded.
    member.get(f"/thoughts/mine/{QUARTER}")
    assert db.session.scalars(reads).all() == []
    assert login("township").get(f"/thoughts/{report.id}").status_code == 200
    assert login("admin").get(f"/thoughts/{report.id}").status_code == 200
    logged = db.session.scalars(reads).all()
    assert [(e.username, e.entity_type, e.entity_id) for e in logged] == [
        ("township", "thought_reports", report.id),
        ("admin", "thought_reports", report.id),
    ]
    assert TEXT not in (logged[0].after or "")
    # Another township's officer, another member, a secretary without the setting,
    # the clerk: 404, and nothing recorded as read.
    for who in ("township2", "member2", "angdong_member"):
        client = _login_new(new_client, who)
        assert client.get(f"/thoughts/{report.id}").status_code == 404, who
    for who in ("secretary", "secretary2", "clerk"):
        assert login(who).get(f"/thoughts/{report.id}").status_code == 404, who
    other = _login_new(new_client, "township2")
    response = other.post(f"/thoughts/{report.id}/review",
                          {"decision": "accept", "request_id": "stranger-0001"})  # fmt: skip
    assert response.status_code == 404
    assert len(db.session.scalars(reads).all()) == 2


def test_the_setting_gives_the_village_the_review(login, org):
    member = login("member")
    report = _write(member)
    db.session.add(AppMeta(key="setting.thought_review_village", value="1"))
    db.session.commit()
    secretary = login("secretary")
    assert secretary.get(f"/thoughts/{report.id}").status_code == 200
    assert _review(secretary, report.id, "accept").status_code == 303
    # The township no longer reads the content; another village's secretary never does.
    assert login("township").get(f"/thoughts/{report.id}").status_code == 404
    assert login("secretary2").get(f"/thoughts/{report.id}").status_code == 404


def test_who_has_not_handed_in(login, org, more):
    member = login("member")
    _write(member)
    township = login("township").get("/thoughts/missing").get_data(as_text=True)
    # 向光明 handed in; 彭昂洞 of 昂洞村 did not; 田新民 is another township's.
    assert "彭昂洞" in township and "向光明" not in township.split("未交的党员")[1]
    assert "田新民" not in township
    secretary = login("secretary").get("/thoughts/missing").get_data(as_text=True)
    assert "彭昂洞" not in secretary  # another village
    county = login("admin").get("/thoughts/missing").get_data(as_text=True)
    assert "彭昂洞" in county and "田新民" in county and "葫芦镇" in county
    assert login("member").get("/thoughts/missing").status_code == 403
    assert (
        login("secretary")
        .get(f"/thoughts/missing?village_id={org.villages['angdong'].id}")
        .status_code
        == 404
    )


def test_home_items_for_member_and_reviewer(app, login, org):
    member_user, township_user = org.users["member"], org.users["township"]
    with app.test_request_context():
        items = thoughts.for_home(member_user)
        assert any(i.kind == "thought" and i.note.startswith("待提交") for i in items)
    report = _write(login("member"))
    with app.test_request_context():
        assert [i.note for i in thoughts.for_home(member_user) if QUARTER in i.url] == ["待审阅"]
        assert thoughts.todo_for(township_user).waiting == 1
        assert thoughts.for_home(township_user)[0].title == "思想汇报待审阅 1 份"
    _review(login("township"), report.id, "return", "照片看不清")
    with app.test_request_context():
        notes = [i.note for i in thoughts.for_home(member_user) if QUARTER in i.url]
        assert notes == ["已退回：照片看不清"]


def _jpeg_with_gps() -> bytes:
    image = Image.new("RGB", (200, 300), "white")
    exif = Image.Exif()
    exif[0x8825] = {2: (28, 0, 0)}  # a GPS latitude
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


def test_photos_of_a_handwritten_report_lose_their_exif(login, org, app):
    member = login("member")
    response = member.post(
        f"/thoughts/mine/{QUARTER}/photos",
        {"photos": [(io.BytesIO(_jpeg_with_gps()), "IMG_0001.jpg")]},
        content_type="multipart/form-data",
    )
    assert response.status_code == 303, response.get_data(as_text=True)
    report = db.session.scalar(select(ThoughtReport))
    photo = thoughts.photos_of(report)[0]
    response = member.get(f"/thoughts/photos/{photo.id}")
    data = response.data
    response.close()
    assert not Image.open(io.BytesIO(data)).getexif()
    # A photo alone is enough to hand in; a stranger cannot fetch it.
    fields = _form(member.get(f"/thoughts/mine/{QUARTER}"))
    assert member.post(f"/thoughts/mine/{QUARTER}/submit", fields | {"body": ""}).status_code == 303
    assert login("secretary2").get(f"/thoughts/photos/{photo.id}").status_code == 404
    response = login("township").get(f"/thoughts/photos/{photo.id}")
    response.close()
    assert response.status_code == 200
    read = select(AuditEntry).where(AuditEntry.entity_type == "thought_photos")
    assert [e.username for e in db.session.scalars(read)] == ["township"]
    not_image = member.post(
        f"/thoughts/mine/{QUARTER}/photos",
        {"photos": [(io.BytesIO(b"not an image"), "x.jpg")]},
        content_type="multipart/form-data",
    )
    assert not_image.status_code == 422


def test_lists_and_home_cost_the_same_queries_for_more_rows(server, login, org):
    from sqlalchemy import event

    with server.app_context():
        engine = db.engine
    township = login("township")
    urls = ("/thoughts/?status=all", "/thoughts/missing", f"/thoughts/missing?quarter={QUARTER}")

    def statements() -> list[int]:
        counts = []
        for url in urls:
            seen = []
            listener = lambda *args, seen=seen: seen.append(1)  # noqa: E731
            event.listen(engine, "before_cursor_execute", listener)
            try:
                assert township.get(url).status_code == 200
            finally:
                event.remove(engine, "before_cursor_execute", listener)
            counts.append(len(seen))
        return counts

    def add_members(n: int, start: int) -> None:
        for i in range(n):
            m = factories.member(org.villages["angdong"], name=f"彭{start + i}号")
            db.session.add(
                ThoughtReport(
                    member_id=m.id, village_id=m.village_id, township_id=m.township_id,
                    quarter=QUARTER, status="submitted" if i % 2 else "draft", body=TEXT,
                    due_on=thoughts.quarter_end(QUARTER), submitted_at=None,
                )
            )  # fmt: skip
        db.session.commit()

    add_members(1, 0)
    statements()  # the village menu is cached per process: count from the second visit
    few = statements()
    add_members(6, 10)
    assert statements() == few
