"""Demo certificates: a few real ones (PDFs rendered and kept), one of them revoked.

Few on purpose: each is a real WeasyPrint render (tens of milliseconds), and the
browser tests load the demo for every test.
"""

from datetime import date, timedelta

from sqlalchemy import select

from baojing.models.members import Member
from baojing.services.certificates import issue


def load(session, today: date, users: dict) -> dict:
    township = users["township"]
    member = session.get(Member, users["member"].member_id)
    village = [
        m
        for m in session.scalars(
            select(Member)
            .where(Member.village_id == member.village_id)
            .order_by(Member.id)
            .limit(4)
        )
        if m.id != member.id
    ]
    card = issue.issue(member, township, {
        "kind": "card", "valid_until": today + timedelta(days=300), "reason": "外出务工",
        "destination": f"{member.dest_province}{member.dest_city}",
    })  # fmt: skip
    made = [card]
    for other, kind, days in zip(village, ("letter", "card", "card"), (90, 20, 200), strict=False):
        made.append(
            issue.issue(
                other,
                township,
                {
                    "kind": kind,
                    "valid_until": today + timedelta(days=days),
                    "reason": "外出务工",
                    "destination": f"{other.dest_province}{other.dest_city}",
                },
            )  # fmt: skip
        )
    if len(made) > 3:
        issue.revoke(made[-1], township, "证件遗失，已补发")
    return {"certificates": len(made)}
