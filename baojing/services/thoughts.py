"""Quarterly thought reports: writing (autosaved drafts, photos), review, points, lists.

The member writes for the current quarter, or the one before while it is still open
(returned reports of any quarter too). A report is due by its quarter's end plus the
county's grace days (setting thought_grace_days); a report first handed in by then
and accepted earns the rule linked to AUTO_SOURCES["thought_report"] (定期汇报), once
per acceptance; withdrawing the acceptance reverses it.

Who reads a report in full: the member, the reviewing role in its scope (setting
thought_review_village: the township officer, or the village secretary) and the
county admin (scoping.thought_condition); never a draft but its author. The lists of
who has and has not handed in show names and statuses only, to the registry roles.
"""

import re
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from flask import current_app, url_for
from sqlalchemy import and_, case, func, or_, select

from baojing import audit
from baojing.dates import SHANGHAI, local_today, quarter_of
from baojing.db import write_now
from baojing.extensions import db
from baojing.files import write_new
from baojing.models.members import ACTIVE, Member
from baojing.models.org import OrgUnit
from baojing.models.thoughts import (
    ACCEPT,
    ACCEPTED,
    DRAFT,
    EDITABLE,
    HANDED_IN,
    RETURN,
    RETURNED,
    SUBMIT,
    SUBMITTED,
    WITHDRAW,
    ThoughtEvent,
    ThoughtPhoto,
    ThoughtReport,
)
from baojing.models.types import utcnow
from baojing.models.users import COUNTY_ADMIN, MEMBER, User
from baojing.scoping import (
    REGISTRY_ROLES,
    member_condition,
    thought_condition,
    thought_reviewer_role,
)
from baojing.services import Conflict, RuleViolation, settings
from baojing.services.care import photos as photo_files
from baojing.services.home import HomeItem
from baojing.services.idempotency import keyed, replayed
from baojing.services.paging import Page, fetch_page
from baojing.services.points import awards

AUTO_SOURCE = "thought_report"
MAX_BODY = 10_000
MIN_BODY = 20  # without photos: a sentence or two at least
MAX_PHOTOS = 6
MAX_COMMENT = 500
QUARTER = re.compile(r"^(\d{4})Q([1-4])$")


# --- quarters ---------------------------------------------------------------------------


def parse_quarter(text: str) -> str | None:
    """A quarter such as 2026Q2 if the text is one (2000 onwards), else None."""
    found = QUARTER.match(text or "")
    return text if found and int(found.group(1)) >= 2000 else None


def quarter_end(quarter: str) -> date:
    year, q = int(quarter[:4]), int(quarter[5])
    first_of_next = date(year + 1, 1, 1) if q == 4 else date(year, 3 * q + 1, 1)
    return first_of_next - timedelta(days=1)


def previous_quarter(quarter: str) -> str:
    year, q = int(quarter[:4]), int(quarter[5])
    return f"{year - 1}Q4" if q == 1 else f"{year}Q{q - 1}"


def quarter_label(quarter: str) -> str:
    return f"{quarter[:4]} 年第 {quarter[5]} 季度"


def deadline(quarter: str) -> date:
    """The last day a report for the quarter is on time: its end plus the grace days."""
    return quarter_end(quarter) + timedelta(days=settings.value("thought_grace_days"))


def open_quarters(today: date) -> tuple[str, ...]:
    """Quarters a member may start or change a report for: the current one, and the one
    before until its deadline has passed (a late report is still taken, without points)."""
    current = quarter_of(today)
    return (previous_quarter(current), current)


def closed_quarter(today: date) -> str:
    """The latest quarter whose deadline has passed: its missing members are overdue."""
    quarter = previous_quarter(quarter_of(today))
    return quarter if deadline(quarter) < today else previous_quarter(quarter)


def recent_quarters(today: date, count: int = 6) -> list[str]:
    out = [quarter_of(today)]
    while len(out) < count:
        out.append(previous_quarter(out[-1]))
    return out


# --- who reads and reviews --------------------------------------------------------------


def village_review() -> bool:
    return settings.value("thought_review_village") == 1


def condition(user: User, model=ThoughtReport):
    """Reports the user may read in full; drafts only by their author."""
    cond = thought_condition(user, model, village_review())
    if user.role != MEMBER:
        cond = and_(cond, ThoughtReport.status != DRAFT)
    return cond


def may_review(user: User) -> bool:
    return user.role == thought_reviewer_role(village_review())


def may_list(user: User) -> bool:
    """Who sees the lists of who handed in (names and statuses, no content)."""
    return user.role in REGISTRY_ROLES


def report_in_scope(user: User, report_id: int) -> ThoughtReport | None:
    return db.session.scalar(
        select(ThoughtReport).where(ThoughtReport.id == report_id, condition(user))
    )


def own_report(member_id: int, quarter: str) -> ThoughtReport | None:
    return db.session.scalar(
        select(ThoughtReport).where(
            ThoughtReport.member_id == member_id, ThoughtReport.quarter == quarter
        )
    )


def own_reports(member_id: int) -> list[ThoughtReport]:
    return list(
        db.session.scalars(
            select(ThoughtReport)
            .where(ThoughtReport.member_id == member_id)
            .order_by(ThoughtReport.quarter.desc())
            .limit(12)
        )
    )


def photos_of(report: ThoughtReport) -> list[ThoughtPhoto]:
    return list(
        db.session.scalars(
            select(ThoughtPhoto)
            .where(ThoughtPhoto.report_id == report.id, ThoughtPhoto.removed_at.is_(None))
            .order_by(ThoughtPhoto.id)
        )
    )


def events_of(report: ThoughtReport) -> list[ThoughtEvent]:
    return list(
        db.session.scalars(
            select(ThoughtEvent)
            .where(ThoughtEvent.report_id == report.id)
            .order_by(ThoughtEvent.id)
        )
    )


def editable(report: ThoughtReport | None, quarter: str, today: date) -> bool:
    if report is not None and report.status not in EDITABLE:
        return False
    if report is not None and report.status == RETURNED:
        return True
    return quarter in open_quarters(today)


# --- writing ----------------------------------------------------------------------------


def _report_for_writing(member: Member, quarter: str) -> ThoughtReport:
    """The member's report of the quarter, started (as an empty draft) if need be."""
    report = own_report(member.id, quarter)
    if report is None and quarter not in open_quarters(local_today()):
        raise RuleViolation({"body": f"{quarter_label(quarter)}的思想汇报已不能再写"})
    if report is None:
        report = ThoughtReport(
            member_id=member.id, village_id=member.village_id, township_id=member.township_id,
            quarter=quarter, status=DRAFT, body="", version=0, due_on=deadline(quarter),
        )  # fmt: skip
        db.session.add(report)
        db.session.flush()
    if not editable(report, quarter, local_today()):
        raise RuleViolation({"body": "这份汇报已经提交，等待审阅，不能再修改"})
    return report


def _check_body(body: str) -> None:
    if len(body) > MAX_BODY:
        raise RuleViolation({"body": f"最多 {MAX_BODY} 个字"})


def save_draft(
    member: Member, actor: User, quarter: str, body: str, version: int, editor: str
) -> ThoughtReport:
    """Keep what was typed so far. Conflict when another page saved since `version`."""
    _check_body(body)
    report = _report_for_writing(member, quarter)
    if version != report.version and editor != report.draft_editor:
        raise Conflict({"body": report.body}, report.version)
    if body == report.body:
        return report
    new_session = editor != report.draft_editor
    report.body = body
    report.version += 1
    report.draft_editor = editor
    report.saved_at = utcnow()
    db.session.flush()
    if new_session:
        # One audit row per editing page, not per autosave (every few seconds): the
        # text itself is never logged, and the submit records the final version.
        audit.record(
            "thought.draft", report,
            after={"quarter": quarter, "version": report.version, "chars": len(body)},
        )  # fmt: skip
    return report


def submit(
    member: Member, actor: User, quarter: str, body: str, version: int, editor: str,
    request_id: str | None,
) -> ThoughtReport:  # fmt: skip
    """Hand the report in (or in again, after a return): the text as it stands now."""
    data = {"quarter": quarter, "body": body}
    report = own_report(member.id, quarter)
    if report is not None and (
        earlier := replayed(ThoughtEvent, request_id, data, report_id=report.id)
    ):
        return db.session.get(ThoughtReport, earlier.report_id)
    report = save_draft(member, actor, quarter, body, version, editor)
    photo_count = len(photos_of(report))
    if len(body) < MIN_BODY and not photo_count:
        raise RuleViolation(
            {"body": f"请写下汇报内容（至少 {MIN_BODY} 个字），或拍照上传手写的汇报"}
        )
    now = utcnow()
    if report.first_submitted_at is None:
        report.first_submitted_at = now
        report.on_time = now.astimezone(SHANGHAI).date() <= report.due_on
    before = {"status": report.status}
    report.status = SUBMITTED
    report.submitted_at = now
    event = ThoughtEvent(
        report_id=report.id, action=SUBMIT, actor_id=actor.id, **keyed(request_id, data)
    )
    db.session.add(event)
    db.session.flush()
    audit.record(
        "thought.submit", report, before=before,
        after={"quarter": quarter, "version": report.version, "chars": len(body),
               "photos": photo_count, "on_time": report.on_time},
    )  # fmt: skip
    return report


# --- photos of a handwritten report -------------------------------------------------------


def photo_folder() -> Path:
    """Outside static/: photos are served by a view that checks scope first."""
    folder = Path(current_app.config["UPLOAD_FOLDER"]) / "thoughts"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def photo_path(token: str, thumb: bool = False) -> Path:
    return photo_folder() / f"{token}{'-t' if thumb else ''}.jpg"


def add_photos(
    member: Member, actor: User, quarter: str, processed: list[photo_files.ProcessedPhoto]
) -> ThoughtReport:
    """Photos of handwritten pages, already checked and re-encoded without EXIF."""
    write_now()  # the photos were re-encoded without the lock: from here on it writes
    report = _report_for_writing(member, quarter)
    if not processed:
        raise RuleViolation({"photos": "请选择照片"})
    if len(photos_of(report)) + len(processed) > MAX_PHOTOS:
        raise RuleViolation({"photos": f"每份汇报最多 {MAX_PHOTOS} 张照片"})
    stored = []
    for photo in processed:
        row = ThoughtPhoto(
            report_id=report.id, token=photo_files.new_token(), width=photo.width,
            height=photo.height, size_bytes=len(photo.full), uploaded_by_id=actor.id,
        )  # fmt: skip
        db.session.add(row)
        stored.append((row, photo))
    db.session.flush()
    # Files last: a failure before here leaves no file, never a row without its file.
    for row, photo in stored:
        write_new(photo_path(row.token), photo.full)
        write_new(photo_path(row.token, thumb=True), photo.thumb)
    audit.record(
        "thought.photo_add", report,
        after={"quarter": quarter, "photos": [row.id for row, _ in stored]},
    )  # fmt: skip
    return report


def remove_photo(member: Member, actor: User, quarter: str, photo_id: int) -> ThoughtReport:
    report = _report_for_writing(member, quarter)
    photo = db.session.scalar(
        select(ThoughtPhoto).where(
            ThoughtPhoto.id == photo_id,
            ThoughtPhoto.report_id == report.id,
            ThoughtPhoto.removed_at.is_(None),
        )
    )
    if photo is None:
        raise RuleViolation({"photos": "没有这张照片"})
    photo.removed_at = utcnow()
    db.session.flush()
    audit.record("thought.photo_remove", report, after={"photo": photo.id})
    return report


def photo_in_scope(user: User, photo_id: int) -> tuple[ThoughtPhoto, int] | None:
    """A photo of a report the user may read, with the member the report is about."""
    return db.session.execute(
        select(ThoughtPhoto, ThoughtReport.member_id)
        .join(ThoughtReport, ThoughtReport.id == ThoughtPhoto.report_id)
        .where(ThoughtPhoto.id == photo_id, ThoughtPhoto.removed_at.is_(None), condition(user))
    ).first()


# --- review -----------------------------------------------------------------------------


def _event(report, action, actor, comment, request_id, data):
    event = ThoughtEvent(
        report_id=report.id, action=action, comment=comment, actor_id=actor.id,
        **keyed(request_id, data),
    )  # fmt: skip
    db.session.add(event)
    db.session.flush()
    return event


def review(
    report: ThoughtReport, actor: User, decision: str, comment: str, request_id: str | None
) -> ThoughtReport:
    """Accept the report, or return it with a reason; the member sees the comment."""
    data = {"decision": decision, "comment": comment}
    if replayed(ThoughtEvent, request_id, data, report_id=report.id) is not None:
        return report
    if not may_review(actor):
        raise RuleViolation({"decision": "您不负责审阅思想汇报"})
    if report.status != SUBMITTED:
        raise RuleViolation({"decision": "这份汇报不在待审阅状态"})
    if decision not in (ACCEPT, RETURN):
        raise RuleViolation({"decision": "请选择通过或退回"})
    if decision == RETURN and not comment:
        raise RuleViolation({"comment": "退回时请写明原因，党员会看到"})
    if len(comment) > MAX_COMMENT:
        raise RuleViolation({"comment": f"最多 {MAX_COMMENT} 个字"})
    before = {"status": report.status}
    report.status = ACCEPTED if decision == ACCEPT else RETURNED
    report.review_comment = comment
    report.reviewed_at = utcnow()
    report.reviewed_by_id = actor.id
    event = _event(report, decision, actor, comment, request_id, data)
    points = None
    if decision == ACCEPT and report.on_time:
        # One award per acceptance (its event), so a withdrawn and renewed acceptance
        # earns again only after the first was reversed.
        done_on = report.first_submitted_at.astimezone(SHANGHAI).date()
        entry = awards.auto_award(AUTO_SOURCE, event.id, report.member, done_on, actor)
        points = entry.points if entry else None
    audit.record(
        f"thought.{decision}", report, before=before,
        after={"status": report.status, "comment": bool(comment), "points": points},
    )  # fmt: skip
    return report


def withdraw(
    report: ThoughtReport, actor: User, reason: str, request_id: str | None
) -> ThoughtReport:
    """Take back an acceptance (made by mistake): the report waits for review again and
    the points its acceptance earned are reversed."""
    data = {"withdraw": reason}
    if replayed(ThoughtEvent, request_id, data, report_id=report.id) is not None:
        return report
    if not may_review(actor):
        raise RuleViolation({"reason": "您不负责审阅思想汇报"})
    if report.status != ACCEPTED:
        raise RuleViolation({"reason": "只有已通过的汇报可以撤销通过"})
    if not reason:
        raise RuleViolation({"reason": "请写明撤销的原因"})
    accepted = db.session.scalar(
        select(ThoughtEvent.id)
        .where(ThoughtEvent.report_id == report.id, ThoughtEvent.action == ACCEPT)
        .order_by(ThoughtEvent.id.desc())
        .limit(1)
    )
    report.status = SUBMITTED
    report.review_comment = reason
    report.reviewed_at = utcnow()
    report.reviewed_by_id = actor.id
    _event(report, WITHDRAW, actor, reason, request_id, data)
    if accepted is not None:
        awards.reverse_source(AUTO_SOURCE, accepted, actor, f"撤销思想汇报通过：{reason}")
    audit.record(
        "thought.withdraw", report, before={"status": ACCEPTED}, after={"status": SUBMITTED}
    )
    return report


# --- lists ------------------------------------------------------------------------------


def _village():
    return OrgUnit.__table__.alias("village")


def review_list(user: User, *, status: str, quarter: str | None, page: int) -> Page:
    """Reports in the user's reading scope: waiting first (oldest hand-in first)."""
    village = _village()
    stmt = (
        select(
            ThoughtReport.id,
            ThoughtReport.quarter,
            ThoughtReport.status,
            ThoughtReport.submitted_at,
            ThoughtReport.on_time,
            Member.name.label("member_name"),
            village.c.name.label("village_name"),
        )  # fmt: skip
        .join(Member, Member.id == ThoughtReport.member_id)
        .join(village, village.c.id == ThoughtReport.village_id)
        .where(condition(user))
    )
    if status in (SUBMITTED, RETURNED, ACCEPTED):
        stmt = stmt.where(ThoughtReport.status == status)
    if quarter:
        stmt = stmt.where(ThoughtReport.quarter == quarter)
    stmt = stmt.order_by(ThoughtReport.submitted_at, ThoughtReport.id)
    return fetch_page(stmt, page)


def _not_handed_in(quarter: str):
    """Member left-joined to their report of the quarter, and the condition 'not in'."""
    report = ThoughtReport.__table__.alias("report")
    on = and_(report.c.member_id == Member.id, report.c.quarter == quarter)
    missing = or_(report.c.id.is_(None), report.c.status == DRAFT)
    return report, on, missing


def missing(user: User, *, quarter: str, village_id: int | None, page: int) -> Page:
    """Active members in scope who have not handed in the quarter's report (a draft
    does not count), by village and name."""
    report, on, not_in = _not_handed_in(quarter)
    village = _village()
    stmt = (
        select(
            Member.id,
            Member.name,
            village.c.name.label("village_name"),
            (report.c.id.is_not(None)).label("has_draft"),
        )  # fmt: skip
        .join(village, village.c.id == Member.village_id)
        .outerjoin(report, on)
        .where(member_condition(user), Member.status == ACTIVE, not_in)
        .order_by(Member.village_id, Member.name, Member.id)
    )
    if village_id:
        stmt = stmt.where(Member.village_id == village_id)
    return fetch_page(stmt, page)


@dataclass(frozen=True)
class SummaryRow:
    unit_id: int
    name: str
    members: int
    handed_in: int
    accepted: int

    @property
    def missing(self) -> int:
        return self.members - self.handed_in


def summary(user: User, quarter: str) -> list[SummaryRow]:
    """Per village (per township for the county): members, handed in, accepted. One query."""
    report, on, _ = _not_handed_in(quarter)
    key = Member.township_id if user.role == COUNTY_ADMIN else Member.village_id
    stmt = (
        select(
            OrgUnit.id,
            OrgUnit.name,
            func.count(Member.id),
            func.count(case((report.c.status.in_(HANDED_IN), 1))),
            func.count(case((report.c.status == ACCEPTED, 1))),
        )  # fmt: skip
        .select_from(Member)
        .join(OrgUnit, OrgUnit.id == key)
        .outerjoin(report, on)
        .where(member_condition(user), Member.status == ACTIVE)
        .group_by(OrgUnit.id, OrgUnit.name)
        .order_by(OrgUnit.id)
    )
    return [SummaryRow(*row) for row in db.session.execute(stmt)]


# --- home pages -------------------------------------------------------------------------


@dataclass(frozen=True)
class ThoughtTodo:
    waiting: int  # handed in, waiting for this reviewer
    overdue: int  # members in scope who missed the last closed quarter's deadline
    overdue_quarter: str


def todo_for(user: User, today: date | None = None) -> ThoughtTodo:
    """A reviewer's (and the registry's) to-do: reports waiting, members overdue. Two queries."""
    today = today or local_today()
    closed = closed_quarter(today)
    waiting = 0
    if may_review(user) or user.role == COUNTY_ADMIN:
        waiting = db.session.scalar(
            select(func.count())
            .select_from(ThoughtReport)
            .where(condition(user), ThoughtReport.status == SUBMITTED)
        )
    overdue = 0
    if may_list(user):
        report, on, not_in = _not_handed_in(closed)
        overdue = db.session.scalar(
            select(func.count(Member.id))
            .select_from(Member)
            .outerjoin(report, on)
            .where(member_condition(user), Member.status == ACTIVE, not_in)
        )
    return ThoughtTodo(waiting=waiting, overdue=overdue, overdue_quarter=closed)


def _member_item(report: ThoughtReport | None, quarter: str, today: date) -> HomeItem | None:
    label = f"{quarter_label(quarter)}思想汇报"
    url = url_for("thoughts.write", quarter=quarter)
    if report is not None and report.status == ACCEPTED:
        return None
    if report is not None and report.status == SUBMITTED:
        return HomeItem("thought", label, url, note="待审阅")
    if report is not None and report.status == RETURNED:
        return HomeItem("thought", label, url, note=f"已退回：{report.review_comment}")
    due = report.due_on if report is not None else deadline(quarter)
    note = "已逾期，请尽快提交" if today > due else f"待提交，{due.month}月{due.day}日前"
    return HomeItem("thought", label, url, due_on=due, overdue=today > due, note=note)


def for_home(user: User) -> list[HomeItem]:
    """What the home page lists: a member's report due (待提交 / 已退回 / 待审阅); a
    reviewer's reports waiting and the members overdue. A constant number of queries."""
    today = local_today()
    if user.role == MEMBER:
        if not user.member_id:
            return []
        previous, current = open_quarters(today)
        reports = {
            r.quarter: r
            for r in db.session.scalars(
                select(ThoughtReport).where(
                    ThoughtReport.member_id == user.member_id,
                    ThoughtReport.quarter.in_((previous, current)),
                )
            )
        }
        # Last quarter's first while it waits on the member (in red once overdue) or
        # on the reviewer; then this quarter's.
        items = (_member_item(reports.get(q), q, today) for q in (previous, current))
        return [item for item in items if item is not None]
    if not may_list(user) and user.role != COUNTY_ADMIN:
        return []
    todo = todo_for(user, today)
    items = []
    if todo.waiting:
        items.append(
            HomeItem("thought", f"思想汇报待审阅 {todo.waiting} 份", url_for("thoughts.index"))
        )
    if todo.overdue:
        items.append(
            HomeItem(
                "thought",
                f"{quarter_label(todo.overdue_quarter)}思想汇报逾期未交 {todo.overdue} 人",
                url_for("thoughts.missing_list", quarter=todo.overdue_quarter),
                overdue=True,
            )
        )
    return items
