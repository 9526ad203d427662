"""A unit's members: moving them to another unit, closing the unit once it is empty, and
who takes part in a 流动党组织."""

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from baojing.blueprints.branches import bp
from baojing.blueprints.branches.forms import CloseForm, LeaveForm, MoveForm
from baojing.blueprints.branches.views import _unit_page
from baojing.extensions import db
from baojing.models.members import Member
from baojing.models.org import MOBILE_ORG, OrgUnit
from baojing.models.users import COUNTY_ADMIN
from baojing.scoping import get_member_or_404, get_org_unit_or_404
from baojing.services import branches as svc
from baojing.services import members as member_search
from baojing.services.paging import fetch_page
from baojing.web.forms import (
    Form,
    commit_or_errors,
    first_error,
    new_request_id,
    options,
)
from baojing.web.guards import require_role
from baojing.web.params import int_param

MOVE_PER_PAGE = 50
SEARCH_RESULTS = 10
NO_ORG = "none"  # the move target that just takes members out of a 流动党组织


def _managed_unit(unit_id: int) -> OrgUnit:
    require_role(*svc.MANAGERS)
    return get_org_unit_or_404(current_user, unit_id)


# --- moving members ------------------------------------------------------------------------


def _move_form(unit: OrgUnit, *, everyone: bool = False, formdata=True) -> tuple[MoveForm, object]:
    """The move form with its targets, and the page of members it lists with checkboxes."""
    form = MoveForm() if formdata else MoveForm(formdata=None)
    names = svc.township_names()
    targets = [
        (str(t.id), f"{t.name}（{names.get(t.township_id, '')}）")
        for t in svc.move_targets(current_user, unit)
    ]
    if unit.kind == MOBILE_ORG:
        targets.insert(0, (NO_ORG, "不转入其他组织，只退出本组织"))
    form.target_id.choices = options([("", "请选择"), *targets])
    page = fetch_page(svc.unit_members(unit, current_user), int_param("page") or 1, MOVE_PER_PAGE)
    form.member_ids.choices = options((m.id, f"{m.name}（{m.village_name}）") for m in page.rows)
    if not formdata:
        form.request_id.data = new_request_id()
        form.everyone.data = "all" if everyone else "chosen"
        form.member_ids.data = [m.id for m in page.rows] if everyone else []
    return form, page


@bp.route("/<int:unit_id>/move", methods=["GET", "POST"])
def move(unit_id: int):
    """Move members to another village (or 流动党组织), with a reason; audited per member."""
    unit = _managed_unit(unit_id)
    if unit.kind not in svc.MEMBER_COLUMN or not unit.is_open:
        abort(404)
    closing = request.values.get("next") == "close"
    form, page = _move_form(unit, everyone=closing, formdata=request.method == "POST")
    if form.validate_on_submit():
        target = None
        if form.target_id.data != NO_ORG:
            # One of move_targets(): the select refuses any other id.
            target = db.session.get(OrgUnit, int(form.target_id.data))
        ok, moved = commit_or_errors(
            form,
            lambda: svc.move_members(
                current_user, unit, form.chosen_ids(), target, form.reason.data,
                form.request_id.data,
            ),
        )  # fmt: skip
        if ok:
            where = f"转到{target.name}" if target else "退出本组织"
            flash(f"已将 {moved} 名党员{where}", "success")
            back = "branches.close" if closing else "branches.unit"
            return redirect(url_for(back, unit_id=unit.id), 303)
    return render_template(
        "branches/move.html", unit=unit, form=form, page=page, closing=closing,
        active=svc.active_member_count(unit),
    ), 422 if form.is_submitted() else 200  # fmt: skip


# --- closing -------------------------------------------------------------------------------


@bp.route("/<int:unit_id>/close", methods=["GET", "POST"])
def close(unit_id: int):
    """Close a unit (its history stays); with members left, the move form is right here."""
    unit = _managed_unit(unit_id)
    if unit.kind not in svc.CREATABLE:
        abort(404)
    if not unit.is_open:
        flash(f"{unit.branch_name}已撤销", "info")
        return redirect(url_for("branches.unit", unit_id=unit.id), 303)
    form = CloseForm()
    if form.validate_on_submit():
        ok, _ = commit_or_errors(form, lambda: svc.close_unit(current_user, unit, form.reason.data))
        if ok:
            svc.units_changed()
            flash(f"已撤销{unit.branch_name}，历史记录仍然保留", "success")
            return redirect(url_for("branches.unit", unit_id=unit.id), 303)
    active = svc.active_member_count(unit)
    move_form = page = None
    if active and unit.kind in svc.MEMBER_COLUMN:
        move_form, page = _move_form(unit, everyone=True, formdata=False)
    return render_template(
        "branches/close.html", unit=unit, form=form, active=active,
        accounts=svc.enabled_account_count(unit), move_form=move_form, page=page,
        county=current_user.role == COUNTY_ADMIN,
    ), 422 if form.is_submitted() else 200  # fmt: skip


# --- taking part in a 流动党组织 ----------------------------------------------------------


def _mobile_org(unit_id: int) -> OrgUnit:
    unit = _managed_unit(unit_id)
    if unit.kind != MOBILE_ORG:
        abort(404)
    return unit


@bp.route("/<int:unit_id>/participants", methods=["GET", "POST"])
def participants(unit_id: int):
    """Find members in scope to add; searched by POST so a name stays out of the URL."""
    unit = _mobile_org(unit_id)
    return _find_page(unit, request.form.get("q", "").strip()[:40])


def _find_page(unit: OrgUnit, q: str, *, error: str = "", status: int = 200):
    found, taking_part = [], {}
    if q:
        found = member_search.list_members(
            current_user, q=q, per_page=SEARCH_RESULTS,
            cutoffs=member_search.AlertCutoffs.today(),
        ).rows  # fmt: skip
        ids = [m.id for m in found]
        taking_part = dict(
            db.session.execute(
                select(Member.id, Member.mobile_org_id).where(
                    Member.id.in_(ids), Member.mobile_org_id.is_not(None)
                )
            ).all()
        )
    return render_template(
        "branches/participants.html", unit=unit, q=q, found=found, taking_part=taking_part,
        error=error,
    ), status  # fmt: skip


@bp.post("/<int:unit_id>/participants/join")
def join(unit_id: int):
    """Add a member in the user's scope to the 流动党组织 (their home branch stays)."""
    unit = _mobile_org(unit_id)
    member_id = int_param("member_id")
    member = get_member_or_404(current_user, member_id) if member_id else abort(404)
    form = Form()  # nothing to fill in: the member id was read and scope-checked above
    ok, joined = commit_or_errors(form, lambda: svc.join_mobile_org(current_user, unit, member))
    if not ok:
        return _find_page(unit, member.name, error=first_error(form), status=422)
    flash(
        f"{member.name}已参加{unit.name}" if joined else f"{member.name}已在{unit.name}", "success"
    )
    return redirect(url_for("branches.unit", unit_id=unit.id) + "#participants", 303)


@bp.post("/<int:unit_id>/participants/<int:member_id>/leave")
def leave(unit_id: int, member_id: int):
    """Take a member out of the 流动党组织, with a reason."""
    unit = _mobile_org(unit_id)
    member = get_member_or_404(current_user, member_id)
    if member.mobile_org_id != unit.id:
        abort(404)
    form = LeaveForm()
    if form.validate_on_submit():
        ok, _ = commit_or_errors(
            form, lambda: svc.leave_mobile_org(current_user, unit, member, form.reason.data)
        )
        if ok:
            flash(f"{member.name}已退出{unit.name}", "success")
            return redirect(url_for("branches.unit", unit_id=unit.id) + "#participants", 303)
    return _unit_page(unit, leave_forms={member.id: form}, status=422)
