"""The county hub (流动党员之家): announcements with read receipts; questions and the FAQ."""

from flask import abort, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user
from markupsafe import Markup

from baojing import audit
from baojing.blueprints.hub import bp
from baojing.blueprints.hub.forms import (
    AnnouncementForm,
    AnswerForm,
    FaqForm,
    NudgeForm,
    QuestionForm,
)
from baojing.dates import local_today
from baojing.models.hub import (
    ADDRESSED_TO,
    ANSWERED,
    ATTACHMENT_KINDS,
    QUESTION_KINDS,
    QUESTION_STATUSES,
    TO_TOWNSHIP,
)
from baojing.models.users import COUNTY_ADMIN, MEMBER
from baojing.scoping import (
    ANSWER_ROLES,
    HUB_ROLES,
    REGISTRY_ROLES,
    get_announcement_or_404,
    get_member_or_404,
    get_question_or_404,
)
from baojing.services import RuleViolation
from baojing.services.hub import announcements, attachments
from baojing.services.hub import questions as qa
from baojing.web.forms import (
    apply_errors,
    commit_or_errors,
    first_error,
    flash_saved,
    new_request_id,
)
from baojing.web.guards import require_role
from baojing.web.params import int_param
from baojing.web.uploads import accepts_upload

LABELS = {
    "addressed_to": ADDRESSED_TO,
    "question_kinds": QUESTION_KINDS,
    "question_statuses": QUESTION_STATUSES,
    "attachment_kinds": ATTACHMENT_KINDS,
}


def _sanitised(html: str | None) -> Markup:
    """Announcement bodies and answers were cleaned by nh3 before they were stored
    (services/hub/sanitize.py); the only user-written text rendered as HTML."""
    return Markup(html or "")  # noqa: S704 - sanitised on the way in


# --- announcements ------------------------------------------------------------------------


@bp.get("/")
def index():
    """Announcements from the county, the township and the village; pinned first."""
    require_role(*HUB_ROLES)
    unread_only = current_user.role == MEMBER and request.args.get("unread") == "1"
    today = local_today()
    page = announcements.list_page(
        current_user, today, page=int_param("page") or 1, unread_only=unread_only
    )
    return render_template(
        "hub/index.html", page=page, unread_only=unread_only, today=today,
        can_publish=announcements.can_publish(current_user),
        publisher_name=announcements.publisher_name, **LABELS,
    )  # fmt: skip


@bp.route("/announcements/new", methods=["GET", "POST"])
@accepts_upload(attachments.request_limit)
def new_announcement():
    """Publish to one's own scope; the attachment is checked before the write lock."""
    require_role(*REGISTRY_ROLES)
    if not announcements.can_publish(current_user):
        abort(403)
    form = AnnouncementForm()
    if request.method == "GET":
        form.request_id.data = new_request_id()
    if form.validate_on_submit():
        try:
            attachment = _attachment(form)
        except RuleViolation as exc:
            apply_errors(form, exc.errors)
        else:
            ok, row = commit_or_errors(
                form,
                lambda: announcements.publish(
                    current_user, form.service_data(), attachment, form.request_id.data
                ),
            )
            if ok:
                flash_saved("公告已发布", "hub-announcement")
                return redirect(url_for("hub.announcement", announcement_id=row.id), 303)
    status = 422 if form.is_submitted() else 200
    return render_template(
        "hub/announcement_form.html", form=form,
        audience=announcements.scope_label(current_user), max_mb=attachments.max_bytes() >> 20,
    ), status  # fmt: skip


def _attachment(form) -> attachments.Attachment | None:
    upload = form.attachment.data
    if not upload or not getattr(upload, "filename", ""):
        return None
    data = upload.stream.read(attachments.max_bytes() + 1)
    return attachments.process(data, upload.filename)


@bp.get("/announcements/<int:announcement_id>")
def announcement(announcement_id: int):
    """One announcement; a member opening it leaves a read receipt."""
    require_role(*HUB_ROLES)
    row = get_announcement_or_404(current_user, announcement_id)
    counts = None
    if current_user.role == MEMBER:
        if announcements.read_at(row, current_user.member_id) is None:
            announcements.mark_read(row, current_user.member_id)
    else:
        counts = announcements.receipts(current_user, row, page=1)
    return render_template(
        "hub/announcement.html", a=row, body=_sanitised(row.body), counts=counts,
        origin=announcements.origin_of(row),
        today=local_today(), **LABELS,
    )  # fmt: skip


@bp.get("/announcements/<int:announcement_id>/attachment")
def attachment(announcement_id: int):
    """The attachment, to those who may see the announcement: an image shown, a PDF saved."""
    require_role(*HUB_ROLES)
    row = get_announcement_or_404(current_user, announcement_id)
    if not row.attachment_token:
        abort(404)
    path = attachments.path_of(row.attachment_token, row.attachment_kind)
    if not path.exists():
        abort(404)
    is_pdf = row.attachment_kind == "pdf"
    return send_file(
        path, mimetype="application/pdf" if is_pdf else "image/jpeg",
        as_attachment=is_pdf, download_name=row.attachment_name or "附件",
        conditional=True, max_age=0,
    )  # fmt: skip


@bp.get("/announcements/<int:announcement_id>/unread")
def unread(announcement_id: int):
    """Who, among the members the viewer looks after, has not read it yet (paged)."""
    require_role(*REGISTRY_ROLES)
    row = get_announcement_or_404(current_user, announcement_id)
    found = announcements.receipts(current_user, row, page=int_param("page") or 1)
    return render_template("hub/unread.html", a=row, receipts=found)


@bp.post("/announcements/<int:announcement_id>/nudge")
def nudge(announcement_id: int):
    """Remind one member, or all who have not read it, on their home page."""
    require_role(*REGISTRY_ROLES)
    row = get_announcement_or_404(current_user, announcement_id)
    member_id = int_param("member_id")
    if member_id is not None:
        get_member_or_404(current_user, member_id)
    ok, count = commit_or_errors(
        NudgeForm(), lambda: announcements.nudge(current_user, row, member_id)
    )
    if count:
        flash(f"已提醒 {count} 名党员，提醒会出现在他们的首页", "success")
    else:
        flash("没有需要提醒的党员：都已读过了", "info")
    return redirect(url_for("hub.unread", announcement_id=row.id), 303)


# --- questions and answers ----------------------------------------------------------------


@bp.get("/questions")
def questions():
    """A member's own questions; the county's and a township's inbox."""
    if current_user.role == MEMBER:
        page = qa.mine(current_user, int_param("page") or 1)
        return render_template("hub/my_questions.html", page=page, **LABELS)
    require_role(*ANSWER_ROLES)
    status = request.args.get("status", "open")
    # The county answers the county's; it may also read what the townships were asked.
    to = request.args.get("to", "county") if current_user.role == COUNTY_ADMIN else TO_TOWNSHIP
    page = qa.inbox(current_user, status=status, to=to, page=int_param("page") or 1)
    return render_template(
        "hub/inbox.html", page=page, status=status, to=to,
        overdue_before=qa.overdue_before(), answerer_name=qa.answerer_name, **LABELS,
    )  # fmt: skip


@bp.route("/questions/new", methods=["GET", "POST"])
def new_question():
    """A member asks the county or their township, or leaves a message or suggestion."""
    require_role(MEMBER)
    member = get_member_or_404(current_user, current_user.member_id)
    form = QuestionForm()
    if request.method == "GET":
        form.request_id.data = new_request_id()
    if form.validate_on_submit():
        ok, row = commit_or_errors(
            form, lambda: qa.ask(member, form.service_data(), form.request_id.data)
        )
        if ok:
            flash_saved("已提交，回复后会出现在您的首页", "hub-question")
            return redirect(url_for("hub.question", question_id=row.id), 303)
    status = 422 if form.is_submitted() else 200
    return render_template(
        "hub/question_form.html", form=form, township=qa.unit_name(member.township_id),
        **LABELS,
    ), status  # fmt: skip


@bp.get("/questions/<int:question_id>")
def question(question_id: int):
    """A question and its answer; reading someone else's is audited."""
    require_role(*HUB_ROLES)
    row = get_question_or_404(current_user, question_id)
    if current_user.role == MEMBER:
        if row.status == ANSWERED and row.answer_seen_at is None:
            qa.mark_answer_seen(row)
    else:
        audit.record_read("questions", row.id, member_id=row.member_id)
    return _question_page(row)


def _question_page(row, answer_form=None, faq_form=None, status: int = 200):
    may_answer = qa.can_answer(current_user, row)
    if answer_form is None:
        answer_form = AnswerForm(formdata=None, request_id=new_request_id(), faq_question=row.body)
    if faq_form is None:
        faq_form = FaqForm(formdata=None, faq_question=row.faq_question or row.body)
    return render_template(
        "hub/question.html", q=row, answer_html=_sanitised(row.answer), may_answer=may_answer,
        answer_form=answer_form, faq_form=faq_form,
        answerer=qa.answerer_name(row.addressed_to, qa.unit_name(row.township_id)), **LABELS,
    ), status  # fmt: skip


@bp.post("/questions/<int:question_id>/answer")
def answer(question_id: int):
    require_role(*ANSWER_ROLES)
    row = get_question_or_404(current_user, question_id)
    if not qa.can_answer(current_user, row):
        abort(403)
    form = AnswerForm()
    if (
        form.validate_on_submit()
        and commit_or_errors(
            form,
            lambda: qa.answer(row, current_user, form.service_data(), form.request_id.data),
        )[0]
    ):
        flash_saved("已回复，党员会在首页看到", f"hub-answer-{row.id}")
        return redirect(url_for("hub.question", question_id=row.id), 303)
    return _question_page(row, answer_form=form, status=422)


@bp.post("/questions/<int:question_id>/faq")
def faq_toggle(question_id: int):
    require_role(*ANSWER_ROLES)
    row = get_question_or_404(current_user, question_id)
    if not qa.can_answer(current_user, row):
        abort(403)
    form = FaqForm()
    if (
        form.validate_on_submit()
        and commit_or_errors(
            form,
            lambda: qa.set_published(
                row, current_user, bool(form.publish.data), form.faq_question.data
            ),
        )[0]
    ):
        flash("已公开到常见问答" if form.publish.data else "已从常见问答撤下", "success")
        return redirect(url_for("hub.question", question_id=row.id), 303)
    flash(first_error(form, "没有保存"), "error")
    return _question_page(row, faq_form=form, status=422)


@bp.get("/faq")
def faq():
    """常见问答: answers published without the asker's name, for every member."""
    require_role(*HUB_ROLES)
    page = qa.faq(int_param("page") or 1)
    rows = [(r, _sanitised(r.answer)) for r in page.rows]
    return render_template("hub/faq.html", page=page, rows=rows, answerer_name=qa.answerer_name)
