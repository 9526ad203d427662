"""Demo data for monthly tasks: four templates per township, rolled for the last three
months, and members' completions (most of last months', some of this month's).

Completions are written in bulk: 20,000 members give about 150,000 rows. They earn no
points here: the demo ledger (demo/points.py) already holds a year of 红星云学习 and
定期汇报 entries of its own.
"""

import random
from datetime import date, timedelta

from sqlalchemy import insert, select

from baojing.models.members import Member
from baojing.models.org import TOWNSHIP, OrgUnit
from baojing.models.points import PointRule
from baojing.models.tasks import NOTE, PHOTO, TICK, Task, TaskCompletion, TaskTemplate
from baojing.models.types import utcnow
from baojing.services.tasks.setting import month_of, roll, shift_month

# title, description, completion, due day, rule name
TEMPLATES = (
    ("主题党日", "参加本月主题党日（线上或到所在地流动党组织），上传一张现场或视频截图。",
     PHOTO, 10, "参加组织生活"),
    ("缴纳党费", "按月缴纳党费；由家人或其他党员代缴的，也请在这里确认。", TICK, 15, None),
    ("红星云学习", "在红星云上完成本月学习任务，写一句学了什么。", NOTE, 25, "红星云学习"),
    ("月度工作汇报", "简要汇报本月工作、生活和思想情况，有困难也可以在这里说。", NOTE, 28,
     "按时定期汇报"),
)  # fmt: skip
NOTES = ("已完成", "已按要求完成", "已学习本月内容", "工作正常，一切都好", "已参加")
MONTHS_BACK = 2  # and this month


def load(session, rng: random.Random, today: date, users: dict) -> dict:
    rules = dict(session.execute(select(PointRule.name, PointRule.id)).all())
    townships = session.scalars(select(OrgUnit.id).where(OrgUnit.kind == TOWNSHIP)).all()
    officer_id = users["township"].id
    for township_id in townships:
        for title, description, completion, due_day, rule in TEMPLATES:
            session.add(
                TaskTemplate(
                    township_id=township_id,
                    title=title,
                    description=description,
                    completion=completion,
                    due_day=due_day,
                    point_rule_id=rules.get(rule),
                    created_by_id=officer_id,
                )  # fmt: skip
            )
    session.flush()
    this = month_of(today)
    tasks = []
    for back in range(MONTHS_BACK, -1, -1):
        tasks += roll(shift_month(this, -back))
    by_township: dict[int, list[Task]] = {}
    for task in tasks:
        by_township.setdefault(task.township_id, []).append(task)
    # 向光明 (the `member` account) has this month's tasks still to do.
    skip = users["member"].member_id
    rows, now = [], utcnow()
    members = session.execute(select(Member.id, Member.village_id, Member.township_id)).all()
    for member_id, village_id, township_id in members:
        diligence = rng.random()
        for task in by_township.get(township_id, ()):
            current = task.month == this
            if current and member_id == skip:
                continue
            chance = (0.35 if task.due_on >= today else 0.6) if current else 0.9
            if rng.random() >= chance * (0.4 + diligence * 0.7):
                continue
            late_days = rng.choice((0, 0, 0, 0, 1, 3, 6)) if not current else 0
            earliest = date(task.due_on.year, task.due_on.month, 1)
            done_on = min(today, task.due_on + timedelta(days=late_days))
            if not late_days:
                span = max(0, (min(today, task.due_on) - earliest).days)
                done_on = earliest + timedelta(days=rng.randint(0, span))
            rows.append({
                "task_id": task.id, "member_id": member_id, "village_id": village_id,
                "township_id": township_id, "status": "done", "done_on": done_on,
                "late": done_on > task.due_on,
                "note": rng.choice(NOTES) if task.completion == NOTE else "",
                "created_at": now, "reject_reason": "",
            })  # fmt: skip
    if rows:
        session.execute(insert(TaskCompletion), rows)
    return {"tasks": len(tasks), "task_completions": len(rows)}
