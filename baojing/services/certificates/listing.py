"""Certificates in scope: the list, a member's history, and those due for renewal."""

from datetime import date, timedelta

from sqlalchemy import bindparam, func, select

from baojing.extensions import db
from baojing.models.certificates import (
    CERT_KINDS,
    CERT_STATUSES,
    PENDING_RECEIPT,
    RECEIPT_RETURNED,
    VALID,
    Certificate,
    Transfer,
)
from baojing.models.members import Member
from baojing.models.org import OrgUnit
from baojing.models.users import User
from baojing.scoping import member_condition
from baojing.services import exports, settings
from baojing.services.paging import Page, fetch_page

# Until when a paper holds as it is: a letter to its end of validity, a card (open-ended)
# to its next yearly check.
UNTIL = func.coalesce(Certificate.check_due_on, Certificate.valid_until)

# What a row of a certificate list shows.
_ROW_COLUMNS = (
    Certificate.id, Certificate.serial, Certificate.kind, Certificate.status,
    Certificate.issued_on, Certificate.valid_until, UNTIL.label("until"),
)  # fmt: skip


def certificates(user: User, *, status: str, today: date, page: int) -> Page:
    """status: valid | due (valid, expiring within 30 days or expired) | revoked | returned | all."""
    return fetch_page(_certificates(user, status, today), page)


def _certificates(user: User, status: str, today: date, *more_columns):
    """The list's select: its filters, scope and order (the page and the export)."""
    stmt = (
        select(*_ROW_COLUMNS, Member.name.label("member_name"), *more_columns)
        .join(Member, Member.id == Certificate.member_id)
        .where(member_condition(user, Certificate))
    )
    if status == "due":
        stmt = stmt.where(
            Certificate.status == VALID,
            UNTIL <= today + timedelta(days=settings.value("renewal_window_days")),
        ).order_by(UNTIL, Certificate.id)
    else:
        if status in ("valid", "revoked", "returned"):
            stmt = stmt.where(Certificate.status == status)
        stmt = stmt.order_by(Certificate.issued_on.desc(), Certificate.id.desc())
    return stmt


EXPORT_COLUMNS = (
    exports.Column("编号", 18), exports.Column("姓名", 10),
    exports.Column("身份证号", 21, exports.ID_NUMBER), exports.Column("村党支部", 12),
    exports.Column("证件类型", 16), exports.Column("状态", 8),
    exports.Column("发证日期", 12, exports.DATE),
    exports.Column("有效期至 / 年审至", 16, exports.DATE),
    exports.Column("发证机关", 24), exports.Column("外出地点", 24),
)  # fmt: skip


def state_label(kind: str, status: str, until: date, today: date) -> str:
    """As the list's badge says it: a valid letter past its date is 已过期, a valid card
    past its check 年审逾期."""
    if status == VALID and until < today:
        return "年审逾期" if kind == "card" else "已过期"
    return CERT_STATUSES.get(status, status)


def export_certificates(user: User, *, status: str, today: date) -> exports.Export:
    """Every certificate the list shows with this filter, in its order, as an export."""
    stmt = (
        _certificates(
            user, status, today, Member.id_number, OrgUnit.name.label("village_name"),
            Certificate.issuing_org, Certificate.destination,
        )
        .join(OrgUnit, OrgUnit.id == Certificate.village_id)
        .execution_options(yield_per=exports.CHUNK_ROWS)
    )  # fmt: skip

    def rows():
        for c in exports.stream(stmt):
            yield (
                c.serial, c.member_name, c.id_number, c.village_name,
                CERT_KINDS.get(c.kind, c.kind), state_label(c.kind, c.status, c.until, today),
                c.issued_on, c.until, c.issuing_org, c.destination,
            )  # fmt: skip

    return exports.Export("certificates", "流动党员证件", EXPORT_COLUMNS, rows())


_OF_MEMBER = (
    select(*_ROW_COLUMNS)
    .where(Certificate.member_id == bindparam("member_id"))
    .order_by(Certificate.issued_on.desc(), Certificate.id.desc())
    .limit(20)
)


def of_member(member_id: int) -> list:
    """A member's certificates, newest first (the profile's 持证记录)."""
    return db.session.connection().execute(_OF_MEMBER, {"member_id": member_id}).all()


def _due_conditions(user: User, today: date) -> list:
    return [
        member_condition(user, Certificate),
        Certificate.status == VALID,
        Certificate.kind == "card",
        Certificate.check_due_on <= today + timedelta(days=settings.value("renewal_window_days")),
    ]


def due_for_check(
    user: User, today: date, limit: int = 1000, township_id: int | None = None
) -> list[Certificate]:
    """Valid activity cards in scope (optionally one township) whose 年审 falls due
    within the window."""
    stmt = select(Certificate).where(*_due_conditions(user, today))
    if township_id is not None:
        # In SQL, before the limit: a township's cards must not be crowded out by others'.
        stmt = stmt.where(Certificate.township_id == township_id)
    order = (Certificate.village_id, Certificate.check_due_on, Certificate.id)
    return list(db.session.scalars(stmt.order_by(*order).limit(limit)))


def due_per_township(user: User, today: date) -> dict[int, int]:
    """How many cards in scope are due for their 年审, by township (the batch page's counts)."""
    rows = db.session.execute(
        select(Certificate.township_id, func.count())
        .where(*_due_conditions(user, today))
        .group_by(Certificate.township_id)
    )
    return {township_id: count for township_id, count in rows}


def transfers(user: User, *, status: str, today: date, page: int = 1) -> Page:
    """Transfer letters in scope. status: pending | overdue (receipt late) | returned | all."""
    stmt = (
        select(
            Transfer.id,
            Transfer.serial,
            Transfer.status,
            Transfer.issued_on,
            Transfer.receipt_due_on,
            Transfer.to_org,
            Transfer.receipt_on,
            Member.name.label("member_name"),
        )  # fmt: skip
        .join(Member, Member.id == Transfer.member_id)
        .where(member_condition(user, Transfer))
        .order_by(Transfer.issued_on.desc(), Transfer.id.desc())
    )
    if status in ("pending", "overdue"):
        stmt = stmt.where(Transfer.status == PENDING_RECEIPT)
    if status == "overdue":
        stmt = stmt.where(Transfer.receipt_due_on < today)
    if status == "returned":
        stmt = stmt.where(Transfer.status == RECEIPT_RETURNED)
    return fetch_page(stmt, page)
