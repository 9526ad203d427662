"""Issuing, renewing, revoking and taking back certificates; serials; the stored PDFs."""

import base64
import re
import secrets
from datetime import date, timedelta
from pathlib import Path

from flask import current_app, g, has_request_context, url_for
from sqlalchemy import select

from baojing import audit, files
from baojing.dates import local_today, months_before
from baojing.db import kept_if_committed, write_now
from baojing.extensions import db
from baojing.models.certificates import (
    CERT_KINDS,
    RETURNED,
    REVOKED,
    VALID,
    Certificate,
)
from baojing.models.members import ACTIVE, ETHNICITIES, Member
from baojing.models.org import OrgUnit
from baojing.models.types import utcnow
from baojing.models.users import User
from baojing.services import RuleViolation, serials, settings
from baojing.services.care import photos
from baojing.services.certificates import pdf
from baojing.services.idempotency import keyed, replayed
from baojing.services.points import awards

COUNTY_CODE = "433125"
# Outside a request (flask demo load) with no PUBLIC_BASE_URL: where `make run` serves.
DEFAULT_BASE_URL = "http://127.0.0.1:5000"
MAX_VALID_MONTHS = 24
# A letter prints the member's ethnicity: one of the 56, never a blank or "其他".
UNKNOWN_ETHNICITY = "党员资料里的民族未填或不是 56 个民族之一：请先在党员资料中选定民族，再开具"


# --- serials and codes -------------------------------------------------------------------


# A kept paper's file name is its serial: 433125-2026-00042.pdf, 433125-Z-2026-00007.pdf.
SERIAL = re.compile(rf"{COUNTY_CODE}-(?P<z>Z-)?(?P<year>\d{{4}})-(?P<n>\d+)")
# How far issuing steps over serials whose paper is already kept before it gives up.
MAX_SKIPPED = 10_000


def next_serial(series: str, year: int) -> str:
    """433125-2026-00042: the next number of this series and year, never handed out twice."""
    last = serials.next_number(f"{series}-{year}")
    prefix = COUNTY_CODE if series == "cert" else f"{COUNTY_CODE}-Z"
    return f"{prefix}-{year}-{last:05d}"


def serial_counter(serial: str) -> tuple[str, int] | None:
    """("cert-2026", 42) for 433125-2026-00042: the counter a serial came from, and its number."""
    m = SERIAL.fullmatch(serial)
    if m is None:
        return None
    return f"{'transfer' if m['z'] else 'cert'}-{m['year']}", int(m["n"])


def unkept_serial(series: str, year: int) -> str:
    """The next serial whose paper is not kept on disk yet.

    The counter lives in the database, the papers on disk: a database restored from an
    older backup (by hand, without `flask backup restore`) has a counter behind the
    papers handed out since. Their serials are used, so they are stepped over.
    """
    for _ in range(MAX_SKIPPED):
        serial = next_serial(series, year)
        if not (pdf_folder() / f"{serial}.pdf").exists():
            return serial
        current_app.logger.warning("serial %s is kept on disk already: stepped over", serial)
    raise RuntimeError(f"{series}-{year}: {MAX_SKIPPED} serials in a row are kept already")


def keep_pdf(path: Path, data: bytes, field: str) -> None:
    """Keep an issued paper; if its name is taken, refuse the issue rather than write over it."""
    try:
        files.write_new(path, data)
        kept_if_committed(path)
    except files.AlreadyKept as exc:
        current_app.logger.error("issued paper %s exists already: not written over", path.name)
        raise RuleViolation(
            {field: f"编号 {path.stem} 的证件文件已存在，为保护已发出的证件没有覆盖它，"
                    "本次未发出；请再试一次"}
        ) from exc  # fmt: skip


def new_verify_code() -> str:
    """128 random bits in base32 (26 letters and digits): unguessable, easy to read out."""
    return base64.b32encode(secrets.token_bytes(16)).decode().rstrip("=")


# Base32 has no 0, 1 or 8: read aloud or typed from paper they can only mean O, I, B.
_LOOKALIKES = str.maketrans({"0": "O", "1": "I", "8": "B"})


def normalise_code(code: str) -> str:
    """What a person types: any case, with or without the dashes of the printed groups."""
    return code.replace("-", "").replace(" ", "").upper().translate(_LOOKALIKES)[:32]


def grouped(code: str) -> str:
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def verify_url(code: str) -> str:
    """What the QR code says: PUBLIC_BASE_URL, else the address this request came in on."""
    base = current_app.config.get("PUBLIC_BASE_URL") or g.get("verify_base_url")
    if not base and has_request_context():
        return url_for("verify.show", code=code, _external=True)
    return f"{(base or DEFAULT_BASE_URL).rstrip('/')}/verify/{code}"


# --- files ------------------------------------------------------------------------------


def pdf_folder() -> Path:
    """Where issued certificates and transfer letters are kept, by serial."""
    path = Path(current_app.config["UPLOAD_FOLDER"]) / "certificates"
    path.mkdir(parents=True, exist_ok=True)
    return path


def pdf_path(cert: Certificate) -> Path:
    return pdf_folder() / f"{cert.serial}.pdf"


def stored_pdf(cert: Certificate) -> bytes:
    """The PDF exactly as issued; a file that no longer matches its hash is an error."""
    return files.read_verified(pdf_path(cert), cert.pdf_sha256)


def photo_bytes(cert: Certificate) -> bytes | None:
    if not cert.photo_token:
        return None
    path = photos.path_of(cert.photo_token)
    return path.read_bytes() if path.exists() else None


# --- issuing ------------------------------------------------------------------------------


def issuing_org(member: Member) -> str:
    """Issued by the township committee (DOMAIN.md), numbered by the county."""
    township = db.session.get(OrgUnit, member.township_id)
    return f"中共保靖县{township.name}委员会"


def card_context(cert: Certificate, member: Member) -> dict:
    village = db.session.get(OrgUnit, member.village_id)
    url = verify_url(cert.verify_code)
    return {
        "cert": cert, "member": member, "branch": f"{village.name}党支部",
        "kind_label": CERT_KINDS[cert.kind], "code": grouped(cert.verify_code),
        "url": url, "qr": pdf.qr_png(url), "photo": pdf.photo_data_uri(photo_bytes(cert)),
    }  # fmt: skip


def render_pdf(cert: Certificate, member: Member) -> bytes:
    template = (
        "certificates/pdf/letter.html" if cert.kind == "letter" else "certificates/pdf/cards.html"
    )
    context = card_context(cert, member)
    return pdf.render(template, cards=[context], **context)


def issue(
    member: Member,
    actor: User,
    data: dict,
    photo: photos.ProcessedPhoto | None = None,
    request_id: str | None = None,
    renewed_from: Certificate | None = None,
) -> Certificate:
    """Issue a letter or card to a member in scope: serial, code, PDF kept as issued.

    data: kind, valid_until, reason, destination.
    """
    write_now()  # the photo was checked without the lock: from here on it writes
    if (earlier := replayed(Certificate, request_id, data, member_id=member.id)) is not None:
        return earlier
    today = local_today()
    errors = {}
    if member.status != ACTIVE:
        errors["kind"] = "该党员已不在流动党员名册中"
    if data["kind"] not in CERT_KINDS:
        errors["kind"] = "请选择证件类型"
    elif data["kind"] == "letter" and member.ethnicity not in ETHNICITIES:
        errors["kind"] = UNKNOWN_ETHNICITY
    if data["valid_until"] <= today:
        errors["valid_until"] = "有效期应晚于今天"
    elif data["valid_until"] > _months_after(today, MAX_VALID_MONTHS):
        errors["valid_until"] = f"有效期最长 {MAX_VALID_MONTHS} 个月"
    holding = db.session.scalar(
        select(Certificate.serial).where(
            Certificate.member_id == member.id, Certificate.kind == data["kind"],
            Certificate.status == VALID, Certificate.id != (renewed_from.id if renewed_from else 0),
        )
    )  # fmt: skip
    if holding:
        errors["kind"] = (
            f"该党员已持有效的{CERT_KINDS[data['kind']]}（{holding}），请换发而不是另发"
        )
    if errors:
        raise RuleViolation(errors)
    cert = Certificate(
        serial=unkept_serial("cert", today.year), kind=data["kind"], member_id=member.id,
        village_id=member.village_id, township_id=member.township_id, issued_on=today,
        valid_until=data["valid_until"], issuing_org=issuing_org(member),
        # A card is open-ended: valid_until is its first yearly check (checks.py).
        check_due_on=data["valid_until"] if data["kind"] == "card" else None,
        reason=data["reason"], destination=data["destination"],
        verify_code=new_verify_code(), status=VALID, issued_by_id=actor.id,
        renewed_from_id=renewed_from.id if renewed_from else None,
        photo_token=photos.new_token() if photo else None,
        pdf_sha256="", pdf_size=0, **keyed(request_id, data),
    )  # fmt: skip
    if photo is not None:
        photos.save(cert.photo_token, photo)
    data_pdf = render_pdf(cert, member)
    cert.pdf_sha256 = files.sha256(data_pdf)
    cert.pdf_size = len(data_pdf)
    keep_pdf(pdf_path(cert), data_pdf, "kind")
    db.session.add(cert)
    member.has_certificate = True
    db.session.flush()
    audit.record(
        "certificate.issue", cert,
        after={"serial": cert.serial, "kind": cert.kind, "member_id": member.id,
               "valid_until": cert.valid_until.isoformat(),
               "renewed_from": renewed_from.serial if renewed_from else None},
        user=actor,
    )  # fmt: skip
    # 持证用证 earns points where a rule says so (points store), in this transaction: once
    # per paper, so a renewal (the same card or letter again) earns nothing more.
    if renewed_from is None:
        awards.auto_award("certificate_issued", cert.id, member, today, actor)
    return cert


def renew(
    old: Certificate, actor: User, valid_until: date, request_id: str | None = None
) -> Certificate:
    """A new paper with a new serial; the old one is void from now on."""
    data = {"kind": old.kind, "valid_until": valid_until, "reason": old.reason,
            "destination": old.destination}  # fmt: skip
    # A resent form finds the renewal it made (the old card is void by then).
    if (earlier := replayed(Certificate, request_id, data, member_id=old.member_id)) is not None:
        return earlier
    if old.status != VALID:
        raise RuleViolation({"valid_until": "只能换发有效的证件"})
    member = db.session.get(Member, old.member_id)
    new = issue(member, actor, data, None, request_id, renewed_from=old)
    _void(old, actor, REVOKED, f"已换发新证 {new.serial}", renewed=True)
    return new


def revoke(cert: Certificate, actor: User, reason: str) -> Certificate:
    if cert.status != VALID:
        raise RuleViolation({"reason": "这份证件已经作废或交回了"})
    return _void(cert, actor, REVOKED, reason)


def mark_returned(cert: Certificate, actor: User) -> Certificate:
    """The member came home and handed the card back to the branch."""
    if cert.status != VALID:
        raise RuleViolation({"reason": "这份证件已经作废或交回了"})
    return _void(cert, actor, RETURNED, "")


def _void(
    cert: Certificate, actor: User, status: str, reason: str, *, renewed: bool = False
) -> Certificate:
    """Revoke or take back a card; its points go back unless a renewal replaced it."""
    before = {"status": cert.status}
    cert.status = status
    if status == REVOKED:
        cert.revoked_at = utcnow()
        cert.revoked_by_id = actor.id
        cert.revoke_reason = reason
    else:
        cert.returned_on = local_today()
        cert.returned_by_id = actor.id
    db.session.flush()
    still = db.session.scalar(
        select(Certificate.id).where(
            Certificate.member_id == cert.member_id, Certificate.status == VALID
        )
    )
    if still is None:
        # Through the ORM, so the member's version moves: an edit form opened before
        # this must not save the old 持证 flag back without a conflict.
        db.session.get(Member, cert.member_id).has_certificate = False
        db.session.flush()
    audit.record(
        f"certificate.{'revoke' if status == REVOKED else 'return'}", cert, before=before,
        after={"status": status, "serial": cert.serial, "reason": reason}, user=actor,
    )  # fmt: skip
    if status == REVOKED and not renewed:
        # The points were earned by the first paper of its renewals (issue above).
        first = _first_issue(cert)
        awards.reverse_source("certificate_issued", first, actor, f"证件作废：{reason}")
    return cert


def _first_issue(cert: Certificate) -> int:
    """The id of the paper this one renews, and so on back to the first."""
    first = cert.id
    renewed_from = cert.renewed_from_id
    while renewed_from is not None:
        first = renewed_from
        renewed_from = db.session.scalar(
            select(Certificate.renewed_from_id).where(Certificate.id == renewed_from)
        )
    return first


def _months_after(day: date, months: int) -> date:
    return months_before(day, -months)


def default_valid_until(kind: str, today: date) -> date:
    """A letter's validity, or a card's next yearly check: the county's settings."""
    months = settings.value("letter_valid_months" if kind == "letter" else "card_check_months")
    return _months_after(today, months) - timedelta(days=1)
