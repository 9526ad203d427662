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
    valid_until: date
    masked_name: str

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
    serial, kind, org, issued_on, valid_until, status, name = row
    if status == REVOKED:
        state = "revoked"
    elif status == RETURNED:
        state = "returned"
    elif valid_until < today:
        state = "expired"
    else:
        state = "valid"
    return Verdict(state, serial, CERT_KINDS[kind], org, issued_on, valid_until, mask_name(name))
