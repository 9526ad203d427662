"""The organisation tree: county → townships → village branches, online branches, 流动党组织;
creating, renaming and editing units, and a unit's own contact person."""

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from baojing.blueprints.branches import bp
from baojing.blueprints.branches.forms import ContactForm, NewUnitForm, UnitForm
from baojing.extensions import db
from baojing.models.org import KIND_LABELS, MOBILE_ORG, PUBLISH_CHOICES, TOWNSHIP, VILLAGE, OrgUnit
from baojing.scoping import get_org_unit_or_404, township_choices
from baojing.services import branches as svc
from baojing.services.paging import fetch_page
from baojing.web.forms import commit_or_errors, new_request_id, options
from baojing.web.guards import require_role
from baojing.web.params import int_param

PARTICIPANTS_PER_PAGE = 20


@bp.get("/")
def index():
    """The tree, with active mobile members counted per village and 流动党组织."""
    require_role(*svc.MANAGERS)
    nodes, counts = svc.tree(current_user)
    return render_template(
        "branches/index.html", county=svc.county(), nodes=nodes, counts=counts,
        kinds={k: KIND_LABELS[k] for k in svc.CREATABLE},
    )  # fmt: skip


# --- create and edit -----------------------------------------------------------------------


@bp.route("/new", methods=["GET", "POST"])
def new():
    """A village branch, online branch or 流动党组织 under a township the user keeps."""
    require_role(*svc.MANAGERS)
    kind = request.values.get("kind", "")
    townships = township_choices(current_user)
    if kind not in svc.CREATABLE:
        return render_template("branches/new.html", form=None, kind=None, townships=townships,
                               kinds={k: KIND_LABELS[k] for k in svc.CREATABLE})  # fmt: skip
    form = NewUnitForm()
    form.township_id.choices = options(townships)
    if request.method == "GET":
        form.request_id.data = new_request_id()
        form.kind.data = kind
        wanted = int_param("township")
        if any(tid == wanted for tid, _ in townships):
            form.township_id.data = wanted
        elif len(townships) == 1:
            form.township_id.data = townships[0][0]
    if form.validate_on_submit():
        # One of township_choices(): the select refuses another township's id.
        township = db.session.get(OrgUnit, form.township_id.data)
        ok, unit = commit_or_errors(
            form,
            lambda: svc.create_unit(
                current_user, township, kind, form.service_data(kind), form.request_id.data
            ),
        )
        if ok:
            svc.units_changed()
            flash(f"已新建{unit.kind_label}：{unit.branch_name}", "success")
            return redirect(url_for("branches.unit", unit_id=unit.id), 303)
    return render_template(
        "branches/new.html", form=form, kind=kind, kind_label=KIND_LABELS[kind],
        single_township=len(townships) == 1,
    ), 422 if form.is_submitted() else 200  # fmt: skip


@bp.get("/<int:unit_id>")
def unit(unit_id: int):
    """A unit: details, contact person, members, and what can be done with it."""
    require_role(*svc.MANAGERS)
    return _unit_page(get_org_unit_or_404(current_user, unit_id))


def _unit_page(unit: OrgUnit, *, leave_forms: dict | None = None, status: int = 200):
    participants = others = None
    if unit.kind == MOBILE_ORG:
        participants = fetch_page(
            svc.unit_members(unit, current_user), int_param("page") or 1, PARTICIPANTS_PER_PAGE
        )
        others = svc.members_outside_scope(unit, current_user)
    return render_template(
        "branches/unit.html", unit=unit, township=svc.township_of(unit),
        active=svc.active_member_count(unit), accounts=svc.enabled_account_count(unit),
        participants=participants, others=others, leave_forms=leave_forms or {},
        editable=svc.editable_fields(current_user, unit), publish_choices=PUBLISH_CHOICES,
        movable=unit.kind in svc.MEMBER_COLUMN and unit.is_open,
        closable=unit.kind in svc.CREATABLE and unit.is_open,
    ), status  # fmt: skip


@bp.route("/<int:unit_id>/edit", methods=["GET", "POST"])
def edit(unit_id: int):
    """Rename a unit, or change its code, place, host organisation or contact person."""
    require_role(*svc.MANAGERS)
    unit = get_org_unit_or_404(current_user, unit_id)
    if unit.kind == TOWNSHIP:
        return redirect(url_for("branches.contact", unit_id=unit.id))
    if not svc.editable_fields(current_user, unit):
        flash("该组织已撤销，不能修改", "warning")
        return redirect(url_for("branches.unit", unit_id=unit.id), 303)
    form = UnitForm(obj=unit if request.method == "GET" else None)
    if form.validate_on_submit():
        ok, _ = commit_or_errors(
            form, lambda: svc.update_unit(current_user, unit, form.service_data(unit.kind))
        )
        if ok:
            svc.units_changed()
            flash("已保存", "success")
            return redirect(url_for("branches.unit", unit_id=unit.id), 303)
    return render_template(
        "branches/edit.html", form=form, unit=unit, kind=unit.kind
    ), 422 if form.is_submitted() else 200


# --- a unit's contact person ---------------------------------------------------------------


@bp.get("/contact")
def own_contact():
    """A secretary's or an org leader's way to their own unit's contact form."""
    require_role(*svc.OWN_CONTACT_ROLES)
    if not current_user.org_unit_id:
        abort(404)
    return redirect(url_for("branches.contact", unit_id=current_user.org_unit_id))


@bp.route("/<int:unit_id>/contact", methods=["GET", "POST"])
def contact(unit_id: int):
    """The contact person and which number, if any, the public contact list shows."""
    unit = _contact_unit_or_404(unit_id)
    if not set(svc.CONTACT_FIELDS) <= set(svc.editable_fields(current_user, unit)):
        abort(403)
    form = ContactForm(obj=unit if request.method == "GET" else None)
    if form.validate_on_submit():
        ok, _ = commit_or_errors(
            form, lambda: svc.update_unit(current_user, unit, form.contact_data())
        )
        if ok:
            flash("联系方式已保存", "success")
            if svc.can_manage(current_user):
                return redirect(url_for("branches.unit", unit_id=unit.id), 303)
            return redirect(url_for("branches.contact", unit_id=unit.id), 303)
    return render_template(
        "branches/contact.html", form=form, unit=unit, manager=svc.can_manage(current_user)
    ), 422 if form.is_submitted() else 200


def _contact_unit_or_404(unit_id: int) -> OrgUnit:
    """A unit the user keeps, or a secretary's or an org leader's own; 404 otherwise."""
    if svc.can_manage(current_user):
        return get_org_unit_or_404(current_user, unit_id)
    require_role(*svc.OWN_CONTACT_ROLES)
    if unit_id != current_user.org_unit_id:
        abort(404)
    unit = db.session.get(OrgUnit, unit_id)
    if unit is None or unit.kind not in (VILLAGE, MOBILE_ORG):
        abort(404)
    return unit
