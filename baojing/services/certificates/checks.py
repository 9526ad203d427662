"""年审: an activity card is open-ended and checked every year on the same card.

DOMAIN.md finds no fixed validity for the card: it is checked yearly, together with the
democratic appraisal. A check is recorded against the card itself (its serial, code and
printed paper stay); the next check falls due the county's check period later
(settings.card_check_months). Until then /verify calls the card valid; past it, 年审逾期.
"""

from datetime import date, timedelta

from sqlalchemy import select

from baojing import audit
from baojing.dates import local_today, months_before
from baojing.extensions import db
from baojing.models.certificates import VALID, CardCheck, Certificate
from baojing.models.users import User
from baojing.services import RuleViolation, settings
from baojing.services.idempotency import keyed, replayed


def next_due(checked_on: date) -> date:
    """The day before the same date a check period later: checked 2026-12-07, due by
    2027-12-06 with a twelve-month period."""
    return months_before(checked_on, -settings.value("card_check_months")) - timedelta(days=1)


def record(cert: Certificate, actor: User, data: dict, request_id: str | None = None) -> CardCheck:
    """Record a yearly check of a valid card. data: checked_on, note."""
    if (earlier := replayed(CardCheck, request_id, data, certificate_id=cert.id)) is not None:
        return earlier
    checked_on = data["checked_on"]
    if cert.kind != "card":
        raise RuleViolation({"checked_on": "只有活动证需要年审；证明信到期请换发"})
    if cert.status != VALID:
        raise RuleViolation({"checked_on": "这份活动证已经作废或交回，不能年审"})
    if checked_on > local_today():
        raise RuleViolation({"checked_on": "年审日期不能晚于今天"})
    last = db.session.scalar(
        select(CardCheck.checked_on)
        .where(CardCheck.certificate_id == cert.id)
        .order_by(CardCheck.checked_on.desc())
        .limit(1)
    )
    if checked_on < (last or cert.issued_on):
        raise RuleViolation({"checked_on": f"年审日期不能早于{'上次年审' if last else '发证日期'}"})
    check = CardCheck(
        certificate_id=cert.id, checked_on=checked_on, next_due_on=next_due(checked_on),
        note=data["note"], checked_by_id=actor.id, **keyed(request_id, data),
    )  # fmt: skip
    db.session.add(check)
    before = {"check_due_on": cert.check_due_on.isoformat() if cert.check_due_on else None}
    cert.check_due_on = check.next_due_on
    db.session.flush()
    audit.record(
        "certificate.check", cert, before=before,
        after={"serial": cert.serial, "checked_on": checked_on.isoformat(),
               "check_due_on": check.next_due_on.isoformat()},
        user=actor,
    )  # fmt: skip
    return check


def of_card(cert_id: int) -> list[CardCheck]:
    """The card's checks, newest first (the card's page)."""
    return list(
        db.session.scalars(
            select(CardCheck)
            .where(CardCheck.certificate_id == cert_id)
            .order_by(CardCheck.checked_on.desc(), CardCheck.id.desc())
        )
    )
