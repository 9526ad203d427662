"""Members' questions, messages and suggestions to the county or their township; answers;
the anonymised FAQ; and the officers' to-do of questions left open too long."""

from datetime import timedelta

from flask import url_for
from sqlalchemy import func, select, update

from baojing import audit
from baojing.db import write_apart
from baojing.extensions import db
from baojing.models.hub import (
    ADDRESSED_TO,
    ANSWERED,
    OPEN,
    QUESTION_KINDS,
    TO_COUNTY,
    TO_TOWNSHIP,
    Question,
)
from baojing.models.members import ACTIVE, Member
from baojing.models.org import OrgUnit
from baojing.models.types import utcnow
from baojing.models.users import COUNTY_ADMIN, TOWNSHIP_OFFICER, User
from baojing.scoping import question_condition
from baojing.services import RuleViolation
from baojing.services import settings as county_settings
from baojing.services.home import HomeItem
from baojing.services.hub.sanitize import clean_html, has_content
from baojing.services.idempotency import keyed, logged_key, replayed, replayed_in_log
from baojing.services.paging import Page, fetch_page

TODO_ROWS = 3
HOME_ROWS = 5


def ask(member: Member, data: dict, request_id: str | None = None) -> Question:
    """A member asks the county or their township. data: addressed_to, kind, body,
    consent_publish."""
    if (earlier := replayed(Question, request_id, data, member_id=member.id)) is not None:
        return earlier
    errors = {}
    if data["addressed_to"] not in ADDRESSED_TO:
        errors["addressed_to"] = "请选择向谁提问"
    if data["kind"] not in QUESTION_KINDS:
        errors["kind"] = "请选择类型"
    if member.status != ACTIVE:
        errors["body"] = "您已不在流动党员名册中，请联系村党支部"
    if errors:
        raise RuleViolation(errors)
    row = Question(
        member_id=member.id, village_id=member.village_id, township_id=member.township_id,
        addressed_to=data["addressed_to"], kind=data["kind"], body=data["body"],
        consent_publish=bool(data["consent_publish"]), status=OPEN,
        **keyed(request_id, data),
    )  # fmt: skip
    db.session.add(row)
    db.session.flush()
    audit.record(
        "hub.ask", row,
        after={"addressed_to": row.addressed_to, "kind": row.kind,
               "consent_publish": row.consent_publish},
    )  # fmt: skip
    return row


def can_answer(user: User, question: Question) -> bool:
    """The right officer: the county admin for the county's, the township's officer for
    their township's."""
    if question.addressed_to == TO_COUNTY:
        return user.role == COUNTY_ADMIN
    return user.role == TOWNSHIP_OFFICER and user.township_id == question.township_id


def answer(question: Question, actor: User, data: dict, request_id: str | None = None) -> Question:
    """Answer once; with the member's consent, publish it to the FAQ at the same time.

    data: answer (as typed; sanitised here), publish, faq_question.
    """
    if replayed_in_log("hub.answer", question, request_id, data) is not None:
        return question
    if not can_answer(actor, question):
        raise RuleViolation({"answer": "这条不归您回复"})
    if question.status == ANSWERED:
        raise RuleViolation({"answer": "这条已经回复过了"})
    html = clean_html(data["answer"])
    if not has_content(html):
        raise RuleViolation({"answer": "请填写回复"})
    if data["publish"]:
        _check_publish(question, data["faq_question"])
    now = utcnow()
    question.answer = html
    question.status = ANSWERED
    question.answered_by_id = actor.id
    question.answered_at = now
    if data["publish"]:
        question.faq_question = data["faq_question"]
        question.published_at = now
    db.session.flush()
    audit.record(
        "hub.answer", question, before={"status": OPEN},
        after={"status": ANSWERED, "published": bool(data["publish"]),
               **logged_key(request_id, data)},
    )  # fmt: skip
    return question


def _check_publish(question: Question, faq_question: str) -> None:
    if not question.consent_publish:
        raise RuleViolation({"publish": "提问的党员没有同意公开，不能发到常见问答"})
    if not (faq_question or "").strip():
        raise RuleViolation({"faq_question": "请填写公开的问题（去掉姓名、电话等个人信息）"})


def set_published(question: Question, actor: User, publish: bool, faq_question: str = "") -> None:
    """Publish an answered question to the FAQ (anonymised text), or take it down."""
    if not can_answer(actor, question):
        raise RuleViolation({"faq_question": "这条不归您管理"})
    if question.status != ANSWERED:
        raise RuleViolation({"faq_question": "回复以后才能公开"})
    before = {"published": question.published_at is not None}
    if publish:
        _check_publish(question, faq_question)
        question.faq_question = faq_question
        question.published_at = question.published_at or utcnow()
    else:
        question.published_at = None
    db.session.flush()
    audit.record("hub.faq", question, before=before, after={"published": publish})


def mark_answer_seen(question: Question) -> None:
    """The member opened their answered question: it leaves their home page.

    On its own short transaction, like an announcement's read receipt.
    """
    statement = (
        update(Question)
        .where(Question.id == question.id, Question.answer_seen_at.is_(None))
        .values(answer_seen_at=utcnow())
    )
    with write_apart() as conn:
        conn.execute(statement)


# --- lists -----------------------------------------------------------------------------

_COLUMNS = (
    Question.id, Question.kind, Question.addressed_to, Question.body, Question.status,
    Question.created_at, Question.answered_at, Question.published_at,
)  # fmt: skip


def overdue_before(now=None):
    """Questions asked before this moment and still open are overdue (a county setting)."""
    return (now or utcnow()) - timedelta(days=county_settings.value("question_overdue_days"))


def mine(user: User, page: int = 1) -> Page:
    """A member's own questions, newest first."""
    stmt = (
        select(*_COLUMNS)
        .where(Question.member_id == user.member_id)
        .order_by(Question.created_at.desc(), Question.id.desc())
    )
    return fetch_page(stmt, page)


def inbox(user: User, status: str = OPEN, to: str = "", page: int = 1) -> Page:
    """An officer's questions: open ones oldest first (the longest waiting on top),
    answered ones newest first. The county chooses county's, townships' or all."""
    stmt = (
        select(*_COLUMNS, Member.name.label("member_name"), OrgUnit.name.label("township_name"))
        .join(Member, Member.id == Question.member_id)
        .join(OrgUnit, OrgUnit.id == Question.township_id)
        .where(question_condition(user))
    )
    if to in ADDRESSED_TO:
        stmt = stmt.where(Question.addressed_to == to)
    if status == "overdue":
        stmt = stmt.where(Question.status == OPEN, Question.created_at < overdue_before())
    elif status in (OPEN, ANSWERED):
        stmt = stmt.where(Question.status == status)
    if status in (OPEN, "overdue"):
        stmt = stmt.order_by(Question.created_at, Question.id)
    else:
        stmt = stmt.order_by(Question.created_at.desc(), Question.id.desc())
    return fetch_page(stmt, page)


def faq(page: int = 1) -> Page:
    """The published answers every member reads: the anonymised question and its answer."""
    stmt = (
        select(
            Question.id,
            Question.faq_question,
            Question.answer,
            Question.addressed_to,
            Question.published_at,
            OrgUnit.name.label("township_name"),
        )  # fmt: skip
        .join(OrgUnit, OrgUnit.id == Question.township_id)
        .where(Question.published_at.is_not(None))
        .order_by(Question.published_at.desc(), Question.id.desc())
    )
    return fetch_page(stmt, page)


def unit_name(unit_id: int | None) -> str:
    """An org unit's name (a question's township), or empty."""
    if not unit_id:
        return ""
    return db.session.scalar(select(OrgUnit.name).where(OrgUnit.id == unit_id)) or ""


def answerer_name(addressed_to: str, township_name: str) -> str:
    return "县委组织部" if addressed_to == TO_COUNTY else f"{township_name}党委"


# --- home pages ---------------------------------------------------------------------------


def _short(text: str, n: int = 24) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


def home_items(user: User) -> list[HomeItem]:
    """A member's answers not yet opened (kind "answer"). One statement."""
    if not user.member_id:
        return []
    rows = db.session.execute(
        select(Question.id, Question.kind, Question.addressed_to, Question.body)
        .where(
            Question.member_id == user.member_id,
            Question.status == ANSWERED,
            Question.answer_seen_at.is_(None),
        )
        .order_by(Question.answered_at.desc())
        .limit(HOME_ROWS)
    ).all()
    return [
        HomeItem(
            "answer",
            f"{ADDRESSED_TO[r.addressed_to]}回复了您的{QUESTION_KINDS.get(r.kind, '咨询')}",
            url_for("hub.question", question_id=r.id),
            note=_short(r.body),
        )
        for r in rows
    ]


def _open_for(user: User):
    if user.role == COUNTY_ADMIN:
        return Question.addressed_to == TO_COUNTY
    return (Question.addressed_to == TO_TOWNSHIP) & (Question.township_id == user.township_id)


def todo_for(user: User) -> list[HomeItem]:
    """An officer's to-do: questions to them left open past the county's setting, oldest
    first (kind "answer", overdue). Two statements and the settings, whatever the number."""
    if user.role not in (COUNTY_ADMIN, TOWNSHIP_OFFICER) or (
        user.role == TOWNSHIP_OFFICER and not user.township_id
    ):
        return []
    now = utcnow()
    cond = _open_for(user) & (Question.status == OPEN) & (Question.created_at < overdue_before(now))
    total = db.session.scalar(select(func.count()).select_from(Question).where(cond))
    if not total:
        return []
    rows = db.session.execute(
        select(Question.id, Question.kind, Question.body, Question.created_at)
        .where(cond)
        .order_by(Question.created_at, Question.id)
        .limit(TODO_ROWS)
    ).all()
    items = [
        HomeItem(
            "answer",
            f"待回复{QUESTION_KINDS.get(r.kind, '咨询')}：{_short(r.body, 18)}",
            url_for("hub.question", question_id=r.id),
            due_on=None,
            overdue=True,
            note=f"已等 {(now - r.created_at).days} 天",
        )  # fmt: skip
        for r in rows
    ]
    if total > TODO_ROWS:
        items.append(
            HomeItem(
                "answer",
                f"共 {total} 条咨询留言超期未回复",
                url_for("hub.questions", status="overdue"),
                overdue=True,
            )  # fmt: skip
        )
    return items
