"""The grid of members × the month's tasks (done, late, not done), and a member's own list.

A grid page costs the same few statements whatever the number of members: the month's
tasks, one page of members, the completions of exactly those members and tasks, and
the per-task counts over the scope (from the completions' scope index).
"""

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import func, select

from baojing.extensions import db
from baojing.models.members import ACTIVE, Member
from baojing.models.org import OrgUnit
from baojing.models.tasks import DONE, REJECTED, Task, TaskCompletion
from baojing.models.users import User
from baojing.scoping import member_condition, village_condition
from baojing.services.paging import Page, fetch_page
from baojing.services.tasks.setting import month_of, month_tasks, shift_month

PER_PAGE = 20


def villages_of(user: User, township_id: int) -> list:
    """(id, name) rows of the township's open villages the user may filter the grid by."""
    return db.session.execute(
        select(OrgUnit.id, OrgUnit.name)
        .where(village_condition(user), OrgUnit.township_id == township_id)
        .order_by(OrgUnit.id)
    ).all()


def cell_state(done: TaskCompletion | None, rejected: bool, task: Task, today: date) -> str:
    """What a member's cell for a task says (models.tasks.CELL_LABELS)."""
    if done is not None:
        return "late" if done.late else "done"
    if rejected:
        return "rejected"
    return "overdue" if task.due_on < today else "open"


@dataclass
class Grid:
    month: str
    tasks: list[Task]
    page: Page  # rows: id, name, village_name
    # (member_id, task_id) → (state, completion id or None)
    cells: dict = field(default_factory=dict)
    done_counts: dict = field(default_factory=dict)  # task_id → members done, in scope
    members_total: int = 0


def _members(user: User, township_id: int, village_id: int | None):
    cond = [member_condition(user), Member.township_id == township_id, Member.status == ACTIVE]
    if village_id:
        cond.append(Member.village_id == village_id)
    return cond


def grid(
    user: User, township_id: int, month: str, today: date, *, village_id: int | None = None,
    behind_only: bool = False, page: int = 1,
) -> Grid:  # fmt: skip
    """One page of the grid for the user's scope within a township (and a village);
    behind_only: only members who have not done every task of the month."""
    tasks = month_tasks(township_id, month)
    where = _members(user, township_id, village_id)
    if behind_only and tasks:
        finished = (
            select(TaskCompletion.member_id)
            .where(
                TaskCompletion.township_id == township_id,
                TaskCompletion.task_id.in_([t.id for t in tasks]),
                TaskCompletion.status == DONE,
            )
            .group_by(TaskCompletion.member_id)
            .having(func.count() == len(tasks))
        )
        where.append(Member.id.not_in(finished))
    members = fetch_page(
        select(Member.id, Member.name, OrgUnit.name.label("village_name"))
        .join(OrgUnit, OrgUnit.id == Member.village_id)
        .where(*where)
        .order_by(Member.village_id, Member.name, Member.id),
        page,
        PER_PAGE,
    )
    result = Grid(month, tasks, members)
    task_ids = [t.id for t in tasks]
    if not task_ids:
        return result
    result.members_total = db.session.scalar(select(func.count()).select_from(Member).where(*where))
    member_ids = [row.id for row in members.rows]
    done, rejected = {}, set()
    if member_ids:
        for row in db.session.scalars(
            select(TaskCompletion).where(
                TaskCompletion.task_id.in_(task_ids), TaskCompletion.member_id.in_(member_ids)
            )
        ):
            key = (row.member_id, row.task_id)
            if row.status == DONE:
                done[key] = row
            elif row.status == REJECTED:
                rejected.add(key)
    for member_id in member_ids:
        for task in tasks:
            key = (member_id, task.id)
            row = done.get(key)
            result.cells[key] = (cell_state(row, key in rejected, task, today), row and row.id)
    scope = [member_condition(user, TaskCompletion), TaskCompletion.township_id == township_id]
    if village_id:
        scope.append(TaskCompletion.village_id == village_id)
    result.done_counts = dict(
        db.session.execute(
            select(TaskCompletion.task_id, func.count())
            .where(TaskCompletion.task_id.in_(task_ids), TaskCompletion.status == DONE, *scope)
            .group_by(TaskCompletion.task_id)
        ).all()
    )
    return result


@dataclass(frozen=True)
class MyTask:
    task: Task
    state: str
    done: TaskCompletion | None
    rejected: TaskCompletion | None  # the latest sent back, when none stands


def member_tasks(member: Member, today: date) -> list[MyTask]:
    """This month's tasks of the member's township, and last month's still not done."""
    this = month_of(today)
    tasks = list(
        db.session.scalars(
            select(Task)
            .where(
                Task.township_id == member.township_id,
                Task.month.in_((shift_month(this, -1), this)),
            )
            .order_by(Task.due_on, Task.id)
        )
    )
    done, rejected = {}, {}
    if tasks:
        for row in db.session.scalars(
            select(TaskCompletion)
            .where(
                TaskCompletion.member_id == member.id,
                TaskCompletion.task_id.in_([t.id for t in tasks]),
            )
            .order_by(TaskCompletion.id)
        ):
            (done if row.status == DONE else rejected)[row.task_id] = row
    out = []
    for task in tasks:
        row = done.get(task.id)
        if task.month != this and row is not None:
            continue  # last month's, done: nothing left to do
        state = cell_state(row, task.id in rejected, task, today)
        out.append(MyTask(task, state, row, None if row else rejected.get(task.id)))
    return out
