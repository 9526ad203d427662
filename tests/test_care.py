"""Care (四必访): reporting events, visits with photos, scope, idempotency, nothing deleted."""

import io
import random
import re
from datetime import timedelta
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from baojing.dates import local_today
from baojing.extensions import db
from baojing.models.audit import AuditEntry
from baojing.models.care import CareCase, CarePhoto, CareVisit
from baojing.services.care import cases
from baojing.services.care import photos as photo_files
from baojing.services.idempotency import fingerprint


def _today():
    return local_today()


def open_case(org, key="tati", kind="illness", days_ago=0, by="secretary"):
    """A case opened `days_ago` days ago (its dates moved back as if reported then)."""
    case = cases.open_case(
        org.members[key], org.users[by],
        {"kind": kind, "event_on": _today(), "description": "母亲住院", "reported_via": "liaison"},
    )  # fmt: skip
    if days_ago:
        case.opened_on -= timedelta(days=days_ago)
        case.event_on -= timedelta(days=days_ago)
        case.due_on -= timedelta(days=days_ago)
    db.session.commit()
    return case


def jpeg(size=(1200, 900), gps=True, color="green") -> bytes:
    image = Image.new("RGB", size, color)
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    if gps:
        exif[0x8825] = {1: "N", 2: (28.0, 41.0, 52.0), 3: "E", 4: (109.0, 39.0, 24.0)}
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


def visit_data(**over):
    data = {
        "request_id": "visit-key-0001",
        "visited_on": _today().isoformat(),
        "visitors": "彭书记、田联络员",
        "method": "hospital",
        "findings": "已出院回家休养",
        "money": "200.50",
        "goods": "牛奶两箱",
    }
    data.update(over)
    return data


def post_visit(client, case_id, photos=(), **over):
    data = visit_data(**over)
    data["photos"] = [(io.BytesIO(p), name) for name, p in photos]
    return client.post(f"/care/cases/{case_id}/visit", data, content_type="multipart/form-data")


def fetch(client, url):
    """GET a file: read it whole and close it (send_file keeps the file open until then)."""
    response = client.get(url)
    response.get_data()
    response.close()
    return response


def count(model, *where):
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


# --- reporting ---------------------------------------------------------------------------


def test_secretary_reports_a_case_and_it_is_due_by_the_kinds_deadline(org, login):
    c = login("secretary")
    member = org.members["tati"]
    page = c.get(f"/care/cases/new?member_id={member.id}").get_data(as_text=True)
    key = re.search(r'name="request_id" type="hidden" value="([^"]+)"', page).group(1)
    form = {"kind": "illness", "event_on": _today().isoformat(), "description": "父亲脑梗住院",
            "reported_via": "liaison", "request_id": key}  # fmt: skip
    response = c.post(f"/care/cases/new?member_id={member.id}", form)
    assert response.status_code == 303
    case = db.session.scalar(select(CareCase).where(CareCase.member_id == member.id))
    assert (case.status, case.due_on, case.reported_via) == (
        "open",
        _today() + timedelta(days=3),
        "liaison",
    )
    assert (
        count(AuditEntry, AuditEntry.action == "care.case_open", AuditEntry.entity_id == case.id)
        == 1
    )
    todo = c.get("/care/").get_data(as_text=True)
    assert member.name in todo and "待走访" in todo

    # The same form sent again (a retry on a weak signal) opens nothing new.
    assert c.post(f"/care/cases/new?member_id={member.id}", form).status_code == 303
    assert count(CareCase) == 1
    # The same key with other content is refused.
    assert (
        c.post(
            f"/care/cases/new?member_id={member.id}", form | {"description": "别的事"}
        ).status_code
        == 409
    )
    assert count(CareCase) == 1


def test_a_future_wedding_is_due_after_its_day(org):
    day = _today() + timedelta(days=20)
    case = cases.open_case(
        org.members["tati"], org.users["secretary"],
        {"kind": "wedding_funeral", "event_on": day, "description": "儿子结婚", "reported_via": "family"},
    )  # fmt: skip
    assert case.due_on == day + timedelta(days=3)


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"description": ""}, "description", "请简要说明情况"),
        ({"description": "很" * 301}, "description", "最多 300 个字"),
        ({"kind": ""}, "kind", "请选择事件类型"),
        ({"event_on": "2020-13-45"}, "event_on", ""),
        ({"event_on": "2019-01-01"}, "event_on", "一年以上"),
    ],
)
def test_bad_case_input_is_refused_next_to_the_field(org, login, change, field, message):
    c = login("secretary")
    member = org.members["tati"]
    form = {"kind": "illness", "event_on": _today().isoformat(), "description": "住院",
            "reported_via": "branch", "request_id": "case-key-0001"} | change  # fmt: skip
    response = c.post(f"/care/cases/new?member_id={member.id}", form)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    error = re.search(rf'id="{field}-error"[^>]*>([^<]*)<', page).group(1)
    assert error and message in error
    assert count(CareCase) == 0


def test_missing_csrf_token_changes_nothing(org, login):
    c = login("secretary")
    form = {"kind": "illness", "event_on": _today().isoformat(), "description": "住院",
            "reported_via": "branch", "request_id": "case-key-0002"}  # fmt: skip
    response = c.post(f"/care/cases/new?member_id={org.members['tati'].id}", form, csrf=False)
    assert response.status_code == 400
    assert count(CareCase) == 0


def test_member_reports_for_their_own_family_only(org, login):
    c = login("member")
    form = {"kind": "setback", "event_on": _today().isoformat(), "description": "工程款被拖欠",
            "request_id": "member-case-01", "reported_via": "branch"}  # fmt: skip
    # member_id of somebody else is ignored: a member reports for themself.
    response = c.post(f"/care/cases/new?member_id={org.members['xinmin'].id}", form)
    assert response.status_code == 303
    case = db.session.scalar(select(CareCase))
    assert (case.member_id, case.reported_via) == (org.members["tati"].id, "member")
    assert "创业受挫" in c.get("/care/mine").get_data(as_text=True)


# --- scope --------------------------------------------------------------------------------


def test_another_villages_case_is_404_for_every_action(org, login):
    case = open_case(org, "tati")
    other = login("secretary2")
    assert other.get(f"/care/cases/{case.id}").status_code == 404
    assert other.get(f"/care/cases/{case.id}/visit").status_code == 404
    assert post_visit(other, case.id).status_code == 404
    assert other.post(f"/care/cases/{case.id}/cancel", {"reason": "错了"}).status_code == 404
    assert other.get(f"/care/cases/new?member_id={org.members['tati'].id}").status_code == 404
    assert case.id not in [
        int(i) for i in re.findall(r"/care/cases/(\d+)", other.get("/care/").get_data(as_text=True))
    ]
    assert count(CareVisit) == 0
    db.session.refresh(case)
    assert case.status == "open"


def test_township_sees_its_villages_cases_and_not_other_townships(org, login):
    mine, theirs = open_case(org, "angdong"), open_case(org, "xinmin")
    township = login("township")
    assert township.get(f"/care/cases/{mine.id}").status_code == 200
    assert township.get(f"/care/cases/{theirs.id}").status_code == 404
    todo = township.get("/care/").get_data(as_text=True)
    assert org.members["angdong"].name in todo and org.members["xinmin"].name not in todo


def test_clerk_and_member_cannot_work_cases(org, login):
    case = open_case(org, "tati")
    assert login("clerk").get("/care/").status_code == 403
    member = login("member")
    assert member.get(f"/care/cases/{case.id}").status_code == 200  # their own family's case
    assert member.get(f"/care/cases/{case.id}/visit").status_code == 403
    assert post_visit(member, case.id).status_code == 403
    assert member.post(f"/care/cases/{case.id}/cancel", {"reason": "x"}).status_code == 403
    other = open_case(org, "angdong")
    assert member.get(f"/care/cases/{other.id}").status_code == 404


# --- visits -------------------------------------------------------------------------------


def test_a_visit_closes_an_overdue_case_and_it_leaves_the_to_do(org, login):
    case = open_case(org, "tati", days_ago=8)
    c = login("secretary")
    assert "逾期 5 天" in c.get("/care/").get_data(as_text=True)
    response = post_visit(c, case.id)
    assert response.status_code == 303
    db.session.refresh(case)
    assert (case.status, case.first_visit_on, case.closed_on) == ("closed", _today(), _today())
    visit = db.session.scalar(select(CareVisit))
    assert (visit.money_fen, visit.method, visit.recorded_by_id) == (
        20050,
        "hospital",
        org.users["secretary"].id,
    )
    todo = c.get("/care/").get_data(as_text=True)
    assert f'href="/care/cases/{case.id}"' not in todo and "已逾期" not in todo
    page = c.get(f"/care/cases/{case.id}").get_data(as_text=True)
    assert "已办结" in page and "200.50 元" in page and "彭书记" in page
    assert (
        count(AuditEntry, AuditEntry.action == "care.visit", AuditEntry.entity_id == visit.id) == 1
    )
    # Closed: no second visit.
    assert post_visit(c, case.id, request_id="visit-key-0002").status_code == 422
    assert count(CareVisit) == 1


def test_follow_up_keeps_the_case_on_the_list_with_its_new_date(org, login):
    case = open_case(org, "tati", days_ago=1)
    c = login("secretary")
    later = _today() + timedelta(days=10)
    assert post_visit(c, case.id, follow_up="y", follow_up_on=later.isoformat()).status_code == 303
    db.session.refresh(case)
    assert (case.status, case.due_on, case.first_visit_on) == ("follow_up", later, _today())
    assert "待跟进" in c.get("/care/").get_data(as_text=True)
    # A second visit without a follow-up closes it; the first visit date stays.
    assert post_visit(c, case.id, request_id="visit-key-0003").status_code == 303
    db.session.refresh(case)
    assert (case.status, case.first_visit_on) == ("closed", _today())


@pytest.mark.parametrize("method", ["phone", "wechat"])
def test_a_phone_call_is_contact_only_and_never_closes_the_case(org, login, method):
    """四必访 means going there: a call is logged, the case stays open and due, and says so."""
    case = open_case(org, "tati", days_ago=8)
    due_on = case.due_on
    c = login("secretary")
    response = post_visit(c, case.id, method=method, findings="电话里问了情况")
    assert response.status_code == 303
    db.session.refresh(case)
    assert (case.status, case.due_on, case.first_visit_on, case.closed_on) == (
        "open",
        due_on,
        None,
        None,
    )
    assert db.session.scalar(select(CareVisit.method)) == method
    page = c.get(f"/care/cases/{case.id}").get_data(as_text=True)
    assert "四必访须上门走访" in page and "只算联系" in page
    assert "已办结" not in page and "逾期 5 天" in page
    assert f'href="/care/cases/{case.id}"' in c.get("/care/").get_data(as_text=True)
    # The visit in person afterwards closes it.
    assert post_visit(c, case.id, method="home", request_id="visit-key-0004").status_code == 303
    db.session.refresh(case)
    assert (case.status, case.first_visit_on) == ("closed", _today())


def test_a_phone_call_does_not_move_a_follow_up_date(org, login):
    case = open_case(org, "tati", days_ago=1)
    c = login("secretary")
    later = _today() + timedelta(days=10)
    assert post_visit(c, case.id, follow_up="y", follow_up_on=later.isoformat()).status_code == 303
    farther = (_today() + timedelta(days=30)).isoformat()
    call = post_visit(
        c, case.id, method="phone", follow_up="y", follow_up_on=farther, request_id="call-0001"
    )
    assert call.status_code == 303
    db.session.refresh(case)
    assert (case.status, case.due_on) == ("follow_up", later)


def test_the_visit_form_says_a_call_does_not_close(org, login):
    case = open_case(org, "tati")
    page = login("secretary").get(f"/care/cases/{case.id}/visit").get_data(as_text=True)
    assert "电话、微信只算联系，不能办结" in page


def test_double_submitted_visit_is_saved_once_with_its_photo_once(org, login):
    case = open_case(org, "tati")
    c = login("secretary")
    photo = [("scene.jpg", jpeg())]
    assert post_visit(c, case.id, photo).status_code == 303
    assert post_visit(c, case.id, photo).status_code == 303  # the replay finds the first
    assert (count(CareVisit), count(CarePhoto)) == (1, 1)
    assert post_visit(c, case.id, photo, findings="改了内容").status_code == 409


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"visitors": ""}, "visitors", "请填写谁去走访的"),
        ({"money": "-5"}, "money", "不能为负数"),
        ({"money": "abc"}, "money", "请填写数字金额"),
        ({"money": "sNaN"}, "money", "请填写数字金额"),  # was a 500
        ({"money": "1e5"}, "money", "请填写数字金额"),
        ({"money": "12.345"}, "money", "精确到分"),  # was rounded silently
        ({"money": "99999999"}, "money", "超过 10 万元"),
        (
            {"visited_on": (local_today() + timedelta(days=1)).isoformat()},
            "visited_on",
            "不能晚于今天",
        ),
        (
            {"follow_up_on": (local_today() + timedelta(days=3)).isoformat()},
            "follow_up_on",
            "需要跟进",
        ),
        ({"findings": "字" * 1001}, "findings", "最多 1000 个字"),
    ],
)
def test_bad_visit_input_is_refused_and_nothing_changes(org, login, change, field, message):
    case = open_case(org, "tati")
    response = post_visit(login("secretary"), case.id, **change)
    assert response.status_code == 422
    error = re.search(rf'id="{field}-error"[^>]*>([^<]*)<', response.get_data(as_text=True)).group(
        1
    )
    assert error and message in error
    db.session.refresh(case)
    assert case.status == "open" and count(CareVisit) == 0


def test_visit_page_and_fragment_both_vary_on_hx_request(org, login):
    case = open_case(org, "tati")
    c = login("secretary")
    url = f"/care/cases/{case.id}/visit"
    page = c.get(url)
    assert page.status_code == 200 and "<html" in page.get_data(as_text=True)
    assert "HX-Request" in page.headers["Vary"]
    fragment = c.get(url, headers={"HX-Request": "true"})
    body = fragment.get_data(as_text=True)
    assert fragment.status_code == 200 and "<html" not in body and 'id="visit-form"' in body
    assert "HX-Request" in fragment.headers["Vary"]
    refused = c.post(url, visit_data(visitors=""), headers={"HX-Request": "true"},
                     content_type="multipart/form-data")  # fmt: skip
    assert refused.status_code == 422 and "<html" not in refused.get_data(as_text=True)
    assert "HX-Request" in refused.headers["Vary"]


def test_cancel_needs_a_reason_and_keeps_the_case(org, login):
    case = open_case(org, "tati")
    c = login("secretary")
    refused = c.post(f"/care/cases/{case.id}/cancel", {"reason": "", "request_id": "cancel-0001"})
    assert refused.status_code == 422
    page = refused.get_data(as_text=True)
    assert "请填写原因" in page and '<details class="card" open>' in page  # by the field
    db.session.refresh(case)
    assert case.status == "open"
    form = {"reason": "重复登记", "request_id": "cancel-0002"}
    assert c.post(f"/care/cases/{case.id}/cancel", form).status_code == 303
    db.session.refresh(case)
    assert (case.status, case.cancel_reason, case.cancelled_by_id) == (
        "cancelled",
        "重复登记",
        org.users["secretary"].id,
    )
    assert f'href="/care/cases/{case.id}"' not in c.get("/care/").get_data(as_text=True)
    assert post_visit(c, case.id).status_code == 422


def _cancel_key(page: str) -> str:
    form = page[page.index("/cancel") :]
    return re.search(r'name="request_id" type="hidden" value="([^"]+)"', form).group(1)


def test_cancel_tapped_twice_is_done_once_without_an_error(org, login):
    case = open_case(org, "tati")
    c = login("secretary")
    form = {"reason": "重复登记", "request_id": _cancel_key(c.get(f"/care/cases/{case.id}").text)}
    first = c.post(f"/care/cases/{case.id}/cancel", form)
    second = c.post(f"/care/cases/{case.id}/cancel", form)  # the double tap
    assert (first.status_code, second.status_code) == (303, 303)
    page = c.get(f"/care/cases/{case.id}").get_data(as_text=True)
    assert page.count("已取消这条关怀事件") == 2 and "flash error" not in page
    assert count(AuditEntry, AuditEntry.action == "care.case_cancel") == 1
    db.session.refresh(case)
    assert (case.status, case.cancel_reason) == ("cancelled", "重复登记")
    # The same key with another reason is not the same form.
    assert c.post(f"/care/cases/{case.id}/cancel", form | {"reason": "别的"}).status_code == 409
    # A page from before (no key) is refused with a message, not half done.
    other = open_case(org, "tati")
    refused = c.post(f"/care/cases/{other.id}/cancel", {"reason": "重复登记"})
    assert refused.status_code == 422 and "表单已过期" in refused.get_data(as_text=True)
    assert 'value="重复登记"' in refused.get_data(as_text=True)  # the typed reason kept
    db.session.refresh(other)
    assert other.status == "open"


def test_visit_typed_after_the_case_was_cancelled_is_kept(org, login):
    case = open_case(org, "tati")
    c = login("secretary")
    c.post(f"/care/cases/{case.id}/cancel", {"reason": "重复登记", "request_id": "cancel-0003"})
    response = post_visit(c, case.id, findings="老人恢复得不错<b>")
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "不能再记录走访" in page
    assert "老人恢复得不错&lt;b&gt;</textarea>" in page


def test_deploy_doc_lets_nginx_pass_the_largest_visit_the_app_accepts(app):
    doc = (Path(app.root_path).parent / "docs" / "deploy.md").read_text(encoding="utf-8")
    megabytes = int(re.search(r"client_max_body_size (\d+)m;", doc).group(1))
    with app.test_request_context():
        assert megabytes * 1024 * 1024 >= photo_files.request_limit()


def test_care_rows_cannot_be_deleted_nor_visits_edited(org):
    case = open_case(org, "tati")
    cases.record_visit(case, org.users["secretary"], {
        "visited_on": _today(), "visitors": "书记", "method": "home", "findings": "", "money_fen": 0,
        "goods": "", "help_arranged": "", "follow_up": False, "follow_up_on": None,
        "shared_with_member": False,
    })  # fmt: skip
    db.session.commit()
    for statement in (
        "DELETE FROM care_cases",
        "DELETE FROM care_visits",
        "UPDATE care_visits SET findings = 'x'",
    ):
        with pytest.raises(IntegrityError):
            db.session.execute(text(statement))
        db.session.rollback()
    assert count(CareCase) == 1


# --- photos -------------------------------------------------------------------------------


def test_photo_is_re_encoded_without_location_and_served_only_in_scope(org, login, app):
    case = open_case(org, "tati")
    c = login("secretary")
    original = jpeg(size=(4000, 3000))
    assert b"PhoneMaker" in original
    assert post_visit(c, case.id, [("IMG_20261128_家里.jpg", original)]).status_code == 303
    photo = db.session.scalar(select(CarePhoto))
    assert (photo.width, photo.height) == (1600, 1200)
    assert "IMG" not in photo.token and len(photo.token) == 32

    response = fetch(c, f"/care/photos/{photo.id}")
    assert response.status_code == 200 and response.mimetype == "image/jpeg"
    assert "no-store" in response.headers["Cache-Control"]
    assert "家里" not in response.headers.get("Content-Disposition", "")
    served = Image.open(io.BytesIO(response.data))
    assert served.size == (1600, 1200)
    assert not served.getexif() and b"PhoneMaker" not in response.data
    assert fetch(c, f"/care/photos/{photo.id}/thumb").status_code == 200

    assert fetch(login("secretary2"), f"/care/photos/{photo.id}").status_code == 404
    assert fetch(login("clerk"), f"/care/photos/{photo.id}").status_code == 404
    # The member's family is on the photo, but the branch did not share this visit.
    assert fetch(login("member"), f"/care/photos/{photo.id}").status_code == 404


def test_member_reads_only_visits_the_branch_shared(org, login):
    case = open_case(org, "tati")
    c = login("secretary")
    post_visit(
        c,
        case.id,
        findings="家中老人独自在家，情绪低落",
        follow_up="y",
        request_id="visit-private1",
    )
    post_visit(
        c, case.id, findings="已安排邻居照看", shared_with_member="y", request_id="visit-shared-1"
    )
    page = login("member").get(f"/care/cases/{case.id}").get_data(as_text=True)
    assert "已安排邻居照看" in page
    assert "情绪低落" not in page


def test_a_file_that_is_not_an_image_is_refused_by_its_content(org, login):
    case = open_case(org, "tati")
    response = post_visit(
        login("secretary"), case.id, [("photo.jpg", b"%PDF-1.7 not a photo at all")]
    )
    assert response.status_code == 422
    assert "不是图片" in response.get_data(as_text=True)
    assert (count(CareVisit), count(CarePhoto)) == (0, 0)
    db.session.refresh(case)
    assert case.status == "open"


def test_a_gif_is_refused_even_though_it_is_an_image(org, login):
    case = open_case(org, "tati")
    gif = io.BytesIO()
    Image.new("RGB", (10, 10)).save(gif, "GIF")
    response = post_visit(login("secretary"), case.id, [("a.jpg", gif.getvalue())])
    assert response.status_code == 422 and count(CareVisit) == 0


def test_an_oversize_photo_gets_a_clear_message(org, login, app):
    app.config["CARE_PHOTO_MAX_BYTES"] = 20_000
    case = open_case(org, "tati")
    big = _noisy_jpeg()
    assert len(big) > 20_000
    response = post_visit(login("secretary"), case.id, [("big.jpg", big)])
    assert response.status_code == 422
    assert "超过" in response.get_data(as_text=True)
    assert count(CareVisit) == 0


def test_a_request_over_the_upload_limit_is_413_with_a_message(org, login, app):
    app.config["CARE_PHOTO_MAX_BYTES"] = 10_000  # the visit form then takes 4 × 10 KB + 256 KB
    case = open_case(org, "tati")
    response = post_visit(login("secretary"), case.id, [("huge.jpg", b"\xff" * 400_000)])
    assert response.status_code == 413
    assert "每次最多 4 张" in response.get_data(as_text=True)
    assert count(CareVisit) == 0


def test_a_stranger_does_not_get_the_upload_limit(org, new_client, app):
    """The larger limit is for signed-in users: the body is refused before it is read."""
    case = open_case(org, "tati")
    photo = b"\xff" * (app.config["MAX_CONTENT_LENGTH"] + 1024)
    body = (
        b'--x\r\nContent-Disposition: form-data; name="photos"; filename="a.jpg"\r\n'
        b"Content-Type: image/jpeg\r\n\r\n" + photo + b"\r\n--x--\r\n"
    )
    response = new_client().c.post(
        f"/care/cases/{case.id}/visit", data=body, content_type="multipart/form-data; boundary=x"
    )
    assert response.status_code == 413
    assert count(CareVisit) == 0


def test_an_ended_session_does_not_get_the_upload_limit(org, login, new_client, app):
    """A cookie kept after its session ended still names the user: not enough."""
    case = open_case(org, "tati")
    c = login("secretary")
    kept = c.get_cookie("baojing_session").value
    c.logout()
    replay = new_client()
    replay.set_cookie("baojing_session", kept)
    photo = b"\xff" * (app.config["MAX_CONTENT_LENGTH"] + 1024)
    body = (
        b'--x\r\nContent-Disposition: form-data; name="photos"; filename="a.jpg"\r\n'
        b"Content-Type: image/jpeg\r\n\r\n" + photo + b"\r\n--x--\r\n"
    )
    response = replay.c.post(
        f"/care/cases/{case.id}/visit", data=body, content_type="multipart/form-data; boundary=x"
    )
    assert response.status_code == 413
    assert count(CareVisit) == 0


def test_at_most_four_photos(org, login):
    case = open_case(org, "tati")
    photos = [(f"p{i}.jpg", jpeg(size=(100, 100))) for i in range(5)]
    response = post_visit(login("secretary"), case.id, photos)
    assert response.status_code == 422 and "最多上传 4 张" in response.get_data(as_text=True)


def _noisy_jpeg() -> bytes:
    """A JPEG that does not compress well (random pixels)."""
    image = Image.frombytes("RGB", (400, 400), random.Random(1).randbytes(400 * 400 * 3))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=95)
    return out.getvalue()


# --- settings -----------------------------------------------------------------------------


def test_county_sets_days_to_visit_per_kind(org, login):
    admin = login("admin")
    form = {"wedding_funeral": "5", "illness": "2", "setback": "10", "hardship": "7"}
    assert admin.post("/care/settings", form).status_code == 303
    case = open_case(org, "tati", kind="illness")
    assert case.due_on == _today() + timedelta(days=2)
    response = admin.post("/care/settings", form | {"illness": "0"})
    assert response.status_code == 422
    assert cases.due_days()["illness"] == 2
    assert login("township").get("/care/settings").status_code == 403


def test_fingerprint_is_stable_for_the_same_form():
    assert fingerprint({"a": 1, "b": "x"}) == fingerprint({"b": "x", "a": 1})
