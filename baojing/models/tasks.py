"""Monthly tasks (按月党建工作任务) of a township's online branch, and members' completions.

A task belongs to a township (its 网络党支部) and a month; the township officer sets it,
by hand or from a template that `flask tasks roll` turns into each month's task. A
completion copies its member's village and township, so that a grid of a village's
members is one indexed range. A rejected completion stays as history; the member
completes the task again with a new row (one standing completion per task and member).
"""

from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from baojing.extensions import db
from baojing.models.types import Idempotent, UTCDateTime, utcnow

# How a member completes a task.
TICK, NOTE, PHOTO, FILE = "tick", "note", "photo", "file"
COMPLETION_KINDS = {TICK: "打勾确认", NOTE: "写一句说明", PHOTO: "上传照片", FILE: "上传文件"}

DONE, REJECTED = "done", "rejected"
COMPLETION_STATUSES = {DONE: "已完成", REJECTED: "已退回"}

# What a grid cell says about a member and a task.
CELL_LABELS = {
    "done": "已完成",
    "late": "逾期完成",
    "rejected": "已退回",
    "overdue": "逾期未完成",
    "open": "未完成",
}


class TaskTemplate(db.Model):
    """A task that comes back every month (主题党日, 缴纳党费 …), for one township."""

    __tablename__ = "task_templates"
    __table_args__ = (Index("ix_task_templates_township", "township_id", "active"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    township_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    title: Mapped[str] = mapped_column(String(60))
    description: Mapped[str] = mapped_column(String(500), default="")
    completion: Mapped[str] = mapped_column(String(10))
    # The day of the month it is due; past the month's last day, its last day.
    due_day: Mapped[int]
    point_rule_id: Mapped[int | None] = mapped_column(ForeignKey("point_rules.id"))
    active: Mapped[bool] = mapped_column(default=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    point_rule = relationship("PointRule")


class Task(Idempotent, db.Model):
    """One month's task of a township's online branch."""

    __tablename__ = "tasks"
    __table_args__ = (
        # A template makes its month's task once, however often the roll runs.
        UniqueConstraint("template_id", "month", name="uq_tasks_template_month"),
        Index("ix_tasks_township_month", "township_id", "month", "due_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    township_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    # The month it belongs to, as 2026-12.
    month: Mapped[str] = mapped_column(String(7))
    title: Mapped[str] = mapped_column(String(60))
    description: Mapped[str] = mapped_column(String(500), default="")
    completion: Mapped[str] = mapped_column(String(10))
    due_on: Mapped[date]
    # The earning rule a completion applies; NULL: the rule marked for task completions
    # (AUTO_SOURCES "task_completion"), if the county has one.
    point_rule_id: Mapped[int | None] = mapped_column(ForeignKey("point_rules.id"))
    template_id: Mapped[int | None] = mapped_column(ForeignKey("task_templates.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    point_rule = relationship("PointRule")
    township = relationship("OrgUnit")


class TaskCompletion(Idempotent, db.Model):
    """A member's completion of a task: a tick, a note, a photo or a file."""

    __tablename__ = "task_completions"
    __table_args__ = (
        # One standing completion per task and member; rejected ones stay as history.
        Index(
            "uq_task_completions_done", "task_id", "member_id", unique=True,
            sqlite_where=text("status = 'done'"), postgresql_where=text("status = 'done'"),
        ),
        Index("ix_task_completions_member", "member_id", "task_id"),
        Index("ix_task_completions_village", "village_id", "task_id", "status"),
        Index("ix_task_completions_township", "township_id", "task_id", "status"),
    )  # fmt: skip

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    village_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    township_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    status: Mapped[str] = mapped_column(String(10), default=DONE)
    done_on: Mapped[date]
    # Done after the due date: still done, shown as 逾期完成.
    late: Mapped[bool] = mapped_column(default=False)
    note: Mapped[str] = mapped_column(String(300), default="")
    # The photo or file on disk, by a random name (services/tasks/files.py).
    file_token: Mapped[str | None] = mapped_column(String(32), unique=True)
    file_type: Mapped[str | None] = mapped_column(String(8))  # "jpg" or "pdf"
    file_size: Mapped[int | None]
    # The member's own account; NULL for rows loaded in bulk (demo data).
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    rejected_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    rejected_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reject_reason: Mapped[str] = mapped_column(String(100), default="")

    task = relationship("Task")
    member = relationship("Member")
