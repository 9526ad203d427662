"""What the public /verify/<code> page may say: status, type, issuer, validity, a masked name."""

from dataclasses import dataclass
from datetime import date

from sqlalchemy import bindparam, select

from baojing.extensions import db
from baojing.models.certificates import CERT_KINDS, RETURNED, REVOKED, Certificate
from baojing.models.members import Member
from baojing.validators import mask_name

STATES = {
    "valid": "有效",
    "expired": "已过期",
    "check_overdue": "年审逾期（请持证人回原党组织年审）",
    "revoked": "已作废",
    "returned": "已交回（失效）",
}


@dataclass(frozen=True)
class Verdict:
    state: str
    serial: str
    kind_label: str
    issuing_org: str
    issued_on: date
    # A letter's end of validity; for a card (open-ended), the date its next 年审 is due.
    valid_until: date
    masked_name: str
    is_card: bool = False

    @property
    def label(self) -> str:
        return STATES[self.state]


# Built once: the page is public, rate limited, and should cost almost nothing.
_LOOKUP = (
    select(
        Certificate.serial,
        Certificate.kind,
        Certificate.issuing_org,
        Certificate.issued_on,
        Certificate.valid_until,
        Certificate.check_due_on,
        Certificate.status,
        Member.name,
    )  # fmt: skip
    .join(Member, Member.id == Certificate.member_id)
    .where(Certificate.verify_code == bindparam("code"))
)


def check(code: str, today: date) -> Verdict | None:
    """The verdict for a normalised code, or None when no certificate has it."""
    row = db.session.connection().execute(_LOOKUP, {"code": code}).first()
    if row is None:
        return None
    serial, kind, org, issued_on, valid_until, check_due_on, status, name = row
    is_card = kind == "card"
    until = check_due_on if is_card and check_due_on else valid_until
    if status == REVOKED:
        state = "revoked"
    elif status == RETURNED:
        state = "returned"
    elif until < today:
        state = "check_overdue" if is_card else "expired"
    else:
        state = "valid"
    return Verdict(state, serial, CERT_KINDS[kind], org, issued_on, until, mask_name(name), is_card)
