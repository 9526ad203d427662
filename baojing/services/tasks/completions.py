"""A member completes a task (tick, note, photo or file); the township may send it back.

A completion earns the points of the rule its task names (or of the rule marked for
task completions), linked to the completion; a rejection reverses them. The member
then completes the task again, as a new completion with its own award.
"""

from datetime import date

from sqlalchemy import select

from baojing import audit
from baojing.db import write_now
from baojing.extensions import db
from baojing.files import sha256
from baojing.models.members import ACTIVE, Member
from baojing.models.points import PointEntry
from baojing.models.tasks import DONE, FILE, NOTE, PHOTO, REJECTED, Task, TaskCompletion
from baojing.models.types import utcnow
from baojing.models.users import (
    COUNTY_ADMIN,
    MEMBER,
    TOWNSHIP_OFFICER,
    VILLAGE_SECRETARY,
    User,
)
from baojing.scoping import member_condition
from baojing.services import RuleViolation
from baojing.services.idempotency import keyed, logged_key, replayed, replayed_in_log
from baojing.services.points import awards
from baojing.services.tasks import files

SOURCE = "task_completion"  # the AUTO_SOURCES key of the points a completion earns
MIN_NOTE = 2


def standing(task_id: int, member_id: int) -> TaskCompletion | None:
    """The member's completion of the task that counts (not sent back), if any."""
    return db.session.scalar(
        select(TaskCompletion).where(
            TaskCompletion.task_id == task_id,
            TaskCompletion.member_id == member_id,
            TaskCompletion.status == DONE,
        )
    )


def history(task_id: int, member_id: int) -> list[TaskCompletion]:
    """Every completion of the task by the member, the latest first (sent back ones too)."""
    return list(
        db.session.scalars(
            select(TaskCompletion)
            .where(TaskCompletion.task_id == task_id, TaskCompletion.member_id == member_id)
            .order_by(TaskCompletion.id.desc())
        )
    )


def complete(
    task: Task, member: Member, actor: User, note: str, upload: files.Upload | None,
    today: date, request_id: str | None = None,
) -> TaskCompletion:  # fmt: skip
    """Record the member's completion; the upload was checked and re-encoded by the caller
    (files.process), without the write lock. A replay of the same form saves once."""
    write_now()
    data = {"task_id": task.id, "note": note, "file": sha256(upload.data) if upload else ""}
    if (earlier := replayed(TaskCompletion, request_id, data, member_id=member.id)) is not None:
        return earlier
    errors = {}
    if member.status != ACTIVE or member.township_id != task.township_id:
        errors["task"] = "这项任务不是布置给您的"
    elif standing(task.id, member.id) is not None:
        errors["task"] = "这项任务您已经完成了"
    if task.completion == NOTE and len(note) < MIN_NOTE:
        errors["note"] = "请写一句完成情况"
    if task.completion in (PHOTO, FILE) and upload is None:
        errors[files.FIELD] = "请上传照片" if task.completion == PHOTO else "请上传文件或照片"
    if errors:
        raise RuleViolation(errors)
    row = TaskCompletion(
        task_id=task.id, member_id=member.id, village_id=member.village_id,
        township_id=member.township_id, status=DONE, done_on=today, late=today > task.due_on,
        note=note, created_by_id=actor.id, **keyed(request_id, data),
    )  # fmt: skip
    if upload is not None:
        row.file_token, row.file_type, row.file_size = (
            files.new_token(),
            upload.kind,
            len(upload.data),
        )
    db.session.add(row)
    db.session.flush()
    entry = _award(task, row, member, actor, today)
    # The file last: a failure before here leaves no file; one after leaves a file no
    # row points at (harmless), never a row without its file.
    if upload is not None:
        files.save(row.file_token, upload)
    audit.record(
        "tasks.complete", row,
        after={"task_id": task.id, "member_id": member.id, "late": row.late,
               "file": row.file_type, "points": entry.points if entry else 0},
    )  # fmt: skip
    return row


def _award(task: Task, row: TaskCompletion, member: Member, actor: User, today: date):
    if task.point_rule is not None:
        return awards.award_for_record(task.point_rule, SOURCE, row.id, member, today, actor)
    return awards.auto_award(SOURCE, row.id, member, today, actor)


def reject(
    row: TaskCompletion, actor: User, reason: str, request_id: str | None = None
) -> TaskCompletion:
    """Send a completion back with a reason: the member redoes the task; its points go."""
    data = {"completion_id": row.id, "reason": reason}
    if replayed_in_log("tasks.reject", row, request_id, data) is not None:
        return row
    if row.status != DONE:
        raise RuleViolation({"reason": "这条记录已经退回过了"})
    row.status = REJECTED
    row.rejected_at = utcnow()
    row.rejected_by_id = actor.id
    row.reject_reason = reason
    db.session.flush()
    awards.reverse_source(SOURCE, row.id, actor, f"任务完成被退回：{reason}")
    audit.record(
        "tasks.reject", row, before={"status": DONE},
        after={"status": REJECTED, "reason": reason, **logged_key(request_id, data)},
    )  # fmt: skip
    return row


def points_of(row: TaskCompletion) -> int:
    """Points the completion earned, net of their reversal."""
    entries = db.session.scalars(
        select(PointEntry.points).where(
            PointEntry.source_type == SOURCE, PointEntry.source_id == row.id
        )
    )
    return sum(entries)


def may_reject(user: User, row: TaskCompletion) -> bool:
    """The township (or the county) sends a completion back; a secretary only reads."""
    return row.status == DONE and user.role in (TOWNSHIP_OFFICER, COUNTY_ADMIN)


def file_in_scope(user: User, completion_id: int) -> TaskCompletion | None:
    """A completion with a file that the user may see: its member, or staff in scope."""
    if user.role not in (MEMBER, COUNTY_ADMIN, TOWNSHIP_OFFICER, VILLAGE_SECRETARY):
        return None
    return db.session.scalar(
        select(TaskCompletion).where(
            TaskCompletion.id == completion_id,
            TaskCompletion.file_token.is_not(None),
            member_condition(user, TaskCompletion),
        )
    )
