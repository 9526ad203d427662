"""What a role's home page lists: each module says what is waiting for this user.

A module that has something for a person to do or read offers `for_home(user)`,
returning HomeItems; the home page (blueprints/main) shows them grouped by kind, in the
order DESIGN.md gives for a member: the month's tasks, unread announcements, the
quarter's thought report, upcoming lessons and events, points, open requests. Each
item is one tap away (its url). A module's for_home must cost a constant number of
queries, whatever the number of rows behind it.
"""

from dataclasses import dataclass
from datetime import date

# The kinds in the order a member's home page shows them, each under its heading.
KINDS = {
    "task": "本月任务", "nudge": "提醒", "announcement": "未读公告", "answer": "问题的答复",
    "thought": "思想汇报", "lesson": "学习", "event": "活动", "care": "关怀和服务",
}  # fmt: skip


@dataclass(frozen=True)
class HomeItem:
    kind: str  # one of KINDS
    title: str
    url: str
    due_on: date | None = None
    overdue: bool = False  # shown in red
    note: str = ""  # one short line under the title (已完成 3/5, 待审阅 …)
