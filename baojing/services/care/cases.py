"""四必访: a care event opens a case that must get a visit by its due date."""

import json
from datetime import date, timedelta

from sqlalchemy import select

from baojing import audit
from baojing.dates import local_today
from baojing.db import write_now
from baojing.extensions import db
from baojing.models.care import (
    CANCELLED,
    CARE_KINDS,
    CLOSED,
    DEFAULT_DUE_DAYS,
    FOLLOW_UP,
    IN_PERSON,
    OPEN,
    PENDING,
    CareCase,
    CarePhoto,
    CareVisit,
)
from baojing.models.members import ACTIVE, Member
from baojing.models.meta import AppMeta
from baojing.models.types import utcnow
from baojing.models.users import MEMBER, User
from baojing.scoping import member_condition
from baojing.services import RuleViolation
from baojing.services.care import photos as photo_files
from baojing.services.idempotency import keyed, logged_key, replayed, replayed_in_log

DUE_DAYS_KEY = "care_due_days"
# A wedding is known weeks ahead; news of an event older than this is history, not a case.
EVENT_AHEAD_DAYS = 90
EVENT_BEHIND_DAYS = 365
MAX_MONEY_FEN = 10_000_000  # ¥100,000: anything above is a typing slip


# --- due days per kind (county setting) ------------------------------------------------


def due_days() -> dict[str, int]:
    """Days from the report (or the event, if later) to the visit, per kind."""
    raw = db.session.scalar(select(AppMeta.value).where(AppMeta.key == DUE_DAYS_KEY))
    stored = json.loads(raw) if raw else {}
    return {kind: int(stored.get(kind, days)) for kind, days in DEFAULT_DUE_DAYS.items()}


def set_due_days(days: dict[str, int]) -> None:
    bad = {k: "请填写 1 到 60 之间的天数" for k, v in days.items() if not 1 <= v <= 60}
    if bad:
        raise RuleViolation(bad)
    before = due_days()
    row = db.session.get(AppMeta, DUE_DAYS_KEY) or AppMeta(key=DUE_DAYS_KEY)
    row.value = json.dumps({k: days[k] for k in CARE_KINDS}, sort_keys=True)
    db.session.add(row)
    db.session.flush()
    audit.record("care.due_days", entity_type="app_meta", before=before, after=days)


# --- opening and cancelling ------------------------------------------------------------


def open_case(member: Member, actor: User, data: dict, request_id: str | None = None) -> CareCase:
    """Report a care event for a member the caller already proved to be in scope.

    data: kind, event_on, description, reported_via ('member' for a member's own report).
    """
    if (earlier := replayed(CareCase, request_id, data, member_id=member.id)) is not None:
        return earlier
    today = local_today()
    errors = {}
    if member.status != ACTIVE:
        errors["kind"] = "该党员已不在流动党员名册中"
    if data["kind"] not in CARE_KINDS:
        errors["kind"] = "请选择事件类型"
    if data["event_on"] > today + timedelta(days=EVENT_AHEAD_DAYS):
        errors["event_on"] = f"事件日期最多填 {EVENT_AHEAD_DAYS} 天以后"
    elif data["event_on"] < today - timedelta(days=EVENT_BEHIND_DAYS):
        errors["event_on"] = "事件已过去一年以上，不再作为关怀事件登记"
    if errors:
        raise RuleViolation(errors)
    reported_via = "member" if actor.role == MEMBER else data["reported_via"]
    # A planned wedding is visited around its day, not before it is news.
    start = max(today, data["event_on"])
    case = CareCase(
        member_id=member.id, village_id=member.village_id, township_id=member.township_id,
        kind=data["kind"], event_on=data["event_on"], description=data["description"],
        reported_via=reported_via, reported_by_id=actor.id, opened_on=today,
        due_on=start + timedelta(days=due_days()[data["kind"]]), status=OPEN,
        **keyed(request_id, data),
    )  # fmt: skip
    db.session.add(case)
    db.session.flush()
    audit.record(
        "care.case_open", case,
        after={"member_id": member.id, "kind": case.kind, "event_on": case.event_on.isoformat(),
               "due_on": case.due_on.isoformat(), "reported_via": reported_via},
    )  # fmt: skip
    return case


def cancel_case(
    case: CareCase, actor: User, reason: str, request_id: str | None = None
) -> CareCase:
    """A case opened by mistake: kept, marked cancelled, with who and why.

    The key rides in the audit row: a replay of the same form is the cancel already done.
    """
    data = {"case_id": case.id, "reason": reason}
    if replayed_in_log("care.case_cancel", case, request_id, data) is not None:
        return case
    if case.status not in PENDING:
        raise RuleViolation({"reason": "只有未办结的关怀事件可以取消"})
    before = {"status": case.status}
    case.status = CANCELLED
    case.cancelled_at = utcnow()
    case.cancelled_by_id = actor.id
    case.cancel_reason = reason
    db.session.flush()
    audit.record(
        "care.case_cancel", case, before=before,
        after={"status": CANCELLED, "reason": reason, **logged_key(request_id, data)},
    )  # fmt: skip
    return case


# --- visits ----------------------------------------------------------------------------


def record_visit(
    case: CareCase,
    actor: User,
    data: dict,
    photos: list[photo_files.ProcessedPhoto] = (),
    request_id: str | None = None,
) -> CareVisit:
    """Record a visit; in person and without a follow-up it closes the case.

    A call (phone, WeChat) is kept as contact only: the case keeps its status and due
    date, and its first visit is still to come (四必访 means going there).

    data: visited_on, visitors, method, findings, money_fen, goods, help_arranged,
    follow_up, follow_up_on, shared_with_member. Photos were checked and re-encoded
    by the caller (photos.process); a replay of the same form stores them once.
    """
    write_now()  # the photos were re-encoded without the lock: from here on it writes
    if (earlier := replayed(CareVisit, request_id, data, case_id=case.id)) is not None:
        return earlier
    _check_visit(case, data)
    visit = CareVisit(case_id=case.id, recorded_by_id=actor.id, **data, **keyed(request_id, data))
    db.session.add(visit)
    before = {"status": case.status, "due_on": _iso(case.due_on)}
    if visit.method not in IN_PERSON:
        pass  # contact only: still to be visited, by the same date
    elif visit.follow_up:
        case.status = FOLLOW_UP
        case.due_on = visit.follow_up_on
    else:
        case.status = CLOSED
        case.closed_on = visit.visited_on
    if visit.method in IN_PERSON:
        case.first_visit_on = min(filter(None, [case.first_visit_on, visit.visited_on]))
    db.session.flush()
    stored = []
    for photo in photos:
        row = CarePhoto(
            visit_id=visit.id, token=photo_files.new_token(), width=photo.width,
            height=photo.height, size_bytes=len(photo.full), uploaded_by_id=actor.id,
        )  # fmt: skip
        db.session.add(row)
        stored.append((row.token, photo))
    db.session.flush()
    # Files last: a failure before here leaves no file; one after leaves a file no row
    # points at (harmless), never a row without its file.
    for token, photo in stored:
        photo_files.save(token, photo)
    audit.record(
        "care.visit", visit, before=before,
        after={"case_id": case.id, "visited_on": visit.visited_on.isoformat(),
               "method": visit.method, "money_fen": visit.money_fen, "photos": len(stored),
               "status": case.status, "due_on": _iso(case.due_on)},
    )  # fmt: skip
    return visit


def _check_visit(case: CareCase, data: dict) -> None:
    today = local_today()
    errors = {}
    if case.status not in PENDING:
        errors["visited_on"] = "该关怀事件已办结或已取消，不能再记录走访"
    if data["visited_on"] > today:
        errors["visited_on"] = "走访日期不能晚于今天"
    elif data["visited_on"] < min(case.event_on, case.opened_on):
        errors["visited_on"] = "走访日期不能早于事件发生或登记的日期"
    if not 0 <= data["money_fen"] <= MAX_MONEY_FEN:
        errors["money"] = "慰问金请填写 0 到 100000 元之间的金额"
    follow_on = data.get("follow_up_on")
    if follow_on and not data["follow_up"]:
        errors["follow_up_on"] = "填写了跟进日期，请同时勾选“需要跟进”"
    elif follow_on and follow_on < data["visited_on"]:
        errors["follow_up_on"] = "跟进日期不能早于这次走访"
    if errors:
        raise RuleViolation(errors)


def case_visits(case: CareCase, *, shared_only: bool) -> list[CareVisit]:
    """A case's visits, oldest first; a member sees only those marked shareable."""
    stmt = (
        select(CareVisit)
        .where(CareVisit.case_id == case.id)
        .order_by(CareVisit.visited_on, CareVisit.id)
    )
    if shared_only:
        stmt = stmt.where(CareVisit.shared_with_member.is_(True))
    return list(db.session.scalars(stmt))


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


def photo_in_scope(user: User, photo_id: int) -> tuple[CarePhoto, int] | None:
    """A photo the user may see, with the member its case is about: its case in scope;
    for a member, a visit shared with them."""
    stmt = (
        select(CarePhoto, CareCase.member_id)
        .join(CareVisit, CareVisit.id == CarePhoto.visit_id)
        .join(CareCase, CareCase.id == CareVisit.case_id)
        .where(CarePhoto.id == photo_id, member_condition(user, CareCase))
    )
    if user.role == MEMBER:
        stmt = stmt.where(CareVisit.shared_with_member.is_(True))
    return db.session.execute(stmt).first()
