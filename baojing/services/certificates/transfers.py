"""组织关系转接: the introduction letter (stub, letter, receipt under one serial) and its receipt.

Until the receipt comes back the home branch still manages the member (DOMAIN.md);
when it does, the member leaves the village's list of mobile members (status
"transferred") and keeps their whole history.
"""

import re
from datetime import date, timedelta

from flask import current_app
from sqlalchemy import select

from baojing import audit, files
from baojing.dates import local_today, months_before
from baojing.extensions import db
from baojing.models.certificates import (
    PENDING_RECEIPT,
    RECEIPT_RETURNED,
    VALID,
    Certificate,
    Transfer,
)
from baojing.models.members import ACTIVE, ETHNICITIES, Member
from baojing.models.org import OrgUnit
from baojing.models.users import User
from baojing.services import RuleViolation, settings
from baojing.services.certificates import issue, pdf
from baojing.services.idempotency import keyed, replayed

TRANSFERRED = "transferred"
MAX_VALID_DAYS = 90
UPPER = "零壹贰叁肆伍陆柒捌玖"


def capital_number(n: int) -> str:
    """壹拾, 叁拾, 玖拾玖: a number in capital numerals (大写), as the letter asks (1–99).

    Ten is 壹拾, not 拾: capitals are there so that no stroke can be added to a figure,
    and a bare 拾 could still become 贰拾.
    """
    tens, ones = divmod(n, 10)
    if not tens:
        return UPPER[ones]
    return UPPER[tens] + "拾" + (UPPER[ones] if ones else "")


def capital_month(year: int, month: int) -> str:
    """贰零贰陆年壹拾月: a year and month in capitals (the dues line)."""
    return "".join(UPPER[int(c)] for c in str(year)) + f"年{capital_number(month)}月"


def capital_date(day: date) -> str:
    """贰零贰陆年壹拾贰月柒日: the letter's dates in capitals (DOMAIN.md, the 2006 form)."""
    return capital_month(day.year, day.month) + f"{capital_number(day.day)}日"


def pdf_path(transfer: Transfer):
    return issue.pdf_folder() / f"{transfer.serial}.pdf"


def open_transfer(
    member: Member, actor: User, data: dict, request_id: str | None = None
) -> Transfer:
    """Issue the introduction letter. data: to_org, to_address, dues_paid_until, valid_days."""
    if (earlier := replayed(Transfer, request_id, data, member_id=member.id)) is not None:
        return earlier
    errors = {}
    if member.status != ACTIVE:
        errors["to_org"] = "该党员已不在流动党员名册中"
    elif member.ethnicity not in ETHNICITIES:
        errors["to_org"] = issue.UNKNOWN_ETHNICITY
    pending = db.session.scalar(
        select(Transfer.id).where(
            Transfer.member_id == member.id, Transfer.status == PENDING_RECEIPT
        )
    )
    if pending:
        errors["to_org"] = "这位党员已有一封介绍信在等回执"
    if not 1 <= data["valid_days"] <= MAX_VALID_DAYS:
        errors["valid_days"] = f"有效期为 1 到 {MAX_VALID_DAYS} 天"
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", data["dues_paid_until"]):
        errors["dues_paid_until"] = "请按 2026-10 的格式填写党费交至的年月"
    elif data["dues_paid_until"] > local_today().strftime("%Y-%m"):
        errors["dues_paid_until"] = "党费交至的月份不能晚于本月"
    if errors:
        raise RuleViolation(errors)
    today = local_today()
    village = db.session.get(OrgUnit, member.village_id)
    transfer = Transfer(
        serial=issue.unkept_serial("transfer", today.year), member_id=member.id,
        village_id=member.village_id, township_id=member.township_id,
        from_org=f"中共保靖县{village.name}支部委员会", to_org=data["to_org"],
        to_address=data["to_address"], dues_paid_until=data["dues_paid_until"],
        valid_days=data["valid_days"], issued_on=today, status=PENDING_RECEIPT,
        receipt_due_on=receipt_due_on(today, data["valid_days"]),
        issued_by_id=actor.id, pdf_sha256="", pdf_size=0, **keyed(request_id, data),
    )  # fmt: skip
    data_pdf = render_pdf(transfer, member)
    transfer.pdf_sha256 = files.sha256(data_pdf)
    transfer.pdf_size = len(data_pdf)
    issue.keep_pdf(pdf_path(transfer), data_pdf, "to_org")
    db.session.add(transfer)
    db.session.flush()
    audit.record(
        "transfer.issue", transfer,
        after={"serial": transfer.serial, "member_id": member.id, "to_org": transfer.to_org},
        user=actor,
    )  # fmt: skip
    return transfer


def render_pdf(transfer: Transfer, member: Member) -> bytes:
    cfg = current_app.config
    age = (
        transfer.issued_on.year
        - member.birth_date.year
        - (
            (transfer.issued_on.month, transfer.issued_on.day)
            < (member.birth_date.month, member.birth_date.day)
        )
    )
    year, month = transfer.dues_paid_until.split("-")
    return pdf.render(
        "certificates/pdf/transfer.html", t=transfer, member=member, age=age,
        dues=capital_month(int(year), int(month)), valid=capital_number(transfer.valid_days),
        issued=capital_date(transfer.issued_on),
        sender=cfg["TRANSFER_SENDER"],
    )  # fmt: skip


def stored_pdf(transfer: Transfer) -> bytes:
    return files.read_verified(pdf_path(transfer), transfer.pdf_sha256)


def record_receipt(transfer: Transfer, actor: User, data: dict) -> Transfer:
    """The receipt is back: the transfer is done and the member leaves the mobile list."""
    if transfer.status != PENDING_RECEIPT:
        raise RuleViolation({"receipt_on": "这封介绍信的回执已经登记过了"})
    if data["receipt_on"] > local_today():
        raise RuleViolation({"receipt_on": "回执日期不能晚于今天"})
    if data["receipt_on"] < transfer.issued_on:
        raise RuleViolation({"receipt_on": "回执日期不能早于开信日期"})
    transfer.status = RECEIPT_RETURNED
    transfer.receipt_on = data["receipt_on"]
    transfer.receipt_handler = data["receipt_handler"]
    transfer.receipt_phone = data["receipt_phone"]
    transfer.receipt_recorded_by_id = actor.id
    member = db.session.get(Member, transfer.member_id)
    before = {"status": member.status}
    member.status = TRANSFERRED
    db.session.flush()
    # Their papers as a mobile member end with it: /verify must not call them valid.
    for cert in db.session.scalars(
        select(Certificate).where(Certificate.member_id == member.id, Certificate.status == VALID)
    ):
        issue.mark_returned(cert, actor)
    audit.record(
        "transfer.receipt", transfer, before=before,
        after={"serial": transfer.serial, "receipt_on": transfer.receipt_on.isoformat(),
               "member_status": TRANSFERRED},
        user=actor,
    )  # fmt: skip
    return transfer


def receipt_due_on(issued_on: date, valid_days: int) -> date:
    """The receipt is due the county's receipt period (a month) after the validity ends."""
    valid_until = issued_on + timedelta(days=valid_days)
    return months_before(valid_until, -settings.value("receipt_months"))
