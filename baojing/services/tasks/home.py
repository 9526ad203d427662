"""What monthly tasks put on a home page: a member's tasks, a secretary's or officer's to-do."""

from datetime import date

from flask import url_for
from sqlalchemy import func, select

from baojing.dates import local_today
from baojing.extensions import db
from baojing.models.members import ACTIVE, Member
from baojing.models.tasks import DONE, Task, TaskCompletion
from baojing.models.users import MEMBER, TOWNSHIP_OFFICER, VILLAGE_SECRETARY, User
from baojing.scoping import member_condition
from baojing.services.home import HomeItem
from baojing.services.tasks.grid import member_tasks
from baojing.services.tasks.setting import month_label, month_of

NOTES = {
    "done": "已完成",
    "late": "已完成（逾期）",
    "rejected": "被退回，请重新完成",
    "overdue": "已逾期，请尽快完成",
    "open": "待完成",
}


def for_home(user: User, today: date | None = None) -> list[HomeItem]:
    """A member's tasks (red when overdue); for a secretary or officer, their to-do."""
    today = today or local_today()
    if user.role == MEMBER and user.member_id:
        member = db.session.get(Member, user.member_id)
        return [
            HomeItem(
                kind="task",
                title=item.task.title,
                url=url_for("tasks.show", task_id=item.task.id),
                due_on=item.task.due_on,
                overdue=item.state in ("overdue", "rejected") and item.task.due_on < today,
                note=NOTES[item.state],
            )  # fmt: skip
            for item in member_tasks(member, today)
        ]
    return todo_for(user, today)


def todo_for(user: User, today: date | None = None) -> list[HomeItem]:
    """For a village secretary or township officer: how many members in their scope have
    not done all of the month's tasks (red once a task is past due); for an officer with
    nothing set for the month, a reminder to set it. Four statements at most."""
    if user.role not in (VILLAGE_SECRETARY, TOWNSHIP_OFFICER) or not user.township_id:
        return []
    today = today or local_today()
    month = month_of(today)
    tasks = db.session.execute(
        select(Task.id, Task.due_on).where(
            Task.township_id == user.township_id, Task.month == month
        )
    ).all()
    if not tasks:
        if user.role != TOWNSHIP_OFFICER:
            return []
        return [
            HomeItem(
                kind="task",
                title=f"{month_label(month)}的党建任务还没有布置",
                url=url_for("tasks.new"),
                note="可从模板生成，或逐项添加",
            )  # fmt: skip
        ]
    members = db.session.scalar(
        select(func.count())
        .select_from(Member)
        .where(member_condition(user), Member.status == ACTIVE)
    )
    finished = (
        select(TaskCompletion.member_id)
        .where(
            member_condition(user, TaskCompletion),
            TaskCompletion.task_id.in_([t.id for t in tasks]),
            TaskCompletion.status == DONE,
        )
        .group_by(TaskCompletion.member_id)
        .having(func.count() == len(tasks))
        .subquery()
    )
    all_done = db.session.scalar(select(func.count()).select_from(finished))
    behind = max(0, members - all_done)
    if not behind:
        return []
    past_due = [t.due_on for t in tasks if t.due_on < today]
    upcoming = [t.due_on for t in tasks if t.due_on >= today]
    return [
        HomeItem(
            kind="task",
            title=f"{month_label(month)}任务：{behind} 名党员未全部完成",
            url=url_for("tasks.index", month=month, state="behind"),
            due_on=min(upcoming) if upcoming else max(past_due),
            overdue=bool(past_due),
            note=f"共 {len(tasks)} 项，{all_done}/{members} 人已全部完成",
        )  # fmt: skip
    ]
