"""The county hub (/hub/): announcements with read receipts and nudges; questions, answers, FAQ."""

import hashlib
import io
from datetime import timedelta

import pytest
from PIL import Image
from sqlalchemy import event, func, select

from baojing.dates import local_today
from baojing.extensions import db
from baojing.models import Announcement, AnnouncementReceipt, AuditEntry, Question
from baojing.models.types import utcnow
from baojing.services import hub
from baojing.services.hub import questions
from tests import factories


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def publish(client, title="春节返乡座谈会通知", body="请各位党员按时参加。", **over):
    key = hashlib.sha256(f"{title}{body}".encode()).hexdigest()[:32]
    data = {"title": title, "body": body, "request_id": key}
    data.update(over)
    return client.post("/hub/announcements/new", data, content_type="multipart/form-data")


def announcement(title) -> Announcement:
    return db.session.scalar(select(Announcement).where(Announcement.title == title))


def home(app, user):
    with app.test_request_context():
        return hub.for_home(user)


def jpeg_with_gps() -> bytes:
    image = Image.new("RGB", (800, 600), "red")
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    exif[0x8825] = {1: "N", 2: (28.0, 41.0, 52.0), 3: "E", 4: (109.0, 39.0, 24.0)}
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


# --- publishing and sanitising ------------------------------------------------------------


def test_sanitising_strips_script_onerror_and_javascript_urls(org, login):
    c = login("township")
    body = (
        '通知<script>alert("x")</script>'
        '<img src="/hub/x.jpg" onerror="alert(1)">'
        '<a href="javascript:alert(2)">点我</a>'
        '<a href="https://www.12371.cn/">共产党员网</a>'
        '<img src="data:image/png;base64,AAAA">'
    )
    response = publish(c, "消毒测试", body)
    assert response.status_code == 303
    row = announcement("消毒测试")
    for bad in ("<script", "alert(", "onerror", "javascript:", "data:"):
        assert bad not in row.body, bad
    assert '<a href="https://www.12371.cn/" rel="noopener noreferrer nofollow">' in row.body
    assert '<img src="/hub/x.jpg">' in row.body
    page = c.get(f"/hub/announcements/{row.id}").get_data(as_text=True)
    assert "共产党员网</a>" in page and "<script>alert" not in page


def test_plain_text_becomes_paragraphs_and_html_typed_as_text_stays_text(org, login):
    c = login("admin")
    publish(c, "分段", "第一段\n第二行\n\n第二段")
    assert announcement("分段").body == "<p>第一段<br>第二行</p><p>第二段</p>"


def test_each_role_publishes_to_its_own_scope(org, login):
    publish(login("admin"), "县里的")
    publish(login("township"), "迁陵镇的")
    publish(login("secretary"), "踏梯村的", village_id=org.villages["xinmin"].id)
    county, township, village = (announcement(t) for t in ("县里的", "迁陵镇的", "踏梯村的"))
    assert (county.scope, county.township_id, county.village_id) == ("county", None, None)
    assert (township.scope, township.township_id) == ("township", org.townships["迁陵镇"].id)
    # A form field naming another village is ignored: the secretary's own village.
    assert (village.scope, village.village_id) == ("village", org.villages["tati"].id)
    actions = db.session.scalars(
        select(AuditEntry.action).where(AuditEntry.action == "hub.publish")
    )
    assert len(list(actions)) == 3


def test_members_see_county_township_and_village_newest_first_pinned_on_top(org, login):
    publish(
        login("admin"), "县里的旧闻", pinned_until=(local_today() + timedelta(days=3)).isoformat()
    )
    publish(login("township"), "迁陵镇的")
    publish(login("secretary"), "踏梯村的")
    page = login("member").get("/hub/").get_data(as_text=True)
    assert page.index("县里的旧闻") < page.index("踏梯村的") < page.index("迁陵镇的")
    assert "置顶" in page and page.count("未读") >= 3
    other = new_member_client(org, login, "xinmin")
    page = other.get("/hub/").get_data(as_text=True)
    assert "县里的旧闻" in page and "迁陵镇的" not in page and "踏梯村的" not in page


def new_member_client(org, login, village_key):
    """A member account for the member of another village (the org has one for 踏梯村)."""
    key = f"member_{village_key}"
    if key not in org.users:
        m = org.members[village_key]
        org.users[key] = factories.user(key, "member", org.villages[village_key], m)
        db.session.commit()
    return login(key)


@pytest.mark.parametrize(
    "field,over,message",
    [
        ("title", {"title": ""}, "请填写标题"),
        ("body", {"body": "<script>x</script>"}, "请填写正文"),
        ("pinned_until", {"pinned_until": "2001-01-01"}, "置顶日期"),
    ],
)
def test_bad_input_is_refused_by_its_field_and_writes_nothing(org, login, field, over, message):
    response = publish(login("township"), **{"title": "标题", **over})
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert count(Announcement) == 0


def test_an_attachment_that_is_neither_pdf_nor_image_is_refused(org, login):
    c = login("township")
    response = publish(c, attachment=(io.BytesIO(b"MZ\x90\x00 not a pdf"), "virus.exe"))
    assert response.status_code == 422
    assert "附件只能是 PDF 文件" in response.get_data(as_text=True)
    assert count(Announcement) == 0


def test_an_image_attachment_is_re_encoded_without_exif_and_served_in_scope(org, login):
    c = login("township")
    response = publish(c, "有图", attachment=(io.BytesIO(jpeg_with_gps()), "现场.jpg"))
    assert response.status_code == 303
    row = announcement("有图")
    assert row.attachment_kind == "image" and row.attachment_name == "现场.jpg"
    served = login("member").get(f"/hub/announcements/{row.id}/attachment")
    assert served.status_code == 200 and served.mimetype == "image/jpeg"
    image = Image.open(io.BytesIO(served.get_data()))
    served.close()
    assert not image.getexif().get_ifd(0x8825) and 0x010F not in image.getexif()
    assert login("secretary2").get(f"/hub/announcements/{row.id}/attachment").status_code == 404


def test_a_pdf_attachment_downloads_as_a_file(org, login):
    pdf = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
    publish(login("admin"), "有文件", attachment=(io.BytesIO(pdf), "通知.pdf"))
    row = announcement("有文件")
    response = login("member").get(f"/hub/announcements/{row.id}/attachment")
    assert response.get_data() == pdf
    response.close()
    assert response.headers["Content-Disposition"].startswith("attachment")


def test_double_submit_publishes_once(org, login):
    c = login("township")
    assert publish(c, "一次", request_id="same-key-123").status_code == 303
    assert publish(c, "一次", request_id="same-key-123").status_code == 303
    assert count(Announcement) == 1
    assert publish(c, "另一条", request_id="same-key-123").status_code == 409


def test_missing_csrf_token_publishes_nothing(org, login):
    c = login("township")
    response = c.post("/hub/announcements/new", {"title": "x", "body": "y"}, csrf=False)
    assert response.status_code == 400
    assert count(Announcement) == 0


def test_members_and_the_clerk_cannot_publish(org, login):
    assert publish(login("member")).status_code == 403
    assert login("clerk").get("/hub/").status_code == 403
    assert count(Announcement) == 0


# --- read receipts and nudges -------------------------------------------------------------


def test_opening_records_one_receipt_and_the_unread_list_shrinks(org, login):
    officer = login("township")
    publish(officer, "请阅读")
    row = announcement("请阅读")
    page = officer.get(f"/hub/announcements/{row.id}/unread").get_data(as_text=True)
    assert "已读 0 / 2" in page and "向光明" in page and "彭昂洞" in page
    member = login("member")
    for _ in range(2):
        assert member.get(f"/hub/announcements/{row.id}").status_code == 200
    receipts = db.session.scalars(select(AnnouncementReceipt)).all()
    assert [(r.member_id, r.read_at is not None) for r in receipts] == [
        (org.members["tati"].id, True)
    ]
    page = officer.get(f"/hub/announcements/{row.id}/unread").get_data(as_text=True)
    assert "已读 1 / 2" in page and "向光明" not in page and "彭昂洞" in page
    # An officer opening it leaves no receipt.
    officer.get(f"/hub/announcements/{row.id}")
    assert count(AnnouncementReceipt) == 1


def test_read_receipts_show_only_the_viewers_scope(org, login):
    publish(login("admin"), "全县通知")
    row = announcement("全县通知")
    county = login("admin").get(f"/hub/announcements/{row.id}/unread").get_data(as_text=True)
    assert all(name in county for name in ("向光明", "彭昂洞", "田新民"))
    township = login("township").get(f"/hub/announcements/{row.id}/unread").get_data(as_text=True)
    assert "向光明" in township and "彭昂洞" in township and "田新民" not in township
    village = login("secretary").get(f"/hub/announcements/{row.id}/unread").get_data(as_text=True)
    assert "向光明" in village and "彭昂洞" not in village and "田新民" not in village
    assert "已读 0 / 1" in village


@pytest.mark.parametrize("who", ["secretary2", "member_xinmin"])
@pytest.mark.parametrize(
    "method,path",
    [("GET", ""), ("GET", "/unread"), ("GET", "/attachment"), ("POST", "/nudge")],
)
def test_another_townships_member_or_secretary_gets_404(org, login, who, method, path):
    publish(login("township"), "迁陵镇内部")
    row = announcement("迁陵镇内部")
    c = new_member_client(org, login, "xinmin") if who == "member_xinmin" else login(who)
    url = f"/hub/announcements/{row.id}{path}"
    response = c.get(url) if method == "GET" else c.post(url, {})
    expected = 403 if who == "member_xinmin" and path in ("/unread", "/nudge") else 404
    assert response.status_code == expected
    assert count(AnnouncementReceipt) == 0


def test_nudge_reaches_the_home_page_until_the_member_reads_it(app, org, login):
    officer = login("township")
    publish(officer, "务必阅读")
    row = announcement("务必阅读")
    response = officer.post(f"/hub/announcements/{row.id}/nudge", {})
    assert response.status_code == 303
    assert db.session.scalar(
        select(func.count()).where(AnnouncementReceipt.nudged_at.is_not(None))
    ) == 2  # fmt: skip
    items = home(app, org.users["member"])
    assert [(i.kind, i.title) for i in items] == [("nudge", "请阅读：务必阅读")]
    login("member").get(items[0].url)
    assert home(app, org.users["member"]) == []
    # Nudging again reaches only who still has not read it.
    officer.post(f"/hub/announcements/{row.id}/nudge", {})
    audit = db.session.scalars(
        select(AuditEntry.after).where(AuditEntry.action == "hub.nudge").order_by(AuditEntry.id)
    ).all()
    assert ['"members": 2' in audit[0], '"members": 1' in audit[1]] == [True, True]


def test_nudging_one_member_of_another_village_is_404(org, login):
    publish(login("admin"), "全县")
    row = announcement("全县")
    c = login("secretary")
    response = c.post(f"/hub/announcements/{row.id}/nudge", {"member_id": org.members["xinmin"].id})
    assert response.status_code == 404
    assert count(AnnouncementReceipt) == 0
    c.post(f"/hub/announcements/{row.id}/nudge", {"member_id": org.members["tati"].id})
    assert db.session.scalars(select(AnnouncementReceipt.member_id)).all() == [
        org.members["tati"].id
    ]


def test_unread_announcements_on_the_home_page(app, org, login):
    publish(login("admin"), "县里新闻")
    publish(login("township"), "镇里新闻")
    items = home(app, org.users["member"])
    assert [(i.kind, i.title) for i in items] == [
        ("announcement", "镇里新闻"),
        ("announcement", "县里新闻"),
    ]


def test_the_unread_list_costs_the_same_statements_for_more_members(server, org, login):
    publish(login("township"), "计数")
    row = announcement("计数")
    c = login("township")
    with server.app_context():
        engine = db.engine  # the one the requests run on

    def statements() -> int:
        seen = []
        listener = lambda *args: seen.append(1)  # noqa: E731
        event.listen(engine, "before_cursor_execute", listener)
        try:
            assert c.get(f"/hub/announcements/{row.id}/unread").status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", listener)
        return len(seen)

    few = statements()
    for n in range(25):
        factories.member(org.villages["angdong"], name=f"党员{n}")
    db.session.commit()
    assert few > 3 and statements() == few


# --- questions, answers, the FAQ ---------------------------------------------------------


def ask(client, **over):
    data = {"addressed_to": "township", "kind": "question", "body": "外出务工期间党费怎么交？",
            "consent_publish": "y", "request_id": "ask-key-0001"}  # fmt: skip
    data.update(over)
    return client.post("/hub/questions/new", data)


def test_a_member_asks_the_township_officer_answers_and_it_reaches_home(app, org, login):
    member = login("member")
    assert ask(member).status_code == 303
    assert ask(member).status_code == 303  # a double tap asks once
    q = db.session.scalar(select(Question))
    assert count(Question) == 1 and q.township_id == org.townships["迁陵镇"].id
    # The county reads it but does not answer the township's question.
    admin = login("admin")
    assert "由他们回复" in admin.get(f"/hub/questions/{q.id}").get_data(as_text=True)
    assert admin.post(f"/hub/questions/{q.id}/answer", {"answer": "x"}).status_code == 403
    officer = login("township")
    assert "外出务工期间党费" in officer.get("/hub/questions").get_data(as_text=True)
    assert officer.get(f"/hub/questions/{q.id}").status_code == 200
    response = officer.post(
        f"/hub/questions/{q.id}/answer",
        {"answer": "可在流入地党组织交纳<script>x</script>", "request_id": "ans-key-0001"},
    )
    assert response.status_code == 303
    db.session.refresh(q)
    assert q.status == "answered" and "<script" not in q.answer
    items = home(app, org.users["member"])
    assert [(i.kind, i.title) for i in items] == [("answer", "乡镇党委回复了您的咨询")]
    assert "可在流入地党组织交纳" in member.get(items[0].url).get_data(as_text=True)
    assert home(app, org.users["member"]) == []
    # Officers' reads of a member's question are audited; the member's own are not.
    reads = db.session.scalars(
        select(AuditEntry.username).where(AuditEntry.action == "sensitive.read")
    ).all()
    assert sorted(reads) == ["admin", "township"]


def test_questions_are_scoped(org, login):
    ask(login("member"))
    q = db.session.scalar(select(Question))
    assert login("secretary2").get(f"/hub/questions/{q.id}").status_code == 404
    assert login("secretary").get(f"/hub/questions/{q.id}").status_code == 404
    other = new_member_client(org, login, "xinmin")
    assert other.get(f"/hub/questions/{q.id}").status_code == 404
    assert "党费" not in other.get("/hub/questions").get_data(as_text=True)
    org.users["township2"] = factories.user(
        "township2", "township_officer", org.townships["葫芦镇"]
    )
    db.session.commit()
    officer2 = login("township2")
    assert officer2.get(f"/hub/questions/{q.id}").status_code == 404
    assert officer2.post(f"/hub/questions/{q.id}/answer", {"answer": "x"}).status_code == 404
    assert "党费" not in officer2.get("/hub/questions").get_data(as_text=True)


def test_a_question_without_text_is_refused(org, login):
    response = ask(login("member"), body="   ")
    assert response.status_code == 422
    assert "请写下您想问的" in response.get_data(as_text=True)
    assert count(Question) == 0


def test_faq_publishes_anonymised_only_with_consent(org, login):
    member = login("member")
    ask(member, request_id="ask-no-consent", consent_publish="", body="向光明问：低保怎么办？")
    ask(member, request_id="ask-consent", addressed_to="county", body="向光明问：证明信去哪开？")
    no, yes = db.session.scalars(select(Question).order_by(Question.id)).all()
    response = login("township").post(
        f"/hub/questions/{no.id}/answer",
        {
            "answer": "找民政办",
            "publish": "y",
            "faq_question": "低保怎么办？",
            "request_id": "answer-key-1",
        },
    )
    assert response.status_code == 422
    assert "没有同意公开，不能发到常见问答" in response.get_data(as_text=True)
    assert db.session.get(Question, no.id).status == "open"
    response = login("admin").post(
        f"/hub/questions/{yes.id}/answer",
        {"answer": "到乡镇党委开具", "publish": "y", "faq_question": "证明信去哪开？",
         "request_id": "answer-key-2"},
    )  # fmt: skip
    assert response.status_code == 303
    faq = login("secretary2").get("/hub/faq").get_data(as_text=True)
    assert "证明信去哪开？" in faq and "到乡镇党委开具" in faq and "向光明" not in faq
    login("admin").post(f"/hub/questions/{yes.id}/faq", {"faq_question": "证明信去哪开？"})
    assert "证明信去哪开" not in login("member").get("/hub/faq").get_data(as_text=True)


def test_a_question_left_open_past_the_setting_is_in_the_officers_todo(app, org, login):
    ask(login("member"))
    ask(login("member"), request_id="ask-county", addressed_to="county", body="县里的问题")
    q_township, q_county = db.session.scalars(select(Question).order_by(Question.id)).all()
    assert home(app, org.users["township"]) == []
    q_township.created_at = utcnow() - timedelta(days=4)  # the default is 3 days
    db.session.commit()
    items = home(app, org.users["township"])
    assert [(i.kind, i.overdue) for i in items] == [("answer", True)]
    assert items[0].url.endswith(f"/hub/questions/{q_township.id}")
    assert home(app, org.users["admin"]) == []
    assert hub.todo_for(org.users["secretary"]) == []
    page = login("township").get("/hub/questions?status=overdue").get_data(as_text=True)
    assert "超期" in page and "外出务工期间党费" in page
    assert questions.overdue_before() < utcnow()
