"""Mentoring (帮带): the mentor pool, suggestions, pairings and check-ins."""

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from baojing.blueprints.mentors import bp
from baojing.blueprints.mentors.forms import (
    AcceptForm,
    CheckinForm,
    CompleteForm,
    EndForm,
    MentorProfileForm,
    ProposeForm,
)
from baojing.dates import local_today
from baojing.extensions import db
from baojing.models.mentors import (
    MENTORSHIP_STATUSES,
    OUTCOMES,
    SITUATIONS,
    Mentorship,
)
from baojing.models.users import MEMBER
from baojing.scoping import REGISTRY_ROLES, get_member_or_404
from baojing.services.mentors import mentoring, suggestions
from baojing.web import htmx
from baojing.web.forms import commit_or_errors, first_error, flash_saved, new_request_id
from baojing.web.guards import require_role
from baojing.web.params import int_param

LABELS = {"statuses": MENTORSHIP_STATUSES, "situations": SITUATIONS, "outcomes": OUTCOMES}


@bp.get("/")
def index():
    """Registry roles: the pairings of their members; a member: their own, either side."""
    require_role(*REGISTRY_ROLES, MEMBER)
    profile = mentoring.profile_of(current_user.member_id) if current_user.role == MEMBER else None
    page = mentoring.mentorships_for(current_user, int_param("page") or 1)
    return render_template("mentors/index.html", page=page, profile=profile, **LABELS)


# --- the mentor pool -----------------------------------------------------------------------


@bp.route("/pool/<int:member_id>", methods=["GET", "POST"])
def pool(member_id: int):
    """Put a member in the mentor pool (the branch, or the member volunteering themself)."""
    require_role(*REGISTRY_ROLES, MEMBER)
    member = get_member_or_404(current_user, member_id)
    profile = mentoring.profile_of(member.id)
    form = MentorProfileForm(obj=profile if request.method == "GET" else None)
    if request.method == "GET" and profile is None:
        form.trade.data, form.dest_province.data = member.trade, member.dest_province
        form.dest_city.data = member.dest_city
    if form.validate_on_submit():
        ok, _ = commit_or_errors(
            form, lambda: mentoring.save_profile(member, current_user, form.service_data())
        )
        if ok:
            flash_saved("已保存导师信息", f"mentor-{member.id}")
            return redirect(url_for("mentors.pool", member_id=member.id), 303)
    status = 422 if form.is_submitted() else 200
    return render_template("mentors/pool.html", form=form, member=member, profile=profile), status


# --- suggestions and proposals ---------------------------------------------------------------


@bp.get("/suggest/<int:member_id>")
@bp.get("/suggest/<int:member_id>/list", endpoint="suggest_list")
def suggest(member_id: int):
    """A new entrepreneur's or employee's page; the list comes by htmx (or with the page).

    Hot path (bench/mentors.py): the mentee is one Core row in scope, not an ORM load,
    and the proposal forms carry a fresh key without building a form object per row.
    """
    require_role(*REGISTRY_ROLES)
    mentee = suggestions.mentee_in_scope(current_user, member_id)
    if mentee is None:
        abort(404)
    listed = request.endpoint == "mentors.suggest_list"
    context = {
        "mentee": mentee,
        "found": suggestions.suggest(mentee) if listed else None,
        "request_id": new_request_id(),
        "situations": SITUATIONS,
    }
    if not listed:
        return render_template("mentors/suggest.html", **context)
    return htmx.render("mentors/suggest.html", "mentors/_suggestions.html", **context)


@bp.post("/propose/<int:member_id>")
def propose(member_id: int):
    """Propose a mentor; refused, the suggestions come back with why and what was ticked."""
    require_role(*REGISTRY_ROLES)
    mentee = get_member_or_404(current_user, member_id)
    form = ProposeForm()
    mentor_id = int_param("mentor_id")
    mentor = mentoring.mentor_to_propose(mentor_id) if mentor_id else None
    if mentor is None:
        abort(404)
    if form.validate_on_submit():
        ok, ms = commit_or_errors(
            form,
            lambda: mentoring.propose(
                mentor, mentee, current_user, form.service_data(), form.request_id.data
            ),
        )
        if ok:
            flash("已提议结对，等导师确认", "success")
            return redirect(url_for("mentors.pairing", pairing_id=ms.id), 303)
    found = suggestions.suggest(mentee)
    return render_template(
        "mentors/suggest.html", mentee=mentee, found=found, request_id=new_request_id(),
        situations=SITUATIONS, form=form, failed_mentor=mentor.id,
        failed_listed=any(s.mentor_id == mentor.id for s in found),
        failed_name=mentor.member.name,
        propose_error=first_error(form, "没有提议成功"),
    ), 422  # fmt: skip


# --- one mentorship -----------------------------------------------------------------------


def _mentorship_or_404(pairing_id: int, *, managed: bool = False) -> Mentorship:
    """The mentorship if the user sees it, or (managed) runs it; 404 otherwise."""
    require_role(*REGISTRY_ROLES, MEMBER)
    condition = (mentoring.managed_condition if managed else mentoring.mentorship_condition)(
        current_user
    )
    ms = db.session.scalar(select(Mentorship).where(Mentorship.id == pairing_id, condition))
    if ms is None:
        abort(404)
    return ms


def _pairing_page(ms: Mentorship, status: int = 200, **forms):
    """The pairing; a refused form comes back in `forms` with its messages and input."""
    side = mentoring.side_of(ms, current_user)
    both = ms.mentor_accepted_at is not None and ms.mentee_accepted_at is not None
    forms.setdefault(
        "checkin_form",
        CheckinForm(formdata=None, checked_on=local_today(), request_id=new_request_id()),
    )
    forms.setdefault("complete_form", CompleteForm(formdata=None))
    forms.setdefault("end_form", EndForm(formdata=None))
    forms.setdefault("accept_form", AcceptForm(formdata=None))
    return render_template(
        "mentors/pairing.html", ms=ms, side=side, contacts_shown=both,
        runs=mentoring.manages(ms, current_user),
        may_confirm=mentoring.sides_staff_may_confirm(ms, current_user),
        checkins=mentoring.checkins(ms), today=local_today(), **forms, **LABELS,
    ), status  # fmt: skip


@bp.get("/pairings/<int:pairing_id>")
def pairing(pairing_id: int):
    return _pairing_page(_mentorship_or_404(pairing_id))


@bp.post("/pairings/<int:pairing_id>/accept")
def accept(pairing_id: int):
    ms = _mentorship_or_404(pairing_id)
    form = AcceptForm()
    if current_user.role == MEMBER:
        form.side.data = mentoring.side_of(ms, current_user)
    if (
        form.validate_on_submit()
        and commit_or_errors(form, lambda: mentoring.accept(ms, current_user, form.side.data))[0]
    ):
        flash("已确认", "success")
        return redirect(url_for("mentors.pairing", pairing_id=ms.id), 303)
    return _pairing_page(ms, 422, accept_form=form)


@bp.post("/pairings/<int:pairing_id>/complete")
def complete(pairing_id: int):
    ms = _mentorship_or_404(pairing_id, managed=True)
    form = CompleteForm()

    def finish():
        return mentoring.complete(ms, current_user, form.outcome.data)

    if form.validate_on_submit() and commit_or_errors(form, finish)[0]:
        flash("帮带已办结", "success")
        return redirect(url_for("mentors.pairing", pairing_id=ms.id), 303)
    return _pairing_page(ms, 422, complete_form=form)


@bp.post("/pairings/<int:pairing_id>/end")
def end(pairing_id: int):
    ms = _mentorship_or_404(pairing_id, managed=True)
    form = EndForm()
    if (
        form.validate_on_submit()
        and commit_or_errors(form, lambda: mentoring.end(ms, current_user, form.reason.data))[0]
    ):
        flash("结对已结束", "success")
        return redirect(url_for("mentors.pairing", pairing_id=ms.id), 303)
    return _pairing_page(ms, 422, end_form=form)


@bp.post("/pairings/<int:pairing_id>/checkins")
def checkin(pairing_id: int):
    ms = _mentorship_or_404(pairing_id, managed=True)
    form = CheckinForm()
    if (
        form.validate_on_submit()
        and commit_or_errors(
            form,
            lambda: mentoring.check_in(ms, current_user, form.service_data(), form.request_id.data),
        )[0]
    ):
        flash_saved("已记录回访", f"mentor-checkin-{ms.id}")
        return redirect(url_for("mentors.pairing", pairing_id=ms.id), 303)
    return _pairing_page(ms, 422, checkin_form=form)
