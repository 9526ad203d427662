"""The township sets its month's tasks: by hand, or from templates that roll each month."""

import calendar
import re
from datetime import date, timedelta

from sqlalchemy import select

from baojing import audit
from baojing.db import upsert_insert
from baojing.extensions import db
from baojing.models.org import TOWNSHIP, OrgUnit
from baojing.models.points import PointRule
from baojing.models.tasks import COMPLETION_KINDS, Task, TaskTemplate
from baojing.models.types import utcnow
from baojing.models.users import User
from baojing.services import RuleViolation
from baojing.services.idempotency import keyed, logged_key, replayed, replayed_in_log

# Tasks are set for this month or ahead, never for a month long past.
AHEAD_DAYS = 366
MONTH_RE = re.compile(r"^(\d{4})-(\d{2})$")


# --- months as 2026-12 ------------------------------------------------------------------


def month_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def parse_month(text: str | None) -> str | None:
    """A month from a query string (2026-12), or None when it is not one."""
    found = MONTH_RE.match(text or "")
    if not found or not 1 <= int(found.group(2)) <= 12 or int(found.group(1)) < 2000:
        return None
    return text


def shift_month(month: str, by: int) -> str:
    year, mon = (int(x) for x in month.split("-"))
    total = year * 12 + mon - 1 + by
    return f"{total // 12:04d}-{total % 12 + 1:02d}"


def month_label(month: str) -> str:
    year, mon = month.split("-")
    return f"{year}年{int(mon)}月"


def due_in(month: str, due_day: int) -> date:
    """The template's due day in that month; the 31st in a short month is its last day."""
    year, mon = (int(x) for x in month.split("-"))
    return date(year, mon, min(due_day, calendar.monthrange(year, mon)[1]))


# --- rules a task may name ---------------------------------------------------------------


def rule_choices() -> list[tuple[int, str]]:
    """Earning rules a task may apply on completion: active, not a deduction, and not
    kept for another kind of record (流动登记 belongs to the registration visit)."""
    rows = db.session.execute(
        select(PointRule.id, PointRule.name, PointRule.points)
        .where(
            PointRule.active.is_(True),
            PointRule.is_deduction.is_(False),
            (PointRule.auto_source.is_(None)) | (PointRule.auto_source == "task_completion"),
        )
        .order_by(PointRule.id)
    )
    return [(rid, f"{name}（+{points} 分）") for rid, name, points in rows]


def _check(data: dict, errors: dict) -> None:
    if data["completion"] not in COMPLETION_KINDS:
        errors["completion"] = "请选择完成方式"
    rule_id = data.get("point_rule_id")
    if rule_id is not None and rule_id not in {rid for rid, _ in rule_choices()}:
        errors["point_rule_id"] = "这项积分规则不能用于任务"


# --- tasks set by hand -------------------------------------------------------------------


def create_task(
    actor: User, township: OrgUnit, data: dict, today: date, request_id: str | None = None
) -> Task:
    """A task for the township's members, in the month of its due date.

    data: title, description, completion, due_on, point_rule_id (None: the default rule).
    """
    if (earlier := replayed(Task, request_id, data, township_id=township.id)) is not None:
        return earlier
    errors = {}
    _check(data, errors)
    if data["due_on"] < today.replace(day=1):
        errors["due_on"] = "截止日期不能早于本月"
    elif data["due_on"] > today + timedelta(days=AHEAD_DAYS):
        errors["due_on"] = "最多提前一年布置任务"
    if errors:
        raise RuleViolation(errors)
    task = Task(
        township_id=township.id, month=month_of(data["due_on"]), title=data["title"],
        description=data["description"], completion=data["completion"], due_on=data["due_on"],
        point_rule_id=data.get("point_rule_id"), created_by_id=actor.id,
        **keyed(request_id, data),
    )  # fmt: skip
    db.session.add(task)
    db.session.flush()
    audit.record("tasks.create", task, after=_task_facts(task))
    return task


def _task_facts(task: Task) -> dict:
    return {
        "township_id": task.township_id, "month": task.month, "title": task.title,
        "completion": task.completion, "due_on": task.due_on.isoformat(),
        "point_rule_id": task.point_rule_id, "template_id": task.template_id,
    }  # fmt: skip


def month_tasks(township_id: int, month: str) -> list[Task]:
    """A township's tasks of one month, by due date."""
    return list(
        db.session.scalars(
            select(Task)
            .where(Task.township_id == township_id, Task.month == month)
            .order_by(Task.due_on, Task.id)
        )
    )


# --- templates and the monthly roll ------------------------------------------------------


def templates_of(township_id: int) -> list[TaskTemplate]:
    return list(
        db.session.scalars(
            select(TaskTemplate)
            .where(TaskTemplate.township_id == township_id)
            .order_by(TaskTemplate.active.desc(), TaskTemplate.due_day, TaskTemplate.id)
        )
    )


def create_template(
    actor: User, township: OrgUnit, data: dict, request_id: str | None = None
) -> TaskTemplate:
    """A task that comes back every month; data as create_task's, with due_day for due_on."""
    if (
        earlier := replayed_in_log("tasks.template_create", township, request_id, data)
    ) is not None:
        return db.session.get(TaskTemplate, earlier["template_id"])
    errors = {}
    _check(data, errors)
    if not 1 <= (data.get("due_day") or 0) <= 31:
        errors["due_day"] = "请填写 1 到 31 之间的日子"
    if errors:
        raise RuleViolation(errors)
    template = TaskTemplate(
        township_id=township.id, title=data["title"], description=data["description"],
        completion=data["completion"], due_day=data["due_day"],
        point_rule_id=data.get("point_rule_id"), created_by_id=actor.id,
    )  # fmt: skip
    db.session.add(template)
    db.session.flush()
    # Logged about the township: the replay of this form is looked up there.
    audit.record(
        "tasks.template_create", township,
        after={"template_id": template.id, "title": template.title, "due_day": template.due_day,
               **logged_key(request_id, data)},
    )  # fmt: skip
    return template


def end_template(template: TaskTemplate) -> None:
    """Stop a template rolling; the tasks it made stay."""
    if not template.active:
        return
    template.active = False
    db.session.flush()
    audit.record("tasks.template_end", template, before={"active": True}, after={"active": False})


def roll(month: str, township_id: int | None = None) -> list[Task]:
    """The month's tasks from every active template (of one township, or all): a template
    already rolled for the month is skipped, so running it again creates nothing."""
    stmt = (
        select(TaskTemplate)
        .join(OrgUnit, OrgUnit.id == TaskTemplate.township_id)
        .where(TaskTemplate.active.is_(True), OrgUnit.kind == TOWNSHIP, OrgUnit.closed_at.is_(None))
        .order_by(TaskTemplate.township_id, TaskTemplate.id)
    )
    if township_id is not None:
        stmt = stmt.where(TaskTemplate.township_id == township_id)
    created = []
    for template in db.session.scalars(stmt).all():
        values = {
            "township_id": template.township_id, "month": month, "title": template.title,
            "description": template.description, "completion": template.completion,
            "due_on": due_in(month, template.due_day), "point_rule_id": template.point_rule_id,
            "template_id": template.id, "created_at": utcnow(),
        }  # fmt: skip
        # The unique key (template, month) decides, also between two rolls at once.
        new_id = db.session.scalar(
            upsert_insert(Task.__table__)
            .values(values)
            .on_conflict_do_nothing(index_elements=["template_id", "month"])
            .returning(Task.__table__.c.id)
        )
        if new_id is not None:
            task = db.session.get(Task, new_id)
            created.append(task)
            audit.record("tasks.roll", task, after=_task_facts(task))
    return created
