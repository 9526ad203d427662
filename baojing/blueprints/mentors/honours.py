"""Honours recommendations and event invitations (under /mentors/honours, /mentors/events)."""

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from baojing.blueprints.mentors import bp
from baojing.blueprints.mentors.forms_honours import (
    AnswerForm,
    AttendanceForm,
    DecideForm,
    EventForm,
    InviteForm,
    RecommendForm,
)
from baojing.dates import local_today
from baojing.models.mentors import (
    HONOUR_STATUSES,
    HONOURS,
    INVITATION_STATUSES,
    Event,
    HonourRecommendation,
    Invitation,
)
from baojing.models.users import MEMBER
from baojing.scoping import (
    REGISTRY_ROLES,
    get_member_or_404,
    get_scoped_or_404,
    get_village_or_404,
    village_choices,
)
from baojing.services import members as member_search
from baojing.services.mentors import honours as svc
from baojing.web.forms import (
    commit_or_errors,
    first_error,
    flash_saved,
    new_request_id,
    options,
)
from baojing.web.guards import require_role
from baojing.web.params import int_param

LABELS = {
    "honours": HONOURS,
    "honour_statuses": HONOUR_STATUSES,
    "invitation_statuses": INVITATION_STATUSES,
    "answers": svc.ANSWERS,
    "honour_label": svc.honour_label,
}
SEARCH_RESULTS = 10


def _render(template: str, status: int = 200, **context):
    return render_template(template, **LABELS, **context), status


# --- honours ---------------------------------------------------------------------------------


@bp.get("/honours")
def honour_list():
    """Recommendations in scope; open ones first."""
    require_role(*svc.RECOMMENDERS)
    status = request.args.get("status", "")
    status = status if status in HONOUR_STATUSES or status == "all" else ""
    page = svc.list_recommendations(current_user, status=status, page=int_param("page") or 1)
    return _render("mentors/honours/list.html", page=page, shown=status)


@bp.route("/honours/pick", methods=["GET", "POST"])
def honour_pick():
    """Find the member to recommend; searched by POST so a name stays out of the URL."""
    require_role(*svc.RECOMMENDERS)
    # From the form only: a ?q= in a link is not searched, so nobody comes to rely on one.
    q = request.form.get("q", "").strip()[:40]
    found = []
    if q:
        found = member_search.list_members(
            current_user, q=q, per_page=SEARCH_RESULTS,
            cutoffs=member_search.AlertCutoffs.today(),
        ).rows  # fmt: skip
    return _render("mentors/honours/pick.html", q=q, found=found)


@bp.route("/honours/new", methods=["GET", "POST"])
def honour_new():
    """Recommend a member in scope, with the reason and the supporting record."""
    require_role(*svc.RECOMMENDERS)
    member_id = int_param("member_id")
    if not member_id:
        return redirect(url_for("mentors.honour_pick"))
    member = get_member_or_404(current_user, member_id)
    form = RecommendForm()
    if request.method == "GET":
        form.request_id.data = new_request_id()
    if form.validate_on_submit():
        ok, rec = commit_or_errors(
            form,
            lambda: svc.recommend(member, current_user, form.service_data(), form.request_id.data),
        )
        if ok:
            flash_saved(f"已推荐{member.name}：{svc.honour_label(rec)}", f"honour-{member.id}")
            return redirect(url_for("mentors.honour", honour_id=rec.id), 303)
    return _render(
        "mentors/honours/form.html", 422 if form.is_submitted() else 200, form=form,
        member=member, points=svc.points_earned(member.id),
        earlier=svc.honours_of_member(member.id),
    )  # fmt: skip


def _decide_form(rec: HonourRecommendation, submitted: bool = False) -> DecideForm:
    form = DecideForm() if submitted else DecideForm(formdata=None)
    form.status.choices = options(
        (s, HONOUR_STATUSES[s]) for s in svc.next_statuses(rec, current_user)
    )
    return form


def _honour_page(rec: HonourRecommendation, form: DecideForm, status: int = 200):
    return _render(
        "mentors/honours/detail.html", status, rec=rec, form=form,
        points=svc.points_earned(rec.member_id), where=svc.who_and_where(rec),
    )  # fmt: skip


@bp.get("/honours/<int:honour_id>")
def honour(honour_id: int):
    require_role(*svc.RECOMMENDERS)
    rec = get_scoped_or_404(current_user, HonourRecommendation, honour_id)
    form = _decide_form(rec)
    form.decided_on.data = local_today()
    return _honour_page(rec, form)


@bp.post("/honours/<int:honour_id>/status")
def honour_status(honour_id: int):
    """已推荐 → 审核中 → 已获评 / 未获评, by the county or the township."""
    require_role(*svc.DECIDERS)
    rec = get_scoped_or_404(current_user, HonourRecommendation, honour_id)
    form = _decide_form(rec, submitted=True)
    if (
        form.validate_on_submit()
        and commit_or_errors(form, lambda: svc.move(rec, current_user, form.service_data()))[0]
    ):
        flash(f"已更新为“{HONOUR_STATUSES[rec.status]}”", "success")
        return redirect(url_for("mentors.honour", honour_id=rec.id), 303)
    return _honour_page(rec, form, 422)


# --- events -----------------------------------------------------------------------------------


def _event_or_404(event_id: int) -> Event:
    require_role(*REGISTRY_ROLES)
    event = svc.event_in_scope(current_user, event_id)
    if event is None:
        abort(404)
    return event


@bp.get("/events")
def event_list():
    """Events in scope with their counts; a member sees their own invitations here."""
    today = local_today()
    if current_user.role == MEMBER:
        return _render(
            "mentors/honours/my_events.html",
            invitations=svc.invitations_for_member(current_user.member_id, today),
            today=today, form=AnswerForm(formdata=None),
        )  # fmt: skip
    require_role(*REGISTRY_ROLES)
    past = request.args.get("past") == "1"
    page, counts = svc.list_events(current_user, today, past=past, page=int_param("page") or 1)
    return _render(
        "mentors/honours/events.html", page=page, counts=counts, past=past,
        can_create=svc.can_create_event(current_user),
    )  # fmt: skip


@bp.route("/events/new", methods=["GET", "POST"])
def event_new():
    """County-wide when the county makes it, the township's own when a township does."""
    require_role(*REGISTRY_ROLES)
    if not svc.can_create_event(current_user):
        abort(403)
    form = EventForm()
    if request.method == "GET":
        form.request_id.data = new_request_id()
    if form.validate_on_submit():
        ok, event = commit_or_errors(
            form, lambda: svc.create_event(current_user, form.service_data(), form.request_id.data)
        )
        if ok:
            flash_saved(f"已创建活动：{event.title}，请邀请党员", "event-new")
            return redirect(url_for("mentors.event_invite", event_id=event.id), 303)
    return _render(
        "mentors/honours/event_form.html", 422 if form.is_submitted() else 200, form=form
    )


def _event_page(
    event: Event, form: AttendanceForm | None = None, status: int = 200, answer_error: str = ""
):
    today = local_today()
    rows = svc.invitations_of(event, current_user)
    if form is None:
        form = AttendanceForm(formdata=None)
        form.attended.data = [r.id for r in rows if r.attended]
    form.attended.choices = options((r.id, f"{r.member_name}（{r.village_name}）") for r in rows)
    return _render(
        "mentors/honours/event.html", status, event=event, rows=rows, form=form,
        counts=svc.count_invitations(rows), today=today, started=today >= event.held_on,
        township_name=svc.event_township_name(event), answer_error=answer_error,
    )  # fmt: skip


@bp.get("/events/<int:event_id>")
def event(event_id: int):
    return _event_page(_event_or_404(event_id))


@bp.route("/events/<int:event_id>/invite", methods=["GET", "POST"])
def event_invite(event_id: int):
    """Invite a village's members: the ticked ones, or all of them."""
    event = _event_or_404(event_id)
    villages = svc.invitable_villages(current_user, event, village_choices(current_user))
    village_id = int_param("village")
    if len(villages) == 1:
        village_id = villages[0][0]
    village = None
    if village_id:
        if village_id not in {vid for vid, _ in villages}:
            abort(404)
        village = get_village_or_404(current_user, village_id)
    members = svc.village_members(village.id) if village else []
    already = svc.invited_ids(event, (m.id for m in members))
    open_members = [m for m in members if m.id not in already]
    form = InviteForm() if request.method == "POST" else InviteForm(formdata=None)
    form.member_ids.choices = options((m.id, m.name) for m in open_members)
    if request.method == "GET":
        form.request_id.data = new_request_id()
    if request.method == "POST":
        if village is None:
            abort(400)
        everyone = request.form.get("everyone") == "1"
        if form.validate_on_submit():
            by_id = {m.id: m for m in members}
            wanted = set(form.member_ids.data or [])
            if any(i not in by_id for i in wanted):
                abort(404)  # an id from another village: as if it did not exist
            chosen = open_members if everyone else [by_id[i] for i in sorted(wanted)]
            said = {"village_id": village.id, "everyone": everyone, "member_ids": sorted(wanted)}
            ok, result = commit_or_errors(
                form,
                lambda: svc.invite(event, current_user, chosen, said, form.request_id.data),
            )
            if ok:
                message = f"已邀请 {result.added} 人"
                if result.already:
                    message += f"（{result.already} 人此前已邀请）"
                flash(message, "success")
                return redirect(url_for("mentors.event", event_id=event.id), 303)
    return _render(
        "mentors/honours/invite.html", 422 if form.is_submitted() else 200, event=event,
        villages=villages, village=village, form=form, already=len(already),
    )  # fmt: skip


@bp.post("/events/<int:event_id>/attendance")
def event_attendance(event_id: int):
    """Tick who came (on the day or after), among the invited the user may see."""
    event = _event_or_404(event_id)
    invitations = svc.scoped_invitations(event, current_user)
    form = AttendanceForm()
    form.attended.choices = options((i.id, str(i.id)) for i in invitations)
    ids = {i.id for i in invitations}
    if form.validate_on_submit():
        ticked = set(form.attended.data or [])
        if not ticked <= ids:
            abort(404)
        ok, result = commit_or_errors(
            form, lambda: svc.record_attendance(event, current_user, invitations, ticked)
        )
        if ok:
            flash(f"已登记出席：到会 {result[0]} 人，未到 {result[1]} 人", "success")
            return redirect(url_for("mentors.event", event_id=event.id), 303)
    return _event_page(event, form, 422)


@bp.post("/invitations/<int:invitation_id>/answer")
def invitation_answer(invitation_id: int):
    """将参加 / 不能参加: a member for their own invitation, or the branch in scope."""
    require_role(*REGISTRY_ROLES, MEMBER)
    invitation = get_scoped_or_404(current_user, Invitation, invitation_id)
    form = AnswerForm()
    member_view = current_user.role == MEMBER
    if member_view:
        back = url_for("mentors.event_list")
    else:
        back = url_for("mentors.event", event_id=invitation.event_id) + "#invited"
    saved = form.validate_on_submit() and commit_or_errors(
        form, lambda: svc.answer(invitation, current_user, form.answer.data)
    )
    if saved and saved[0]:
        flash(f"已回复：{svc.ANSWERS[invitation.status]}", "success")
        return redirect(back, 303)
    if member_view:
        return _render(
            "mentors/honours/my_events.html", 422,
            invitations=svc.invitations_for_member(current_user.member_id, local_today()),
            today=local_today(), form=form, failed_id=invitation.id,
        )  # fmt: skip
    event = _event_or_404(invitation.event_id)
    return _event_page(event, status=422, answer_error=first_error(form))
