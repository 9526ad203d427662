"""The member registry: list and search, create and edit, registration visits, liaisons."""

import functools
from dataclasses import dataclass
from datetime import date
from typing import NamedTuple

from flask import current_app
from sqlalchemy import Date, and_, bindparam, case, func, or_, select, update
from sqlalchemy.orm import aliased

from baojing import audit
from baojing.cache import ttl_cache
from baojing.dates import SHANGHAI, local_today, months_before
from baojing.extensions import db
from baojing.models.members import (
    ACTIVE,
    MEMBERSHIPS,
    MET_THEMSELF,
    BranchContact,
    ContactLog,
    LiaisonAssignment,
    Member,
    RegistrationVisit,
)
from baojing.models.org import OrgUnit
from baojing.models.types import utcnow
from baojing.models.users import User
from baojing.scoping import member_condition, member_condition_by_kind, member_scope
from baojing.services import Conflict, RuleViolation, exports
from baojing.services.idempotency import fingerprint, replayed
from baojing.services.points import awards
from baojing.validators import id_birth_date, id_gender

# Fields a registry user edits on the member form (never village, liaison or version:
# those change through their own actions, so extra POST fields cannot reach them).
EDITABLE = (
    "name", "ethnicity", "id_number", "phone", "join_date", "membership", "out_since",
    "dest_province", "dest_city", "dest_address", "employer", "trade",
    "family_contact_name", "family_contact_relation", "family_contact_phone",
)  # fmt: skip
# What a member may change about themself.
SELF_EDITABLE = ("phone", "dest_address")
# has_certificate is not among them: it follows the certificate records (issue, revoke,
# return in services/certificates/issue.py), never a box someone ticks.
AUDITED = EDITABLE + ("gender", "birth_date", "village_id", "liaison_id", "status")

ALERT_REVERIFY = "reverify"
ALERT_NO_CONTACT = "nocontact"
ALERT_NO_LIAISON = "noliaison"
ALERT_LABELS = {
    ALERT_REVERIFY: "待重新登记",
    ALERT_NO_CONTACT: "失联风险",
    ALERT_NO_LIAISON: "未定联络人",
}


@dataclass(frozen=True)
class AlertCutoffs:
    """Dates before which a verification or contact counts as overdue."""

    verified_before: date
    contact_before: date

    @classmethod
    def today(cls) -> "AlertCutoffs":
        today = local_today()
        cfg = current_app.config
        return cls(
            verified_before=months_before(today, cfg["REVERIFY_MONTHS"]),
            contact_before=months_before(today, cfg["NO_CONTACT_MONTHS"]),
        )

    def alerts(self, m) -> list[str]:
        """Alert codes for a member row (anything with the three columns)."""
        out = []
        if m.last_verified_on is None or m.last_verified_on < self.verified_before:
            out.append(ALERT_REVERIFY)
        if m.last_contact_on is None or m.last_contact_on < self.contact_before:
            out.append(ALERT_NO_CONTACT)
        if m.liaison_id is None:
            out.append(ALERT_NO_LIAISON)
        return out

    def params(self) -> dict:
        """Values for the :verified_before and :contact_before of alert_condition."""
        return {"verified_before": self.verified_before, "contact_before": self.contact_before}


def alert_condition(code: str):
    """SQL for one alert, its cut-off dates left as bind parameters (AlertCutoffs.params)."""
    if code == ALERT_REVERIFY:
        return or_(
            Member.last_verified_on.is_(None),
            Member.last_verified_on < bindparam("verified_before", type_=Date),
        )
    if code == ALERT_NO_CONTACT:
        return or_(
            Member.last_contact_on.is_(None),
            Member.last_contact_on < bindparam("contact_before", type_=Date),
        )
    if code == ALERT_NO_LIAISON:
        return Member.liaison_id.is_(None)
    raise ValueError(code)


# --- listing -------------------------------------------------------------------------


def _flag(condition):
    return case((condition, 1), else_=0)


# What a list row shows. Masking and alert flags are computed by SQLite: a row is
# then only printed by the template, which is the cheapest way to render 20 of them.
LIST_COLUMNS = (
    Member.id, Member.name, Member.dest_province, Member.dest_city, Member.trade,
    Member.last_verified_on, Member.liaison_id,
    (func.substr(Member.phone, 1, 3) + "****" + func.substr(Member.phone, 8)).label("phone_masked"),
    BranchContact.name.label("liaison_name"), OrgUnit.name.label("village_name"),
    _flag(alert_condition(ALERT_REVERIFY)).label(ALERT_REVERIFY),
    _flag(alert_condition(ALERT_NO_CONTACT)).label(ALERT_NO_CONTACT),
    _flag(alert_condition(ALERT_NO_LIAISON)).label(ALERT_NO_LIAISON),
)  # fmt: skip


@dataclass
class MemberPage:
    rows: list
    total: int  # exact up to COUNT_UP_TO; above it, COUNT_UP_TO + 1 ("more than")
    page: int
    per_page: int
    more: bool = False  # a next page exists

    @property
    def counted_all(self) -> bool:
        return self.total <= COUNT_UP_TO

    @property
    def pages(self) -> int | None:
        """How many pages, when the count is exact."""
        return max(1, -(-self.total // self.per_page)) if self.counted_all else None


# A list counts its members up to here and says "more than" beyond: the count reads at
# most this many index entries, so a page costs the same in a province of 200,000 as in
# a county of 20,000 (a township's whole list would otherwise be counted on every page).
# Nobody pages through a thousand names; they search or filter.
COUNT_UP_TO = 1000


# Every string that begins with q sorts at or after q and before q + this character:
# a prefix is a range (byte order: SQLite's own, and PostgreSQL in a C-collated database).
_PREFIX_END = "\U0010ffff"


def search_kind(q: str) -> tuple[str, dict]:
    """Name, phone, or the last 4 of the ID number, whichever the text looks like."""
    q = q.strip().replace(" ", "")
    if not q:
        return "", {}
    params = {"q": q, "q_end": q + _PREFIX_END}
    upper = q.upper()
    if len(upper) == 4 and (upper.isdigit() or (upper[:3].isdigit() and upper[3] == "X")):
        return "tail", params | {"q_tail": upper}
    if q.isdigit():
        return "phone", params
    return "name", params


def _starts_with(column):
    """column begins with :q, as a range the column's index answers."""
    return and_(column >= bindparam("q"), column < bindparam("q_end"))


# A name is found from its surname (向, 向光明) or its given name (光明); digits from the
# start of the mobile number; four characters as the ID's tail, the phone's last four
# (手机尾号) or its first four.
SEARCH_CONDITIONS = {
    "tail": lambda: or_(
        Member.id_tail == bindparam("q_tail"),
        Member.phone_tail == bindparam("q"),
        _starts_with(Member.phone),
    ),
    "phone": lambda: _starts_with(Member.phone),
    "name": lambda: or_(_starts_with(Member.name), _starts_with(Member.given_name)),
}


def _list_where(scope: str, search: str, by_province: bool, alert: str, by_village: bool):
    """The list's filters as one condition, values left as bind parameters (_list_filters)."""
    conds = [member_condition_by_kind(scope), Member.status == ACTIVE]
    if search:
        conds.append(SEARCH_CONDITIONS[search]())
    if by_province:
        conds.append(Member.dest_province == bindparam("province"))
    if alert:
        conds.append(alert_condition(alert))
    if by_village:
        conds.append(Member.village_id == bindparam("village_id"))
    return and_(*conds)


@functools.lru_cache(maxsize=512)
def _list_statements(scope: str, search: str, by_province: bool, alert: str, by_village: bool):
    """(count, page, counted page) selects for one shape of filters, built once per
    process; every value is a bind parameter. The counted page carries
    the count as an uncorrelated subquery (SQLite runs it once, on the covering
    index), so a list page is one round trip; the count alone is for pages past
    the end, and the page alone for searches (see list_members).
    """
    where = _list_where(scope, search, by_province, alert, by_village)
    up_to = select(Member.id).where(where).limit(COUNT_UP_TO + 1).subquery()
    count = select(func.count()).select_from(up_to)
    rows = (
        select(*LIST_COLUMNS)
        .outerjoin(BranchContact, BranchContact.id == Member.liaison_id)
        .join(OrgUnit, OrgUnit.id == Member.village_id)
        .where(where)
        .order_by(Member.name, Member.id)
        .limit(bindparam("limit"))
        .offset(bindparam("offset"))
    )
    counted = rows.add_columns(count.scalar_subquery().label("total"))
    return count, rows, counted


class _Shape(NamedTuple):
    """Which filters a list request uses (what _list_where takes), not their values."""

    scope: str
    search: str
    by_province: bool
    alert: str
    by_village: bool


def _list_filters(user: User, q: str, province: str, alert: str, village_id, cutoffs):
    """The shape of the list's filters and their bind values, for the page and the export."""
    scope, scope_id = member_scope(user)
    search, params = search_kind(q)
    alert = alert if alert in ALERT_LABELS else ""
    params |= {"scope_id": scope_id, "province": province, "village_id": village_id}
    params |= cutoffs.params()
    return _Shape(scope, search, bool(province), alert, bool(village_id)), params


def list_members(
    user: User,
    *,
    q: str = "",
    province: str = "",
    alert: str = "",
    village_id: int | None = None,
    page: int = 1,
    per_page: int = 20,
    cutoffs: AlertCutoffs,
) -> MemberPage:
    """One page of the active members the user may see, with the filters applied."""
    shape, params = _list_filters(user, q, province, alert, village_id, cutoffs)
    count, rows, counted = _list_statements(*shape)
    run = db.session.connection().execute
    page = max(1, page)
    # One row past the page tells whether a next page exists, whatever the count says.
    window = params | {"limit": per_page + 1, "offset": (page - 1) * per_page}
    if shape.search and page == 1:
        # Most searches fit on one page, and then the rows are their own count: the
        # count subquery would scan the village a second time for nothing.
        found = run(rows, window).all()
        if len(found) <= per_page:
            return MemberPage(found, len(found), 1, per_page)
        return MemberPage(found[:per_page], run(count, params).scalar(), 1, per_page, True)
    found = run(counted, window).all()
    if found:
        more = len(found) > per_page
        return MemberPage(found[:per_page], found[0].total, page, per_page, more)
    total = run(count, params).scalar()
    if total == 0 or page == 1:
        return MemberPage([], total, 1, per_page)
    if total > COUNT_UP_TO:
        # Past the end of a list too long to count: an empty page that leads back.
        return MemberPage([], total, page, per_page)
    # Past the last page (the list shrank, or a typed URL): show the last one.
    last = -(-total // per_page)
    found = run(rows, params | {"limit": per_page, "offset": (last - 1) * per_page}).all()
    return MemberPage(found, total, last, per_page)


@ttl_cache(60, key=lambda user: (user.role, user.org_unit_id, user.member_id))
def provinces_in_scope(user: User) -> list[str]:
    """Destination provinces among the user's members, for the filter menu."""
    return list(
        db.session.connection()
        .execute(
            select(Member.dest_province)
            .where(member_condition(user), Member.dest_province != "")
            .distinct()
            .order_by(Member.dest_province)
        )
        .scalars()
    )


def alert_counts(user: User, cutoffs: AlertCutoffs) -> dict[str, int]:
    """How many active members in scope carry each alert, in one query."""
    cols = [
        func.coalesce(func.sum(alert_condition(code).cast(db.Integer)), 0).label(code)
        for code in ALERT_LABELS
    ]
    row = (
        db.session.connection()
        .execute(
            select(*cols).where(member_condition(user), Member.status == ACTIVE), cutoffs.params()
        )
        .one()
    )
    return dict(row._mapping)


# --- export --------------------------------------------------------------------------

EXPORT_COLUMNS = (
    exports.Column("姓名", 10), exports.Column("性别", 6), exports.Column("民族", 8),
    exports.Column("出生日期", 12, exports.DATE),
    exports.Column("身份证号", 21, exports.ID_NUMBER),
    exports.Column("手机号", 14, exports.PHONE),
    exports.Column("乡镇", 10), exports.Column("村党支部", 12), exports.Column("党员类别", 10),
    exports.Column("入党日期", 12, exports.DATE), exports.Column("外出时间", 12, exports.DATE),
    exports.Column("务工省份", 12), exports.Column("务工城市", 12),
    exports.Column("务工地址", 30), exports.Column("工作单位", 26), exports.Column("行业", 12),
    exports.Column("持流动党员证", 12), exports.Column("家庭联系人", 12),
    exports.Column("与本人关系", 10), exports.Column("家庭联系人电话", 16, exports.PHONE),
    exports.Column("联络人", 10), exports.Column("最近上门登记", 14, exports.DATE),
    exports.Column("最近联系", 12, exports.DATE), exports.Column("提醒", 26),
)  # fmt: skip


def _export_select(shape: _Shape):
    township = aliased(OrgUnit)
    return (
        select(
            Member.name, Member.gender, Member.ethnicity, Member.birth_date, Member.id_number,
            Member.phone, Member.membership, Member.join_date, Member.out_since,
            Member.dest_province, Member.dest_city, Member.dest_address, Member.employer,
            Member.trade, Member.has_certificate, Member.family_contact_name,
            Member.family_contact_relation, Member.family_contact_phone, Member.last_verified_on,
            Member.last_contact_on, township.name.label("township"),
            OrgUnit.name.label("village"), BranchContact.name.label("liaison"),
            *(_flag(alert_condition(code)).label(code) for code in ALERT_LABELS),
        )
        .outerjoin(BranchContact, BranchContact.id == Member.liaison_id)
        .join(OrgUnit, OrgUnit.id == Member.village_id)
        .join(township, township.id == Member.township_id)
        .where(_list_where(*shape))
        .order_by(Member.name, Member.id)  # the list's order
    )  # fmt: skip


def export(
    user: User, *, q: str = "", province: str = "", alert: str = "",
    village_id: int | None = None, cutoffs: AlertCutoffs,
) -> exports.Export:  # fmt: skip
    """Every member the list shows with these filters, in its order, as an export."""
    shape, params = _list_filters(user, q, province, alert, village_id, cutoffs)
    stmt = _export_select(shape).execution_options(yield_per=exports.CHUNK_ROWS)

    def rows():
        for r in exports.stream(stmt, params):
            alerts = "、".join(label for code, label in ALERT_LABELS.items() if getattr(r, code))
            yield (
                r.name, r.gender, r.ethnicity, r.birth_date, r.id_number, r.phone, r.township,
                r.village, MEMBERSHIPS.get(r.membership, r.membership), r.join_date, r.out_since,
                r.dest_province, r.dest_city, r.dest_address, r.employer, r.trade,
                "是" if r.has_certificate else "否", r.family_contact_name,
                r.family_contact_relation, r.family_contact_phone, r.liaison,
                r.last_verified_on, r.last_contact_on, alerts,
            )  # fmt: skip

    return exports.Export("members", "流动党员", EXPORT_COLUMNS, rows())


# --- create and edit -----------------------------------------------------------------


def _check_id_unique(id_number: str, member_id: int | None) -> None:
    clash = db.session.scalar(
        select(Member.id).where(Member.id_number == id_number, Member.id != (member_id or 0))
    )
    if clash:
        raise RuleViolation({"id_number": "该身份证号码已经登记过，请勿重复登记"})


def _apply(member: Member, data: dict) -> None:
    for name in EDITABLE:
        if name in data:
            setattr(member, name, data[name])
    if "id_number" in data:
        member.id_tail = member.id_number[-4:]
        member.birth_date = id_birth_date(member.id_number)
        member.gender = id_gender(member.id_number)


def create_member(village: OrgUnit, data: dict, request_id: str | None = None) -> Member:
    """Register a mobile member in a village the caller already proved to be in scope."""
    if (earlier := replayed(Member, request_id, data, village_id=village.id)) is not None:
        return earlier
    _check_id_unique(data["id_number"], None)
    # Registering a member is itself a check of the record and a contact with them,
    # so a new member does not start out flagged as overdue or lost.
    today = local_today()
    member = Member(
        village_id=village.id, township_id=village.township_id, status=ACTIVE,
        request_id=request_id, request_fingerprint=fingerprint(data) if request_id else None,
        last_verified_on=today, last_contact_on=today,
    )  # fmt: skip
    _apply(member, data)
    db.session.add(member)
    db.session.flush()
    audit.record("member.create", member, after=audit.snapshot(member, AUDITED))
    return member


def update_member(member: Member, data: dict, expected_version: int) -> Member:
    """Save edits unless someone else saved first (then raise Conflict with their values)."""
    if member.version != expected_version:
        raise Conflict({f: getattr(member, f) for f in EDITABLE}, member.version)
    if data.get("id_number") and data["id_number"] != member.id_number:
        _check_id_unique(data["id_number"], member.id)
    else:
        data.pop("id_number", None)
    before = audit.snapshot(member, AUDITED)
    _apply(member, data)
    after = audit.snapshot(member, AUDITED)
    old, new = audit.changes(before, after)
    if new:
        db.session.flush()  # the version check happens here: UPDATE … WHERE version = ?
        audit.record("member.update", member, before=old, after=new)
    return member


def update_own_contact(member: Member, data: dict) -> Member:
    """A member corrects their own phone and current address."""
    before = audit.snapshot(member, SELF_EDITABLE)
    for name in SELF_EDITABLE:
        setattr(member, name, data[name])
    old, new = audit.changes(before, audit.snapshot(member, SELF_EDITABLE))
    if new:
        member.last_contact_on = local_today()
        db.session.flush()
        audit.record("member.self_update", member, before=old, after=new)
    return member


# --- registration visits and contacts -----------------------------------------------


def record_visit(
    member: Member, actor: User, data: dict, request_id: str | None = None
) -> RegistrationVisit:
    """Record a 上门登记 and move the member's last-verified and last-contact dates."""
    if (earlier := replayed(RegistrationVisit, request_id, data, member_id=member.id)) is not None:
        return earlier
    if data["visited_on"] > local_today():
        raise RuleViolation({"visited_on": "登记日期不能晚于今天"})
    visit = RegistrationVisit(
        member_id=member.id,
        visited_on=data["visited_on"],
        verified_by_id=actor.id,
        met_with=data["met_with"],
        items_verified=",".join(data["items"]),
        whereabouts_confirmed=data["whereabouts_confirmed"],
        note=data.get("note", ""),
        request_id=request_id,
        request_fingerprint=fingerprint(data) if request_id else None,
    )
    db.session.add(visit)
    before = audit.snapshot(member, ("last_verified_on", "last_contact_on"))
    member.last_verified_on = max(filter(None, [member.last_verified_on, visit.visited_on]))
    member.last_contact_on = max(filter(None, [member.last_contact_on, visit.visited_on]))
    db.session.flush()
    audit.record(
        "member.registration_visit",
        visit,
        before=before,
        after={
            "member_id": member.id,
            "visited_on": visit.visited_on.isoformat(),
            "items": visit.items_verified,
            "whereabouts_confirmed": visit.whereabouts_confirmed,
        },
    )
    # 流动登记 earns points where a rule says so (points store), in this transaction: for
    # the member's own check only, not for a talk with the family alone.
    if visit.met_with in MET_THEMSELF:
        awards.auto_award("registration_visit", visit.id, member, visit.visited_on, actor)
    return visit


def cancel_visit(member: Member, visit_id: int, actor: User, reason: str) -> RegistrationVisit:
    """Cancel a visit recorded by mistake: kept, marked, its points reversed."""
    visit = db.session.scalar(
        select(RegistrationVisit).where(
            RegistrationVisit.id == visit_id, RegistrationVisit.member_id == member.id
        )
    )
    if visit is None:
        raise LookupError(visit_id)
    if visit.cancelled_at is not None:
        raise RuleViolation({"reason": "这条登记已经撤销过了"})
    visit.cancelled_at = utcnow()
    visit.cancelled_by_id = actor.id
    visit.cancel_reason = reason
    before = audit.snapshot(member, ("last_verified_on",))
    # Last verified falls back to the newest visit still standing, or registration day.
    still = db.session.scalar(
        select(func.max(RegistrationVisit.visited_on)).where(
            RegistrationVisit.member_id == member.id,
            RegistrationVisit.cancelled_at.is_(None),
            RegistrationVisit.id != visit.id,
        )
    )
    registered_on = member.created_at.astimezone(SHANGHAI).date()
    member.last_verified_on = max(filter(None, [still, registered_on]))
    db.session.flush()
    audit.record(
        "member.registration_visit_cancel", visit, before=before,
        after={"member_id": member.id, "reason": reason, "last_verified_on": member.last_verified_on.isoformat()},
    )  # fmt: skip
    awards.reverse_source("registration_visit", visit.id, actor, f"撤销上门登记：{reason}")
    return visit


def log_contact(
    member: Member, actor: User, data: dict, request_id: str | None = None
) -> ContactLog:
    """Note a call or visit; it resets the 失联 clock."""
    if (earlier := replayed(ContactLog, request_id, data, member_id=member.id)) is not None:
        return earlier
    if data["contacted_on"] > local_today():
        raise RuleViolation({"contacted_on": "联系日期不能晚于今天"})
    entry = ContactLog(
        member_id=member.id, by_user_id=actor.id, request_id=request_id,
        request_fingerprint=fingerprint(data) if request_id else None, **data,
    )  # fmt: skip
    db.session.add(entry)
    member.last_contact_on = max(filter(None, [member.last_contact_on, entry.contacted_on]))
    db.session.flush()
    audit.record("member.contact", entry, after={"member_id": member.id, "channel": entry.channel})
    return entry


# --- liaisons ------------------------------------------------------------------------


def liaisons_of_village(village_id: int) -> list[BranchContact]:
    return list(
        db.session.scalars(
            select(BranchContact)
            .where(BranchContact.village_id == village_id, BranchContact.active.is_(True))
            .order_by(BranchContact.name)
        )
    )


def add_liaison(village: OrgUnit, data: dict, request_id: str | None = None) -> BranchContact:
    """Add a committee member or young member who can be a liaison (once per submit)."""
    if (earlier := replayed(BranchContact, request_id, data, village_id=village.id)) is not None:
        return earlier
    contact = BranchContact(
        village_id=village.id, request_id=request_id,
        request_fingerprint=fingerprint(data) if request_id else None, **data,
    )  # fmt: skip
    db.session.add(contact)
    db.session.flush()
    audit.record(
        "liaison.create", contact, after=audit.snapshot(contact, ("name", "phone", "role"))
    )
    return contact


def assign_liaison(member: Member, liaison: BranchContact, actor: User, note: str = "") -> None:
    """Make liaison the member's contact person, closing the previous assignment."""
    if liaison.village_id != member.village_id:
        raise RuleViolation({"liaison_id": "联络人须是本村党支部的党员"})
    if member.liaison_id == liaison.id:
        return
    today = local_today()
    db.session.execute(
        update(LiaisonAssignment)
        .where(LiaisonAssignment.member_id == member.id, LiaisonAssignment.ended_on.is_(None))
        .values(ended_on=today)
    )
    db.session.add(
        LiaisonAssignment(
            member_id=member.id,
            liaison_id=liaison.id,
            started_on=today,
            assigned_by_id=actor.id,
            note=note,
        )  # fmt: skip
    )
    before = {"liaison_id": member.liaison_id}
    member.liaison_id = liaison.id
    db.session.flush()
    audit.record("member.assign_liaison", member, before=before, after={"liaison_id": liaison.id})


def handover(source: BranchContact, target: BranchContact, actor: User, note: str = "") -> int:
    """Move all of one liaison's members to another in one step; returns how many moved."""
    if source.id == target.id:
        raise RuleViolation({"target_id": "请选择另一位联络人"})
    if source.village_id != target.village_id:
        raise RuleViolation({"target_id": "只能移交给本村党支部的联络人"})
    member_ids = list(
        db.session.scalars(
            select(Member.id).where(Member.liaison_id == source.id, Member.status == ACTIVE)
        )
    )
    if not member_ids:
        return 0
    today = local_today()
    db.session.execute(
        update(LiaisonAssignment)
        .where(LiaisonAssignment.member_id.in_(member_ids), LiaisonAssignment.ended_on.is_(None))
        .values(ended_on=today)
    )
    db.session.execute(
        LiaisonAssignment.__table__.insert(),
        [
            {
                "member_id": mid,
                "liaison_id": target.id,
                "started_on": today,
                "assigned_by_id": actor.id,
                "note": note or f"由 {source.name} 移交",
            }  # fmt: skip
            for mid in member_ids
        ],
    )
    # A bulk UPDATE bypasses the ORM's version counter, so bump it here: an editor
    # holding one of these members open must see that the record changed.
    db.session.execute(
        update(Member)
        .where(Member.id.in_(member_ids))
        .values(liaison_id=target.id, version=Member.version + 1)
        .execution_options(synchronize_session=False)
    )
    audit.record(
        "liaison.handover",
        source,
        before={"liaison_id": source.id, "member_ids": member_ids},
        after={"liaison_id": target.id, "count": len(member_ids)},
    )
    return len(member_ids)


def reveal_id(member: Member) -> str:
    """Show the full resident ID: an explicit action, always audited."""
    audit.record("member.reveal_id", member)
    return member.id_number


def liaison_member_counts(village_id: int) -> dict[int, int]:
    """How many active members each liaison of a village looks after."""
    rows = db.session.execute(
        select(Member.liaison_id, func.count())
        .where(
            Member.village_id == village_id, Member.status == ACTIVE, Member.liaison_id.is_not(None)
        )
        .group_by(Member.liaison_id)
    )
    return dict(rows.all())
