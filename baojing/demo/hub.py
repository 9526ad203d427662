"""Demo data for the county hub: announcements from the county, each township and each
village over the last two months, read by about half their members; questions, some
answered and in the FAQ, a few left open past the county's setting.

Written in bulk: at 20,000 members about 100,000 receipts.
"""

import random
from datetime import timedelta

from sqlalchemy import insert, select

from baojing.models.hub import (
    ANSWERED,
    OPEN,
    SCOPE_COUNTY,
    SCOPE_TOWNSHIP,
    SCOPE_VILLAGE,
    TO_COUNTY,
    TO_TOWNSHIP,
    Announcement,
    AnnouncementReceipt,
    Question,
)
from baojing.models.members import ACTIVE, Member
from baojing.models.org import TOWNSHIP, VILLAGE, OrgUnit
from baojing.models.types import utcnow

COUNTY_NEWS = (
    ("关于开展2026年春节返乡流动党员座谈会的通知",
     "各乡镇党委：\n\n春节期间，县委组织部将召开返乡流动党员座谈会，请各乡镇摸清返乡党员名单，于腊月二十前报县委组织部。"),
    ("流动党员党费交纳办法问答",
     "在外务工的党员，可以通过网上交纳，也可以在流入地党组织交纳。\n\n详见 <a href=\"https://www.12371.cn/\">共产党员网</a>。"),
    ("县委组织部关于做好流动党员信息核对的通知",
     "请各位流动党员核对本人手机号码和外出去向，如有变化请及时在“我的资料”中修改。"),
    ("“互助五兴”积分超市新增健康查体项目",
     "本季度起，积分超市新增健康查体项目，党员可凭积分预约。"),
    ("学习贯彻党的二十届四中全会精神专题党课安排",
     "县委组织部将于本月举办线上专题党课，请各网络党支部组织党员收看。"),
)  # fmt: skip
TOWNSHIP_NEWS = (
    ("{t}网络党支部本月主题党日安排", "本月主题党日活动在线上开展，请各位党员按时参加，并在月度任务中打卡。"),
    ("{t}关于报送第四季度思想汇报的提醒", "请各位流动党员在季度末前提交本季度思想汇报。"),
)  # fmt: skip
VILLAGE_NEWS = (
    ("{v}党支部：村里新修通组公路通车", "在外的党员朋友们，村里的通组公路已经通车，欢迎回家看看。"),
    ("{v}党支部：汛期帮扶安排", "汛期将至，支部已安排党员与留守家庭结对，家里有困难请联系联络员。"),
)  # fmt: skip
QUESTIONS = (
    ("question", "在外地可以参加当地党组织的组织生活吗？",
     "可以。持流动党员活动证，可以在流入地党组织参加组织生活、交纳党费。"),
    ("question", "流动党员活动证丢了怎么补办？", "请联系乡镇党委组织委员，登记后补发，原证作废。"),
    ("suggestion", "建议每季度的思想汇报可以用语音提交。", "谢谢建议，我们会研究在手机上增加语音转文字。"),
    ("message", "感谢支部春节期间去看望我父母。", "这是支部应该做的，祝您工作顺利。"),
    ("question", "在浙江交的党费，家乡支部能查到吗？", "可以，流入地党组织会定期把交纳情况转回。"),
)  # fmt: skip
QUESTIONS_PER_MEMBER = 0.01
READ_SHARE = 0.5


def load(session, today, users: dict, seed: int) -> dict:
    rng = random.Random(seed)
    now = utcnow()
    admin = users["admin"].id
    townships = session.execute(
        select(OrgUnit.id, OrgUnit.name).where(OrgUnit.kind == TOWNSHIP).order_by(OrgUnit.id)
    ).all()
    villages = session.execute(
        select(OrgUnit.id, OrgUnit.name, OrgUnit.township_id)
        .where(OrgUnit.kind == VILLAGE)
        .order_by(OrgUnit.id)
    ).all()
    officer_of = {users["township"].org_unit_id: users["township"].id}
    secretary_of = {u.org_unit_id: u.id for k, u in users.items() if k.startswith("secretary")}

    rows = []
    for n, (title, body) in enumerate(COUNTY_NEWS):
        pinned = today + timedelta(days=10) if n == 0 else None
        rows.append(_row(SCOPE_COUNTY, None, None, title, body, admin, now, n * 9 + 1, pinned))
    for t in townships:
        for n, (title, body) in enumerate(TOWNSHIP_NEWS):
            by = officer_of.get(t.id, admin)
            rows.append(_row(SCOPE_TOWNSHIP, t.id, None, title.format(t=t.name), body, by, now,
                             n * 20 + rng.randint(0, 5)))  # fmt: skip
    for v in villages:
        title, body = rng.choice(VILLAGE_NEWS)
        by = secretary_of.get(v.id, admin)
        rows.append(_row(SCOPE_VILLAGE, v.township_id, v.id, title.format(v=v.name), body, by,
                         now, rng.randint(2, 50)))  # fmt: skip
    session.execute(insert(Announcement), rows)
    announcements = session.execute(
        select(Announcement.id, Announcement.scope, Announcement.township_id,
               Announcement.village_id, Announcement.published_at)
        .order_by(Announcement.id)
    ).all()  # fmt: skip

    members = session.execute(
        select(Member.id, Member.village_id, Member.township_id).where(Member.status == ACTIVE)
    ).all()
    demo_member = users["member"].member_id
    # The demo member has the newest county and township news still to read, and was
    # reminded about one of them.
    newest_county = max((a for a in announcements if a.scope == SCOPE_COUNTY),
                        key=lambda a: a.published_at).id  # fmt: skip
    audiences = {SCOPE_COUNTY: {None: members}, SCOPE_TOWNSHIP: {}, SCOPE_VILLAGE: {}}
    for m in members:
        audiences[SCOPE_TOWNSHIP].setdefault(m.township_id, []).append(m)
        audiences[SCOPE_VILLAGE].setdefault(m.village_id, []).append(m)
    receipts = []
    for a in announcements:
        key = {SCOPE_COUNTY: None, SCOPE_TOWNSHIP: a.township_id}.get(a.scope, a.village_id)
        for m in audiences[a.scope].get(key, ()):
            if m.id == demo_member:
                if a.id == newest_county:
                    receipts.append({"announcement_id": a.id, "member_id": m.id,
                                     "read_at": None, "nudged_at": now - timedelta(days=1),
                                     "nudged_by_id": admin})  # fmt: skip
                elif a.scope == SCOPE_COUNTY:
                    receipts.append(_read(a, m, rng))
                continue
            if rng.random() < READ_SHARE:
                receipts.append(_read(a, m, rng))
    for start in range(0, len(receipts), 5000):
        session.execute(insert(AnnouncementReceipt), receipts[start : start + 5000])

    questions = []
    asked = [m for m in members if rng.random() < QUESTIONS_PER_MEMBER]
    demo = next((m for m in members if m.id == demo_member), None)
    township_of_officer = users["township"].org_unit_id
    # The township officer's to-do: two questions left open for a week.
    waiting = [m for m in members if m.township_id == township_of_officer and m.id != demo_member]
    for m in waiting[:2]:
        kind, body, _ = QUESTIONS[1]
        questions.append(_question(m, TO_TOWNSHIP, kind, body, now - timedelta(days=7)))
    for m in asked:
        kind, body, answer = rng.choice(QUESTIONS)
        to = rng.choice((TO_COUNTY, TO_TOWNSHIP))
        row = _question(m, to, kind, body, now - timedelta(days=rng.randint(1, 90)))
        if rng.random() < 0.8:
            row |= _answer(row, answer, admin if to == TO_COUNTY else officer_of.get(m.township_id, admin),
                           publish=rng.random() < 0.5, seen=True)  # fmt: skip
        questions.append(row)
    if demo is not None:
        kind, body, answer = QUESTIONS[4]
        row = _question(demo, TO_TOWNSHIP, kind, body, now - timedelta(days=3))
        questions.append(row | _answer(row, answer, officer_of.get(demo.township_id, admin),
                                       publish=True, seen=False))  # fmt: skip
    if questions:
        session.execute(insert(Question), questions)
    return {
        "announcements": len(rows),
        "announcement_receipts": len(receipts),
        "questions": len(questions),
    }


def _row(scope, township_id, village_id, title, body, by, now, days_ago, pinned=None) -> dict:
    html = "".join(f"<p>{p}</p>" for p in body.split("\n\n"))  # written as the sanitiser would
    return {
        "scope": scope, "township_id": township_id, "village_id": village_id, "title": title,
        "body": html, "pinned_until": pinned, "published_by_id": by,
        "published_at": now - timedelta(days=days_ago, hours=3), "attachment_name": "",
        "attachment_bytes": 0,
    }  # fmt: skip


def _read(a, m, rng) -> dict:
    return {
        "announcement_id": a.id, "member_id": m.id, "nudged_at": None, "nudged_by_id": None,
        "read_at": a.published_at + timedelta(hours=rng.randint(1, 72)),
    }  # fmt: skip


def _question(m, to, kind, body, at) -> dict:
    return {
        "member_id": m.id, "village_id": m.village_id, "township_id": m.township_id,
        "addressed_to": to, "kind": kind, "body": body, "consent_publish": True,
        "status": OPEN, "answer": None, "answered_by_id": None, "answered_at": None,
        "answer_seen_at": None, "faq_question": None, "published_at": None, "created_at": at,
    }  # fmt: skip


def _answer(row, answer, by, publish: bool, seen: bool) -> dict:
    at = row["created_at"] + timedelta(days=1)
    return {
        "status": ANSWERED, "answer": f"<p>{answer}</p>", "answered_by_id": by,
        "answered_at": at, "answer_seen_at": at + timedelta(hours=5) if seen else None,
        "faq_question": row["body"] if publish else None, "published_at": at if publish else None,
    }  # fmt: skip
