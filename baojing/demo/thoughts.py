"""Demo data for thought reports: the last three quarters and the current one.

About three in four members hand in each closed quarter's report, most on time and
accepted by the township; a few are returned or still waiting. This quarter some are
drafts, some handed in. The `member` account (向光明) has last quarter's accepted and
this quarter's still to write, so its home page and the browser test start from there.
Written in bulk with ids of their own: 20,000 members give about 55,000 reports.
"""

import random
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import insert, select, update

from baojing.dates import SHANGHAI, quarter_of
from baojing.db import ids_given
from baojing.models.members import ACTIVE, Member
from baojing.models.points import PointRule
from baojing.models.thoughts import (
    ACCEPT,
    ACCEPTED,
    DRAFT,
    RETURN,
    RETURNED,
    SUBMIT,
    SUBMITTED,
    ThoughtEvent,
    ThoughtReport,
)
from baojing.services.thoughts import AUTO_SOURCE, previous_quarter, quarter_end

GRACE_DAYS = 15  # the setting's default
OPENINGS = (
    "本季度我在务工地坚持参加流动党支部的学习，",
    "这一季度工地上任务重，但我没有放松学习，",
    "本季度我通过红星云平台学习了党的理论，",
    "这段时间我在厂里当班组长，",
)
MIDDLES = (
    "认真学习了党章和习近平新时代中国特色社会主义思想，按时交纳了党费。",
    "带头遵守安全生产规定，帮助新来的工友熟悉岗位。",
    "参加了驻地党支部的主题党日活动，和老乡们交流家乡的发展变化。",
    "利用休息时间为村里的留守老人联系了体检，尽自己的一份力。",
)
CLOSINGS = (
    "今后我要继续发挥党员先锋模范作用，不忘自己是一名保靖的党员。",
    "下一季度我打算多关心家乡建设，有机会回村参加组织生活。",
    "存在的不足是学习不够系统，今后要多抽时间认真读书。",
)
RETURN_REASONS = ("内容过于简单，请结合本季度的工作和学习具体写一写", "照片看不清，请重新拍照上传")


def _body(rng: random.Random) -> str:
    return rng.choice(OPENINGS) + rng.choice(MIDDLES) + rng.choice(CLOSINGS)


def _at(day: date, rng: random.Random) -> datetime:
    local = datetime.combine(day, time(rng.randint(8, 22), rng.randint(0, 59)), SHANGHAI)
    return local.astimezone(UTC)


def load(session, rng: random.Random, today: date, users: dict) -> dict:
    rule = session.scalar(select(PointRule).where(PointRule.name == "按时定期汇报"))
    taken = session.scalar(select(PointRule.id).where(PointRule.auto_source == AUTO_SOURCE))
    if rule is not None and rule.auto_source is None and taken is None:
        session.execute(
            update(PointRule).where(PointRule.id == rule.id).values(auto_source=AUTO_SOURCE)
        )
    members = session.execute(
        select(Member.id, Member.village_id, Member.township_id)
        .where(Member.status == ACTIVE)
        .order_by(Member.id)
    ).all()
    own_member = users["member"].member_id
    reviewer = users["township"].id
    current = quarter_of(today)
    quarters = [current]
    for _ in range(3):
        quarters.append(previous_quarter(quarters[-1]))
    report_id = session.scalar(select(ThoughtReport.id).order_by(ThoughtReport.id.desc())) or 0
    reports, events = [], []
    for member in members:
        for quarter in reversed(quarters):
            end = quarter_end(quarter)
            due = end + timedelta(days=GRACE_DAYS)
            roll = rng.random()
            if quarter == current:
                if member.id == own_member:
                    continue
                status = DRAFT if roll < 0.2 else SUBMITTED if roll < 0.4 else None
                if status is None:
                    continue
                handed = today - timedelta(days=rng.randint(0, 20))
            else:
                if member.id == own_member:
                    roll = 0.0
                if roll > 0.78:
                    continue
                status = rng.choices((ACCEPTED, RETURNED, SUBMITTED), weights=(88, 5, 7))[0]
                last_closed = quarter == quarters[1]
                if not last_closed and status == SUBMITTED:
                    status = ACCEPTED
                handed = min(today, end + timedelta(days=rng.randint(-25, GRACE_DAYS + 12)))
                if member.id == own_member:
                    status, handed = ACCEPTED, end - timedelta(days=3)
            report_id += 1
            submitted_at = _at(handed, rng) if status != DRAFT else None
            reviewed_at = (
                submitted_at + timedelta(days=rng.randint(1, 9))
                if status in (ACCEPTED, RETURNED) else None
            )  # fmt: skip
            comment = ""
            if status == RETURNED:
                comment = rng.choice(RETURN_REASONS)
            elif status == ACCEPTED and rng.random() < 0.3:
                comment = "写得实在，继续保持"
            reports.append({
                "id": report_id, "member_id": member.id, "village_id": member.village_id,
                "township_id": member.township_id, "quarter": quarter, "status": status,
                "body": _body(rng), "version": rng.randint(1, 12), "draft_editor": "",
                "saved_at": submitted_at or _at(handed, rng), "due_on": due,
                "first_submitted_at": submitted_at, "submitted_at": submitted_at,
                "on_time": bool(submitted_at) and handed <= due, "review_comment": comment,
                "reviewed_at": reviewed_at, "reviewed_by_id": reviewer if reviewed_at else None,
            })  # fmt: skip
            if member.id == own_member and submitted_at:
                events.append({"report_id": report_id, "action": SUBMIT, "comment": "",
                               "actor_id": users["member"].id, "created_at": submitted_at})  # fmt: skip
            if reviewed_at:
                events.append({
                    "report_id": report_id, "action": ACCEPT if status == ACCEPTED else RETURN,
                    "comment": comment, "actor_id": reviewer, "created_at": reviewed_at,
                })  # fmt: skip
    for start in range(0, len(reports), 5000):
        session.execute(insert(ThoughtReport), reports[start : start + 5000])
    if events:
        session.execute(insert(ThoughtEvent), events)
    ids_given(ThoughtReport.__table__)
    return {"thought_reports": len(reports)}
