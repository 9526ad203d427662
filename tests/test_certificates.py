"""Certificates: issue, the PDF as issued (real CJK text and fonts), /verify, scope, serials."""

import io
import math
import re
import shutil
import subprocess
from datetime import date, timedelta

import pytest
from PIL import Image
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from baojing.dates import local_today
from baojing.extensions import db
from baojing.models.audit import AuditEntry
from baojing.models.certificates import Certificate, SerialCounter
from baojing.models.points import PointEntry, PointRule
from baojing.services.certificates import fonts, issue, pdf, verify
from baojing.validators import mask_name
from tests.test_care import jpeg

pytestmark = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="needs poppler-utils")


def valid_until(days=300):
    return (local_today() + timedelta(days=days)).isoformat()


def issue_form(**over):
    form = {"kind": "letter", "valid_until": valid_until(), "reason": "外出务工",
            "destination": "浙江省杭州市", "request_id": "cert-key-0001"}  # fmt: skip
    form.update(over)
    return form


def post_issue(client, member, photo=None, **over):
    data = issue_form(**over)
    if photo is not None:
        data["photo"] = (io.BytesIO(photo), "me.jpg")
    return client.post(
        f"/certificates/new?member_id={member.id}", data, content_type="multipart/form-data"
    )


def issued(org, key="tati", kind="letter", days=300):
    cert = issue.issue(org.members[key], org.users["township" if key != "xinmin" else "admin"], {
        "kind": kind, "valid_until": local_today() + timedelta(days=days), "reason": "外出务工",
        "destination": "浙江省杭州市",
    })  # fmt: skip
    db.session.commit()
    return cert


def pdf_text(data: bytes, tmp_path) -> str:
    path = tmp_path / "c.pdf"
    path.write_bytes(data)
    return subprocess.run(
        ["pdftotext", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout


def pdf_fonts(data: bytes, tmp_path) -> str:
    path = tmp_path / "f.pdf"
    path.write_bytes(data)
    return subprocess.run(
        ["pdffonts", str(path)], capture_output=True, text=True, check=True
    ).stdout


def pages(data: bytes, tmp_path) -> int:
    path = tmp_path / "p.pdf"
    path.write_bytes(data)
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
    return int(re.search(r"Pages:\s+(\d+)", info).group(1))


def fetch(client, url):
    response = client.get(url)
    response.get_data()
    response.close()
    return response


# --- issuing ------------------------------------------------------------------------------


def test_township_issues_a_letter_and_the_pdf_is_real_chinese_text(org, login, tmp_path):
    c = login("township")
    member = org.members["tati"]
    response = post_issue(c, member)
    assert response.status_code == 303
    cert = db.session.scalar(select(Certificate))
    assert re.fullmatch(rf"433125-{local_today().year}-00001", cert.serial)
    assert (cert.kind, cert.status, cert.issuing_org) == (
        "letter",
        "valid",
        "中共保靖县迁陵镇委员会",
    )

    first = fetch(c, f"/certificates/{cert.id}.pdf")
    assert first.status_code == 200 and first.mimetype == "application/pdf"
    words = pdf_text(first.data, tmp_path)
    for expected in (
        member.name,
        cert.serial,
        "中共保靖县迁陵镇委员会",
        "流动党员证明信",
        "浙江省杭州市",
    ):
        assert expected in words
    assert issue.grouped(cert.verify_code) in words
    # Real embedded CJK fonts, with a bold face for the headings — not boxes.
    listed = pdf_fonts(first.data, tmp_path)
    faces = [line for line in listed.splitlines()[2:] if line.strip()]
    assert any(("BaojingSerif" in f or "CJK" in f) and "Bold" in f for f in faces), listed
    assert all(" yes " in f for f in faces), listed  # every font embedded

    # Downloads give the bytes issued, and each is in the audit log.
    again = fetch(c, f"/certificates/{cert.id}.pdf")
    assert again.data == first.data
    downloads = db.session.scalar(
        select(func.count())
        .select_from(AuditEntry)
        .where(AuditEntry.action == "certificate.download")
    )
    assert downloads == 2


def test_the_issued_pdf_stays_as_issued_when_the_template_changes(org, login, app, tmp_path):
    cert = issued(org)
    c = login("township")
    before = fetch(c, f"/certificates/{cert.id}.pdf").data
    # Rendered today (the record or a template changed since) it would differ; what was
    # issued does not.
    member = org.members["tati"]
    member.dest_city = "宁波市"
    member.name = "向光"
    db.session.commit()
    assert issue.render_pdf(cert, member) != before
    assert fetch(c, f"/certificates/{cert.id}.pdf").data == before


def test_a_rare_character_in_a_name_gets_a_real_glyph(org, tmp_path):
    member = org.members["tati"]
    member.name = "𠮷田光"
    db.session.commit()
    cert = issued(org)
    data = issue.stored_pdf(cert)
    assert "𠮷田光" in pdf_text(data, tmp_path)
    listed = pdf_fonts(data, tmp_path)
    # The GB 2312 cut has no 𠮷: the full Noto Serif CJK is embedded for it, not a box.
    assert "Noto-Serif-CJK" in listed or "BaojingSerif" not in listed, listed


def test_no_cjk_font_means_no_pdf_and_nothing_written(org, login, monkeypatch):
    monkeypatch.setattr(fonts, "_fc", lambda *args: "")
    response = post_issue(login("township"), org.members["tati"])
    assert response.status_code == 503
    assert "中文字体" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Certificate)) == 0
    with pytest.raises(fonts.NoCJKFont):
        pdf.render("certificates/pdf/letter.html")


def test_double_submit_issues_once_and_serials_run_on(org, login):
    c = login("township")
    member = org.members["tati"]
    assert post_issue(c, member).status_code == 303
    assert post_issue(c, member).status_code == 303
    assert db.session.scalar(select(func.count()).select_from(Certificate)) == 1
    assert post_issue(c, member, reason="开会").status_code == 409
    assert post_issue(c, member, request_id="cert-key-0002", kind="card").status_code == 303
    serials = db.session.scalars(select(Certificate.serial).order_by(Certificate.id)).all()
    assert [s[-5:] for s in serials] == ["00001", "00002"]


def test_a_kept_paper_is_never_written_over_by_a_later_issue(org, login):
    """A counter behind the papers (a database restored by hand): the kept serial is skipped."""
    c = login("township")
    assert post_issue(c, org.members["tati"]).status_code == 303
    first = db.session.scalar(select(Certificate))
    year = first.serial.split("-")[1]
    # A paper handed out after the backup the database came from: its file is all that's left.
    handed_out = issue.pdf_folder() / f"433125-{year}-00002.pdf"
    handed_out.write_bytes(b"%PDF-1.7 the paper in a member's hands")
    response = post_issue(c, org.members["angdong"], request_id="cert-key-0002")
    assert response.status_code == 303
    new = db.session.scalar(select(Certificate).where(Certificate.id != first.id))
    assert new.serial == f"433125-{year}-00003"
    assert handed_out.read_bytes() == b"%PDF-1.7 the paper in a member's hands"
    assert issue.stored_pdf(new)  # its own file, matching its hash


def test_a_clash_on_the_kept_file_refuses_the_issue_and_writes_nothing(org, login, monkeypatch):
    c = login("township")
    kept = issue.pdf_folder() / "433125-2000-00001.pdf"
    kept.write_bytes(b"%PDF-1.7 issued long ago")
    # As if the file appeared between the check and the write.
    monkeypatch.setattr(issue, "unkept_serial", lambda series, year: "433125-2000-00001")
    response = post_issue(c, org.members["tati"])
    assert response.status_code == 422
    assert "没有覆盖" in response.get_data(as_text=True)
    assert kept.read_bytes() == b"%PDF-1.7 issued long ago"
    assert db.session.scalar(select(func.count()).select_from(Certificate)) == 0
    assert not list(issue.pdf_folder().glob(".433125-*"))  # no half-written file left


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        (
            {"valid_until": (local_today() - timedelta(days=1)).isoformat()},
            "valid_until",
            "晚于今天",
        ),
        ({"valid_until": (local_today() + timedelta(days=800)).isoformat()}, "valid_until", "最长"),
        ({"valid_until": ""}, "valid_until", "请填写有效期"),
        ({"kind": "passport"}, "kind", ""),
        ({"reason": "长" * 101}, "reason", "最多 100 个字"),
    ],
)
def test_bad_input_is_refused_and_no_serial_is_used(org, login, change, field, message):
    c = login("township")
    response = post_issue(c, org.members["tati"], **change)
    assert response.status_code == 422
    error = re.search(rf'id="{field}-error"[^>]*>([^<]*)<', response.get_data(as_text=True)).group(
        1
    )
    assert error and message in error
    assert db.session.scalar(select(func.count()).select_from(Certificate)) == 0
    assert post_issue(c, org.members["tati"], request_id="cert-key-0003").status_code == 303
    assert db.session.scalar(select(Certificate.serial)).endswith("-00001")


def test_a_photo_is_printed_and_a_non_image_refused(org, login, tmp_path):
    c = login("township")
    assert post_issue(c, org.members["tati"], photo=b"GIF89a not really").status_code == 422
    assert (
        post_issue(c, org.members["tati"], photo=jpeg(size=(300, 420)), kind="card").status_code
        == 303
    )
    cert = db.session.scalar(select(Certificate))
    assert cert.photo_token
    path = tmp_path / "card.pdf"
    path.write_bytes(issue.stored_pdf(cert))
    images = subprocess.run(
        ["pdfimages", "-list", str(path)], capture_output=True, text=True
    ).stdout
    # pdfimages -list: two heading lines, then "page num type width height …" per image.
    # The QR code is an image too, but square and one pixel a module; the photo is 3:4.
    sizes = [tuple(map(int, line.split()[3:5])) for line in images.splitlines()[2:]]
    assert any(h > w >= 100 for w, h in sizes), sizes  # the photo is on the card


# --- who may ------------------------------------------------------------------------------


def test_issuing_is_for_township_and_county_in_scope(org, login):
    assert post_issue(login("secretary"), org.members["tati"]).status_code == 403
    assert post_issue(login("township"), org.members["xinmin"]).status_code == 404
    assert post_issue(login("member"), org.members["tati"]).status_code == 403
    assert post_issue(login("clerk"), org.members["tati"]).status_code == 403
    assert db.session.scalar(select(func.count()).select_from(Certificate)) == 0


def test_reading_and_downloading_is_scoped(org, login):
    mine, theirs = issued(org, "tati"), issued(org, "xinmin")
    member = login("member")
    assert fetch(member, f"/certificates/{mine.id}.pdf").status_code == 200
    assert fetch(member, f"/certificates/{theirs.id}.pdf").status_code == 404
    secretary = login("secretary")
    assert fetch(secretary, f"/certificates/{mine.id}").status_code == 200
    assert fetch(secretary, f"/certificates/{theirs.id}.pdf").status_code == 404
    assert fetch(login("secretary2"), f"/certificates/{mine.id}").status_code == 404
    assert fetch(login("clerk"), f"/certificates/{mine.id}.pdf").status_code == 404
    assert (
        login("secretary").post(f"/certificates/{mine.id}/revoke", {"reason": "x"}).status_code
        == 403
    )
    assert (
        login("township").post(f"/certificates/{theirs.id}/revoke", {"reason": "x"}).status_code
        == 404
    )


# --- /verify ------------------------------------------------------------------------------


def test_verify_is_public_and_shows_a_masked_name_only(org, client):
    cert = issued(org)
    member = org.members["tati"]  # 向光明
    response = client.get(f"/verify/{cert.verify_code}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "有效" in page and "向*明" in page and cert.serial in page
    assert (
        member.name not in page and member.id_number[-4:] not in page and member.phone not in page
    )
    # Typed by hand: lower case, with the printed dashes.
    typed = issue.grouped(cert.verify_code).lower()
    assert client.get(f"/verify/{typed}").status_code == 200


def test_unknown_or_tampered_codes_are_404_and_say_nothing(org, client):
    cert = issued(org)
    tampered = ("A" if cert.verify_code[0] != "A" else "B") + cert.verify_code[1:]
    for code in (tampered, "NOTACODE", "x" * 40):
        response = client.get(f"/verify/{code}")
        assert response.status_code == 404
        page = response.get_data(as_text=True)
        assert "查无此证" in page and cert.serial not in page


def test_revoked_shows_at_once_and_points_go_back(org, login, client):
    rule = PointRule(name="持证用证", points=10, quarterly_cap=10, awarder_roles="township_officer",
                     auto_source="certificate_issued")  # fmt: skip
    db.session.add(rule)
    db.session.commit()
    cert = issued(org)
    earned = db.session.scalar(
        select(func.sum(PointEntry.points)).where(PointEntry.member_id == cert.member_id)
    )
    assert earned == 10
    assert "有效" in client.get(f"/verify/{cert.verify_code}").get_data(as_text=True)
    township = login("township")
    assert township.post(f"/certificates/{cert.id}/revoke", {"reason": ""}).status_code == 422
    db.session.refresh(cert)
    assert cert.status == "valid"  # a reason is required
    assert (
        township.post(f"/certificates/{cert.id}/revoke", {"reason": "证件遗失"}).status_code == 303
    )
    page = client.get(f"/verify/{cert.verify_code}").get_data(as_text=True)
    assert "已作废" in page
    total = db.session.scalar(
        select(func.sum(PointEntry.points)).where(PointEntry.member_id == cert.member_id)
    )
    assert total == 0


def test_a_card_earns_its_points_once_however_often_it_is_renewed(org, login):
    """持证用证: once per paper; its renewals earn nothing more, and voiding the last of
    them gives back what the first one earned."""
    rule = PointRule(name="持证用证", points=10, quarterly_cap=100, awarder_roles="township_officer",
                     auto_source="certificate_issued")  # fmt: skip
    db.session.add(rule)
    db.session.commit()
    cert = issued(org, kind="card")
    township = login("township")
    for n in range(2):
        form = {"valid_until": valid_until(360 - n), "request_id": f"renew-key-1{n}"}
        assert township.post(f"/certificates/{cert.id}/renew", form).status_code == 303
        cert = db.session.scalar(select(Certificate).where(Certificate.renewed_from_id == cert.id))

    def total():
        return db.session.scalar(
            select(func.coalesce(func.sum(PointEntry.points), 0)).where(
                PointEntry.member_id == cert.member_id
            )
        )

    assert total() == 10
    assert township.post(f"/certificates/{cert.id}/revoke", {"reason": "遗失"}).status_code == 303
    assert total() == 0


def test_expired_and_returned(org, login, client):
    cert = issued(org, days=10)
    assert verify.check(cert.verify_code, local_today() + timedelta(days=11)).state == "expired"
    assert verify.check(cert.verify_code, local_today()).state == "valid"
    assert login("secretary").post(f"/certificates/{cert.id}/return").status_code == 303
    assert "已交回" in client.get(f"/verify/{cert.verify_code}").get_data(as_text=True)


def test_renewal_gives_a_new_serial_and_voids_the_old(org, login, client):
    cert = issued(org, kind="card")
    township = login("township")
    form = {"valid_until": valid_until(360), "request_id": "renew-key-01"}
    response = township.post(f"/certificates/{cert.id}/renew", form)
    assert response.status_code == 303
    new = db.session.scalar(select(Certificate).where(Certificate.renewed_from_id == cert.id))
    db.session.refresh(cert)
    assert new.serial != cert.serial and new.status == "valid"
    assert cert.status == "revoked" and new.serial in cert.revoke_reason
    assert "已作废" in client.get(f"/verify/{cert.verify_code}").get_data(as_text=True)
    # The same form sent again (a double tap, a retry on a bad line) lands on the new card.
    again = township.post(f"/certificates/{cert.id}/renew", form)
    assert again.status_code == 303 and again.headers["Location"] == response.headers["Location"]
    assert db.session.scalar(select(func.count()).select_from(Certificate)) == 2


def test_refused_renew_revoke_and_return_show_the_form_again_with_422(org, login):
    cert = issued(org, kind="card")
    township = login("township")
    response = township.post(f"/certificates/{cert.id}/revoke", {"reason": ""})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="reason-error" role="alert">请填写作废原因' in page
    yesterday = (local_today() - timedelta(days=1)).isoformat()
    form = {"valid_until": yesterday, "request_id": "renew-key-02"}
    response = township.post(f"/certificates/{cert.id}/renew", form)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="valid_until-error" role="alert">有效期应晚于今天' in page
    assert 'value="renew-key-02"' in page  # the same key: a corrected resend saves once
    # A reason the form has no field for (the member left) is shown above the forms,
    # not dropped (formtools.apply_errors keeps it as a form error).
    member = org.members["tati"]
    member.status = "transferred"
    db.session.commit()
    response = township.post(
        f"/certificates/{cert.id}/renew", form | {"valid_until": valid_until()}
    )
    assert response.status_code == 422
    assert 'role="alert">该党员已不在流动党员名册中' in response.get_data(as_text=True)
    member.status = "active"
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(Certificate)) == 1
    db.session.refresh(cert)
    assert cert.status == "valid"
    # Once void, the forms are gone from the page: the refusal shows above them.
    secretary = login("secretary")
    assert secretary.post(f"/certificates/{cert.id}/return").status_code == 303
    again = secretary.post(f"/certificates/{cert.id}/return")
    assert again.status_code == 422 and "已经作废或交回" in again.get_data(as_text=True)
    late = login("township").post(f"/certificates/{cert.id}/revoke", {"reason": "遗失"})
    assert late.status_code == 422 and "已经作废或交回" in late.get_data(as_text=True)
    db.session.refresh(cert)
    assert cert.status == "returned"


def test_voiding_the_last_card_moves_the_member_version(org, login):
    """An edit form opened before the revocation must not write 持证 back silently."""
    cert = issued(org, kind="card")
    member = org.members["tati"]
    db.session.refresh(member)
    assert member.has_certificate
    version = member.version
    response = login("township").post(f"/certificates/{cert.id}/revoke", {"reason": "遗失补办"})
    assert response.status_code == 303
    db.session.refresh(member)
    assert not member.has_certificate and member.version == version + 1


def test_verify_is_rate_limited(org, client, app):
    app.config["VERIFY_RATE_LIMIT"] = "3 per minute"
    cert = issued(org)
    responses = [client.get(f"/verify/{cert.verify_code}") for _ in range(4)]
    assert [r.status_code for r in responses] == [200, 200, 200, 429]
    assert 1 <= int(responses[-1].headers["Retry-After"]) <= 60
    # Per address: somebody else checking a paper is not held up.
    other = client.get(f"/verify/{cert.verify_code}", environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert other.status_code == 200


def test_mask_name():
    # One function for /verify and the rankings: validators.mask_name.
    assert verify.mask_name is mask_name
    assert [mask_name(n) for n in ("张三", "向光明", "欧阳小明", "𠮷", "", None)] == [
        "张*",
        "向*明",
        "欧**明",
        "𠮷",
        "",
        "",
    ]


# --- records that must not lie ------------------------------------------------------------


def test_issued_facts_and_serials_cannot_be_changed(org):
    cert = issued(org)
    for statement in (
        "UPDATE certificates SET serial = 'X'",
        "UPDATE certificates SET valid_until = '2099-01-01'",
        "DELETE FROM certificates",
        "UPDATE serial_counters SET last = 0",
        "DELETE FROM serial_counters",
    ):
        with pytest.raises(IntegrityError):
            db.session.execute(text(statement))
        db.session.rollback()
    assert db.session.scalar(select(SerialCounter.last)) == 1
    assert db.session.get(Certificate, cert.id).serial.endswith("-00001")


# --- layout ---------------------------------------------------------------------------------


def _raster(data: bytes, tmp_path, dpi=50):
    path = tmp_path / "g.pdf"
    path.write_bytes(data)
    subprocess.run(["pdftoppm", "-r", str(dpi), "-png", str(path), str(tmp_path / "g")], check=True)
    return [Image.open(p).convert("L") for p in sorted(tmp_path.glob("g-*.png"))]


def test_the_font_cut_numbers_its_cids_as_its_glyphs(app):
    """A PDF reader finds a CID-keyed font's glyph by CID; WeasyPrint writes glyph ids."""
    from fontTools.ttLib import TTFont

    for face in fonts.FACES:
        with TTFont(fonts._prepared(face), lazy=True) as font:
            order = font.getGlyphOrder()
            assert len(order) > 7000
            assert order[1:] == [f"cid{gid:05d}" for gid in range(1, len(order))]
            assert font.getBestCmap()[ord("向")] in order


@pytest.mark.skipif(shutil.which("mutool") is None, reason="needs mupdf-tools")
def test_chinese_text_draws_in_mupdf_not_only_in_poppler(org, tmp_path):
    """MuPDF (like Ghostscript) follows the font's CIDs; poppler forgave wrong ones."""
    cert = issued(org)
    path = tmp_path / "letter.pdf"
    path.write_bytes(issue.stored_pdf(cert))
    assert "BaojingSerif" in pdf_fonts(path.read_bytes(), tmp_path)
    shown = tmp_path / "mupdf.png"
    result = subprocess.run(
        ["mutool", "draw", "-r", "50", "-o", str(shown), str(path)], capture_output=True, text=True
    )
    assert "cannot render glyph" not in result.stderr
    page = Image.open(shown).convert("L")
    # The office's name in red across the top of the letter (the top fifth): ink.
    top = page.crop((0, 0, page.width, page.height // 5))
    assert top.point(lambda v: 255 if v < 200 else 0).histogram()[255] > 200


def test_letter_is_a4_and_ink_stays_inside_the_printable_area(org, tmp_path):
    cert = issued(org)
    (page,) = _raster(issue.stored_pdf(cert), tmp_path)
    mm = 50 / 25.4
    assert abs(page.width - 210 * mm) <= 2 and abs(page.height - 297 * mm) <= 2
    left, top, right, bottom = page.point(lambda v: 255 if v < 200 else 0).getbbox()
    margin = 10 * mm
    assert (
        left >= margin
        and top >= margin
        and right <= page.width - margin
        and bottom <= page.height - margin
    )


@pytest.mark.parametrize("count", [1, 10, 11, 23])
def test_cards_sheet_holds_ten_and_stays_inside_five_mm(org, count, tmp_path):
    cert = issued(org, kind="card")
    context = issue.card_context(cert, org.members["tati"])
    data = pdf.render("certificates/pdf/cards.html", cards=[context] * count)
    assert pages(data, tmp_path) == math.ceil(count / 10)
    first = _raster(data, tmp_path)[0]
    mm = 50 / 25.4
    left, top, right, bottom = first.point(lambda v: 255 if v < 200 else 0).getbbox()
    assert left >= 4 * mm and top >= 4 * mm
    assert right <= first.width - 4 * mm and bottom <= first.height - 4 * mm


def test_a_line_break_inside_a_value_does_not_push_fields_off_the_card(org, tmp_path):
    cert = issued(org, kind="card")
    cert.destination = "浙江省\n杭州市\n西湖区\n某某街道\n某某工地"  # a crafted POST could
    context = issue.card_context(cert, org.members["tati"])
    text = pdf_text(pdf.render("certificates/pdf/cards.html", cards=[context]), tmp_path)
    assert "浙江省 杭州市 西湖区" in text
    assert "发证机关" in text and cert.issuing_org in text  # the last field is still printed
    # The QR code is drawn without smoothing at any size (one pixel a module).
    raw = pdf.render("certificates/pdf/cards.html", cards=[context])
    assert b"/Interpolate false" in raw


def test_a_long_destination_is_shortened_on_the_card_and_whole_in_the_letter(org, tmp_path):
    cert = issued(org, kind="card")
    cert.destination = "浙江省杭州市西湖区转塘街道某某村某某建筑工地项目部宿舍" * 3  # 84 characters
    context = issue.card_context(cert, org.members["tati"])
    text = pdf_text(pdf.render("certificates/pdf/cards.html", cards=[context]), tmp_path)
    assert "…" in text and "项目部宿舍浙江省" in text.replace("\n", "")
    assert "发证机关" in text and "核验码" in text  # the fields after it still on the card
    db.session.rollback()


# --- batch renewal ------------------------------------------------------------------------


def _due_cards(org, n):
    """n activity cards due within ten days, each for its own member of 迁陵镇."""
    from tests import factories

    cards = []
    for i in range(n):
        member = factories.member(org.villages["tati" if i % 2 else "angdong"], name=f"党员{i}")
        cards.append(issue.issue(member, org.users["township"], {
            "kind": "card", "valid_until": local_today() + timedelta(days=10),
            "reason": "外出务工", "destination": "浙江省",
        }))  # fmt: skip
    db.session.commit()
    return cards


def test_batch_checks_every_due_card_on_the_same_card_and_prints_the_register(
    org, login, app, tmp_path
):
    """年审 in bulk: no new serials, no new papers; each card's next check moves a period
    on, and the register lists them to stamp the cards by."""
    from baojing.models.certificates import CardCheck
    from baojing.services.certificates import checks

    app.config["PRINT_JOBS_INLINE"] = True
    old = _due_cards(org, 12)
    serials = {c.id: c.serial for c in old}
    issued(org, "xinmin", kind="card", days=10)  # another township: not in the batch
    township = login("township")
    assert "<strong>12</strong>" in township.get("/certificates/batch").get_data(as_text=True)
    response = township.post(
        "/certificates/batch", {"township_id": str(org.townships["迁陵镇"].id)}
    )
    assert response.status_code == 303
    job_page = township.get(response.headers["Location"]).get_data(as_text=True)
    assert "已完成" in job_page
    job_id = int(response.headers["Location"].rsplit("/", 1)[1])
    data = fetch(township, f"/certificates/batch/{job_id}.pdf").data
    words = pdf_text(data, tmp_path)
    assert "年审" in words and all(serial in words for serial in serials.values())
    with app.test_request_context():
        due = checks.next_due(local_today())
    for cert in old:
        db.session.refresh(cert)
        assert (cert.status, cert.serial, cert.check_due_on) == ("valid", serials[cert.id], due)
    assert db.session.scalar(select(func.count()).select_from(Certificate)) == 13  # none new
    assert db.session.scalar(select(func.count()).select_from(CardCheck)) == 12
    # The background job's writes are audited as the officer who asked for them.
    actions = db.session.execute(
        select(AuditEntry.action, AuditEntry.user_id).where(
            AuditEntry.action == "certificate.check"
        )
    ).all()
    assert len(actions) == 12 and {uid for _, uid in actions} == {org.users["township"].id}
    assert "<strong>0</strong>" in township.get("/certificates/batch").get_data(as_text=True)
    # Other townships' officers cannot see the job.
    assert fetch(login("secretary2"), f"/certificates/batch/{job_id}").status_code == 404


def test_a_batch_cut_short_resumes_without_checking_twice(org, login, app):
    from baojing.models.certificates import CardCheck
    from baojing.services.certificates import batch

    _due_cards(org, 3)
    job = batch.start(org.users["township"], org.townships["迁陵镇"].id, "测试")
    db.session.commit()
    with app.test_request_context():
        batch.run(job.id, org.users["township"].id)
        batch.run(job.id, org.users["township"].id)  # again, as after a restart
    assert db.session.scalar(select(func.count()).select_from(CardCheck)) == 3
    assert db.session.scalar(select(func.count()).select_from(Certificate)) == 3


def test_batch_runs_in_the_background_and_the_page_polls(org, login, app):
    import time

    _due_cards(org, 2)
    township = login("township")
    response = township.post(
        "/certificates/batch", {"township_id": str(org.townships["迁陵镇"].id)}
    )
    url = response.headers["Location"]
    page = township.get(url).get_data(as_text=True)
    assert 'http-equiv="refresh"' in page or "已完成" in page
    deadline = time.monotonic() + 30
    while "已完成" not in page and time.monotonic() < deadline:
        time.sleep(0.3)
        page = township.get(url).get_data(as_text=True)
    assert "已完成" in page and 'http-equiv="refresh"' not in page


def test_a_township_batch_is_not_crowded_out_by_other_townships(org, login, monkeypatch):
    """The card limit applies to the township's own cards, not to the county's first ones."""
    from baojing.services.certificates import batch
    from tests import factories

    monkeypatch.setattr(batch, "MAX_CARDS", 2)
    _due_cards(org, 2)  # 迁陵镇
    for i in range(2):
        member = factories.member(org.villages["xinmin"], name=f"葫芦党员{i}")
        issue.issue(member, org.users["admin"], {
            "kind": "card", "valid_until": local_today() + timedelta(days=10),
            "reason": "外出务工", "destination": "浙江省",
        })  # fmt: skip
    db.session.commit()
    page = login("admin").get("/certificates/batch").get_data(as_text=True)
    assert "迁陵镇（2 张）" in page and "葫芦镇（2 张）" in page
    for township in org.townships.values():
        job = batch.start(org.users["admin"], township.id, "测试")
        cards = [db.session.get(Certificate, int(i)) for i in job.certificate_ids.split(",")]
        assert len(cards) == 2 and {c.township_id for c in cards} == {township.id}
    db.session.rollback()


class _WorkerDied(Exception):
    pass


def test_a_stalled_batch_shows_interrupted_and_resumes_where_it_stopped(
    org, login, app, monkeypatch, tmp_path
):
    from baojing.models.certificates import CardCheck, PrintJob
    from baojing.models.types import utcnow
    from baojing.services.certificates import batch

    app.config["PRINT_JOBS_INLINE"] = True
    _due_cards(org, 3)
    job = batch.start(org.users["township"], org.townships["迁陵镇"].id, "测试")
    db.session.commit()
    job_id, url = job.id, f"/certificates/batch/{job.id}"

    def died(*args, **kwargs):
        raise _WorkerDied

    # The worker checks every card, then dies while laying out the register.
    monkeypatch.setattr(batch.pdf, "render_document", died)
    with pytest.raises(_WorkerDied):
        batch.run(job_id, org.users["township"].id)
    monkeypatch.undo()
    db.session.rollback()
    assert db.session.get(PrintJob, job_id).status == "running"

    township = login("township")
    page = township.get(url).get_data(as_text=True)
    assert 'http-equiv="refresh"' in page and "中断" not in page
    assert township.post(f"{url}/resume").status_code == 409  # still alive: no second run

    db.session.execute(
        PrintJob.__table__.update()
        .where(PrintJob.id == job_id)
        .values(finished_at=utcnow() - timedelta(minutes=batch.STALL_MINUTES + 1))
    )
    db.session.commit()
    page = township.get(url).get_data(as_text=True)
    assert "中断" in page and "继续" in page and 'http-equiv="refresh"' not in page
    # Scoped like the job, and a POST with its CSRF token.
    assert login("secretary2").post(f"{url}/resume").status_code == 404
    assert township.post(f"{url}/resume", csrf=False).status_code == 400
    assert db.session.get(PrintJob, job_id).status == "running"

    response = township.post(f"{url}/resume")
    assert response.status_code == 303 and response.headers["Location"].endswith(url)
    assert "已完成" in township.get(url).get_data(as_text=True)
    checked = select(func.count()).select_from(CardCheck)
    assert db.session.scalar(checked) == 3  # not 6
    data = fetch(township, f"{url}.pdf").data
    words = pdf_text(data, tmp_path)
    assert all(c.serial in words for c in db.session.scalars(select(Certificate)))
    resumed = db.session.scalars(
        select(AuditEntry.user_id).where(AuditEntry.action == "certificate.batch_resume")
    ).all()
    assert resumed == [org.users["township"].id]
    assert township.post(f"{url}/resume").status_code == 409  # done: nothing to resume


def test_a_failed_batch_can_be_resumed_too(org, login, app):
    from baojing.models.certificates import PrintJob
    from baojing.services.certificates import batch

    app.config["PRINT_JOBS_INLINE"] = True
    _due_cards(org, 1)
    job = batch.start(org.users["township"], org.townships["迁陵镇"].id, "测试")
    job.status, job.error = "failed", "磁盘已满"
    db.session.commit()
    township = login("township")
    page = township.get(f"/certificates/batch/{job.id}").get_data(as_text=True)
    assert "磁盘已满" in page and "继续" in page
    assert township.post(f"/certificates/batch/{job.id}/resume").status_code == 303
    assert db.session.get(PrintJob, job.id).status == "done"


# --- transfers ----------------------------------------------------------------------------


def transfer_form(**over):
    form = {"to_org": "中共杭州市西湖区北山街道工作委员会", "to_address": "浙江省杭州市西湖区",
            "dues_paid_until": local_today().strftime("%Y-%m"), "valid_days": "30",
            "request_id": "transfer-key-1"}  # fmt: skip
    return form | over


def test_transfer_letter_has_three_parts_and_the_receipt_moves_the_member_out(org, login, tmp_path):
    from baojing.models.certificates import Transfer
    from baojing.services.certificates import transfers

    township = login("township")
    member = org.members["tati"]
    response = township.post(f"/certificates/transfers/new?member_id={member.id}", transfer_form())
    assert response.status_code == 303
    transfer = db.session.scalar(select(Transfer))
    assert re.fullmatch(rf"433125-Z-{local_today().year}-00001", transfer.serial)
    words = pdf_text(fetch(township, f"/certificates/transfers/{transfer.id}.pdf").data, tmp_path)
    assert words.count(transfer.serial) == 3  # stub, letter, receipt: one serial
    for expected in ("存根", "回执", member.name, member.id_number, "叁拾", "北山街道"):
        assert expected in words
    # Dates and the validity in capitals (大写), as the 2006 form has them (DOMAIN.md).
    joined = re.sub(r"\s+", "", words)
    assert joined.count(transfers.capital_date(transfer.issued_on)) == 2  # stub and letter
    dues = transfers.capital_month(*map(int, transfer.dues_paid_until.split("-")))
    assert f"党费已交到{dues}" in joined
    assert transfers.capital_date(date(2026, 12, 7)) == "贰零贰陆年壹拾贰月柒日"
    assert transfers.capital_date(date(2027, 1, 10)) == "贰零贰柒年壹月壹拾日"
    assert (
        township.post(
            f"/certificates/transfers/new?member_id={member.id}",
            transfer_form(request_id="transfer-key-2"),
        ).status_code
        == 422
    )  # one at a time

    secretary = login("secretary")  # the village records the receipt when it comes back
    receipt = {
        "receipt_on": local_today().isoformat(),
        "receipt_handler": "王经办",
        "receipt_phone": "+86 138-0013-8000",
    }
    assert (
        secretary.post(f"/certificates/transfers/{transfer.id}/receipt", receipt).status_code == 303
    )
    db.session.refresh(transfer)
    db.session.refresh(member)
    assert (transfer.status, member.status) == ("returned", "transferred")
    assert transfer.receipt_phone == "13800138000"  # stored as normalised
    # Off the mobile list, history kept.
    assert member.name not in secretary.get("/members/").get_data(as_text=True)
    assert "组织关系已转出" in secretary.get(f"/members/{member.id}").get_data(as_text=True)


def test_transfer_input_and_scope(org, login):
    township = login("township")
    member = org.members["tati"]
    url = f"/certificates/transfers/new?member_id={member.id}"
    for bad in (
        {"valid_days": "120"},
        {"dues_paid_until": "2026-13"},
        {"to_org": ""},
        {"dues_paid_until": "2999-01"},
    ):
        assert township.post(url, transfer_form(**bad)).status_code == 422, bad
    assert login("secretary").post(url, transfer_form()).status_code == 403
    assert (
        township.post(
            f"/certificates/transfers/new?member_id={org.members['xinmin'].id}", transfer_form()
        ).status_code
        == 404
    )
    from baojing.models.certificates import Transfer

    assert db.session.scalar(select(func.count()).select_from(Transfer)) == 0


def test_receipt_phone_must_be_a_mobile_or_an_office_line(org, login):
    from baojing.models.certificates import Transfer
    from baojing.services.certificates import transfers

    transfer = transfers.open_transfer(org.members["tati"], org.users["township"], {
        "to_org": "中共某某委员会", "to_address": "", "dues_paid_until": local_today().strftime("%Y-%m"),
        "valid_days": 10,
    })  # fmt: skip
    db.session.commit()
    receipt = {"receipt_on": local_today().isoformat(), "receipt_handler": "王经办"}
    url = f"/certificates/transfers/{transfer.id}/receipt"
    secretary = login("secretary")
    for bad in ("0571-8888", "12345678901", "1380013800", "电话 123"):
        response = secretary.post(url, receipt | {"receipt_phone": bad})
        page = response.get_data(as_text=True)
        assert response.status_code == 422, bad
        assert 'id="receipt_phone-error" role="alert">请填写手机号码，或带区号的固定电话' in page
        assert db.session.get(Transfer, transfer.id).status == "pending"
        assert org.members["tati"].status == "active"
    assert secretary.post(url, receipt | {"receipt_phone": " 0743-872 1234 "}).status_code == 303
    db.session.expire_all()
    assert db.session.get(Transfer, transfer.id).receipt_phone == "0743-8721234"


def test_a_receipt_is_due_a_month_after_the_letter_expires(app, org):
    """DOMAIN.md: the receiving committee returns the receipt within one month, counted
    from the end of the letter's validity, not from the day it was written."""
    from baojing.services import settings
    from baojing.services.certificates import transfers

    with app.test_request_context():
        assert transfers.receipt_due_on(date(2026, 1, 20), 30) == date(2026, 3, 19)
        assert transfers.receipt_due_on(date(2026, 12, 25), 10) == date(2027, 2, 4)
        settings.save(dict(settings.values(), receipt_months=2), org.users["admin"])
        assert transfers.receipt_due_on(date(2026, 1, 20), 30) == date(2026, 4, 19)


def test_overdue_receipts_are_listed(org, login):
    from baojing.models.certificates import Transfer
    from baojing.services.certificates import transfers

    def letter(member, valid_days):
        return transfers.open_transfer(member, org.users["township"], {
            "to_org": "中共某某委员会", "to_address": "",
            "dues_paid_until": local_today().strftime("%Y-%m"), "valid_days": valid_days,
        })  # fmt: skip

    def written_ago(transfer, days):
        issued = local_today() - timedelta(days=days)
        due = transfers.receipt_due_on(issued, transfer.valid_days)
        db.session.execute(
            text("UPDATE transfers SET issued_on = :i, receipt_due_on = :d WHERE id = :id"),
            {"i": issued, "d": due, "id": transfer.id},
        )

    from tests import factories

    late = letter(org.members["tati"], 10)
    in_time = letter(factories.member(org.villages["tati"], name="按时"), 30)
    db.session.commit()
    on = " ON transfers" if db.engine.dialect.name == "postgresql" else ""
    db.session.execute(text(f"DROP TRIGGER transfers_facts_fixed{on}"))  # test only: age them
    written_ago(late, 10 + 31 + 10)  # ten days, a month and ten days: ten-odd days late
    written_ago(in_time, 45)  # 45 days after writing, but only 15 past its 30 days
    db.session.commit()
    page = login("township").get("/certificates/transfers?status=overdue").get_data(as_text=True)
    assert f"/certificates/transfers/{late.id}" in page and "回执逾期" in page
    assert f"/certificates/transfers/{in_time.id}" not in page
    overdue_days = (local_today() - db.session.get(Transfer, late.id).receipt_due_on).days
    assert 10 <= overdue_days <= 13 and f"回执逾期 {overdue_days} 天" in page
    assert db.session.get(Transfer, late.id).status == "pending"


def test_a_second_valid_card_is_refused_and_receipt_voids_the_papers(org, login, client):
    from baojing.services.certificates import transfers

    card = issued(org, kind="card")
    response = post_issue(login("township"), org.members["tati"], kind="card")
    assert response.status_code == 422 and "请换发" in response.get_data(as_text=True)
    transfer = transfers.open_transfer(org.members["tati"], org.users["township"], {
        "to_org": "中共某某委员会", "to_address": "", "dues_paid_until": local_today().strftime("%Y-%m"),
        "valid_days": 10,
    })  # fmt: skip
    transfers.record_receipt(transfer, org.users["secretary"], {
        "receipt_on": local_today(), "receipt_handler": "王", "receipt_phone": "",
    })  # fmt: skip
    db.session.commit()
    assert "已交回" in client.get(f"/verify/{card.verify_code}").get_data(as_text=True)
    assert org.members["tati"].has_certificate is False


def test_codes_typed_by_hand_and_the_lookup_box(org, client):
    cert = issued(org)
    assert issue.normalise_code("ab0-1 8") == "ABOIB"
    response = client.get(f"/verify/?code={issue.grouped(cert.verify_code).lower()}")
    assert response.status_code == 303 and response.headers["Location"].endswith(cert.verify_code)
    assert "核验码" in client.get("/verify/").get_data(as_text=True)


def test_transfers_are_listed_a_page_at_a_time(org, login):
    from baojing.models.certificates import Transfer
    from tests import factories

    today = local_today()
    for i in range(23):
        member = factories.member(org.villages["tati"], name=f"转出{i:02d}")
        db.session.add(Transfer(
            serial=f"433125-Z-TEST-{i:05d}", member_id=member.id, village_id=member.village_id,
            township_id=member.township_id, from_org="中共保靖县塔提村支部委员会",
            to_org=f"中共某某委员会{i:02d}", to_address="", dues_paid_until=today.strftime("%Y-%m"),
            valid_days=10, issued_on=today, receipt_due_on=today + timedelta(days=40),
            status="pending",
            issued_by_id=org.users["township"].id, pdf_sha256="", pdf_size=0,
        ))  # fmt: skip
    db.session.commit()
    township = login("township")
    first = township.get("/certificates/transfers?status=pending").get_data(as_text=True)
    assert first.count('class="row-title"') == 20
    assert "下一页" in first and "上一页" not in first
    assert 'href="?status=pending&amp;page=2"' in first
    second = township.get("/certificates/transfers?status=pending&page=2").get_data(as_text=True)
    assert second.count('class="row-title"') == 3
    assert "上一页" in second and "下一页" not in second
    names = {f"转出{i:02d}" for i in range(23)}
    assert {n for n in names if n in first} | {n for n in names if n in second} == names


def test_a_page_number_past_what_sqlite_can_count_is_an_empty_page_not_a_500(org, login):
    township = login("township")
    for url in ("/certificates/transfers", "/certificates/", "/mentors/", "/care/cases"):
        answer = township.get(url, query_string={"page": str(2**63 - 1)})
        assert answer.status_code == 200, url


def test_a_letter_never_prints_an_ethnicity_outside_the_56(org, login, tmp_path):
    """GB 3304's 56 groups, no "其他": until the profile names one, no letter is written."""
    from baojing.models.members import ETHNICITIES

    assert len(ETHNICITIES) == len(set(ETHNICITIES)) == 56 and "其他" not in ETHNICITIES
    member = org.members["tati"]
    for unknown in ("其他", ""):
        member.ethnicity = unknown
        db.session.commit()
        township = login("township")
        response = post_issue(township, member)
        assert response.status_code == 422
        assert "民族未填或不是 56 个民族之一" in response.get_data(as_text=True)
        response = township.post(
            f"/certificates/transfers/new?member_id={member.id}", transfer_form()
        )
        assert response.status_code == 422 and "民族" in response.get_data(as_text=True)
        assert db.session.scalar(select(func.count()).select_from(Certificate)) == 0
    # The secretary names it on the profile's form (all 56 offered), and the letter follows.
    secretary = login("secretary")
    form = secretary.get(f"/members/{member.id}/edit").get_data(as_text=True)
    menu = re.search(r'<select[^>]*id="ethnicity".*?</select>', form, re.S).group(0)
    assert menu.count("<option") == 57 and ">布依族<" in menu and "其他" not in menu
    member.ethnicity = "布依族"
    db.session.commit()
    response = post_issue(login("township"), member)
    assert response.status_code == 303
    cert = db.session.scalar(select(Certificate))
    words = pdf_text(fetch(login("township"), f"/certificates/{cert.id}.pdf").data, tmp_path)
    assert "布依族" in words and "其他" not in words


def test_a_card_is_checked_every_year_on_the_same_card(org, login, client, app):
    """DOMAIN.md: the activity card is open-ended with a yearly check (年审) recorded on the
    same card; no new serial, no new paper. Past its check date /verify says 年审逾期."""
    from baojing.models.certificates import CardCheck
    from baojing.services.certificates import checks

    cert = issued(org, kind="card", days=10)
    serial, pdf_hash = cert.serial, cert.pdf_sha256
    township = login("township")
    page = township.get(f"/certificates/{cert.id}").get_data(as_text=True)
    assert "长期有效" in page and "登记年审" in page
    assert verify.check(cert.verify_code, local_today()).state == "valid"
    late = local_today() + timedelta(days=11)
    assert verify.check(cert.verify_code, late).state == "check_overdue"

    form = {"checked_on": local_today().isoformat(), "note": "2026 年度民主评议合格",
            "request_id": "check-key-0001"}  # fmt: skip
    response = township.post(f"/certificates/{cert.id}/check", form)
    assert response.status_code == 303
    assert township.post(f"/certificates/{cert.id}/check", form).status_code == 303  # a resend
    db.session.refresh(cert)
    with app.test_request_context():
        assert cert.check_due_on == checks.next_due(local_today())
    assert (cert.serial, cert.pdf_sha256, cert.status) == (serial, pdf_hash, "valid")
    assert db.session.scalar(select(func.count()).select_from(CardCheck)) == 1
    assert db.session.scalar(select(func.count()).select_from(Certificate)) == 1
    assert verify.check(cert.verify_code, late).state == "valid"
    public = client.get(f"/verify/{cert.verify_code}").get_data(as_text=True)
    assert "长期有效" in public and cert.check_due_on.isoformat() in public
    page = township.get(f"/certificates/{cert.id}").get_data(as_text=True)
    assert "年审记录" in page and "2026 年度民主评议合格" in page
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "certificate.check"))
    assert entry is not None and serial in entry.after


@pytest.mark.parametrize(
    ("change", "message"),
    [({"checked_on": ""}, "请填写年审日期"), ({"checked_on": "2099-01-01"}, "不能晚于今天"),
     ({"checked_on": "2000-01-01"}, "不能早于发证日期"), ({"note": "长" * 101}, "最多 100 个字")],
)  # fmt: skip
def test_a_bad_check_is_refused_next_to_its_field(org, login, change, message):
    from baojing.models.certificates import CardCheck

    cert = issued(org, kind="card", days=10)
    form = {"checked_on": local_today().isoformat(), "note": "", "request_id": "check-key-0002"}
    response = login("township").post(f"/certificates/{cert.id}/check", form | change)
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(CardCheck)) == 0


def test_only_a_valid_card_in_scope_is_checked(org, login):
    from baojing.models.certificates import CardCheck

    form = {"checked_on": local_today().isoformat(), "note": "", "request_id": "check-key-0003"}
    letter = issued(org, kind="letter")
    response = login("township").post(f"/certificates/{letter.id}/check", form)
    assert response.status_code == 422 and "只有活动证需要年审" in response.get_data(as_text=True)
    card = issued(org, "xinmin", kind="card")  # another township's member
    assert login("township").post(f"/certificates/{card.id}/check", form).status_code == 404
    assert login("secretary").post(f"/certificates/{card.id}/check", form).status_code == 403
    assert db.session.scalar(select(func.count()).select_from(CardCheck)) == 0
