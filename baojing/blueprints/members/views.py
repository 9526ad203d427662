"""The member registry: list, profile, create/edit, registration visits, liaisons."""

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from baojing import audit
from baojing.blueprints.members import bp, merge
from baojing.blueprints.members.forms import (
    AssignLiaisonForm,
    CancelVisitForm,
    ContactForm,
    HandoverForm,
    LiaisonForm,
    MemberForm,
    NewMemberForm,
    SelfContactForm,
    VisitForm,
)
from baojing.blueprints.members.present import list_rows
from baojing.dates import local_today
from baojing.extensions import db
from baojing.models.members import MEMBERSHIPS, VISIT_ITEMS
from baojing.models.org import OrgUnit
from baojing.models.users import MEMBER, VILLAGE_SECRETARY
from baojing.scoping import (
    MEMBER_LIST_ROLES,
    REGISTRY_ROLES,
    can_manage_registry,
    can_see_full_id,
    get_liaison_or_404,
    get_member_or_404,
    get_village_or_404,
    scoped_villages,
    village_choices,
)
from baojing.services import Conflict, RuleViolation, exports, member_profile
from baojing.services import members as svc
from baojing.services.certificates import listing as cert_listing
from baojing.web import htmx
from baojing.web.downloads import asked_full_ids, send_xlsx
from baojing.web.forms import apply_errors, commit_or_errors, new_request_id, options
from baojing.web.guards import recent_auth_required, require_role
from baojing.web.params import int_param

# --- list ----------------------------------------------------------------------------


@bp.route("/", methods=["GET", "POST"])
def index():
    """The members in scope, searchable by name / phone / ID tail, with alert filters.

    GET ?q= works (the contract, and browsers without JavaScript); the page itself
    searches by POST so that a name or phone number never lands in a URL, the
    browser history or an access log.
    """
    require_role(*MEMBER_LIST_ROLES)
    user = current_user._get_current_object()  # one proxy lookup for the whole view
    cutoffs = svc.AlertCutoffs.today()
    filters = _list_filters()
    result = svc.list_members(
        user,
        **filters,
        page=int_param("page") or 1,
        per_page=current_app.config["MEMBERS_PER_PAGE"],
        cutoffs=cutoffs,
    )
    context = {
        "result": result,
        "filters": filters,
        "cutoffs": cutoffs,
        "alert_labels": svc.ALERT_LABELS,
        "rows": list_rows(result.rows, show_village=user.role != VILLAGE_SECRETARY),
        # The list's URL; a profile is the list's URL and the id (routes are /members/<id>).
        "list_url": url_for("members.index"),
        "may_export_full_ids": exports.may_include_full_ids(user),
    }
    if htmx.wants_fragment():
        return htmx.render("members/list.html", "members/_results.html", **context)
    villages = [] if user.role == VILLAGE_SECRETARY else village_choices(user)
    return htmx.render(
        "members/list.html",
        provinces=svc.provinces_in_scope(user),
        villages=villages,
        **context,
    )


def _list_filters() -> dict:
    """The list's filters from the query string or the search form, trimmed and checked."""
    values = request.values
    return {
        "q": values.get("q", "").strip()[:40],
        "province": values.get("province", "")[:20],
        "alert": values.get("alert", "") if values.get("alert") in svc.ALERT_LABELS else "",
        "village_id": int_param("village"),
    }


@bp.route("/export.xlsx", methods=["GET", "POST"])
def export():
    """The list as .xlsx, with the same filters and scope as the page; audited.

    The page posts its filters (the search text stays out of URLs, as on the list);
    GET ?q= … works too (DESIGN.md contract). The write lock is taken only for the
    audit row, after the file is written (downloads.send_xlsx).
    """
    require_role(*MEMBER_LIST_ROLES)
    user = current_user._get_current_object()
    filters = _list_filters()
    full = exports.full_ids(user, asked_full_ids())
    listing = svc.export(user, **filters, cutoffs=svc.AlertCutoffs.today())
    return send_xlsx(listing, "export.members", filters=filters, full=full, entity_type="members")


# --- create and edit -----------------------------------------------------------------


def _village_choices(form) -> None:
    villages = village_choices(current_user)
    form.village_id.choices = options((vid, f"{name}党支部") for vid, name in villages)
    if len(villages) == 1 and not form.village_id.data:
        form.village_id.data = villages[0][0]


@bp.route("/new", methods=["GET", "POST"])
def new():
    """Register a mobile member."""
    require_role(*REGISTRY_ROLES)
    form = NewMemberForm()
    _village_choices(form)
    if request.method == "GET":
        form.request_id.data = new_request_id()
        form.join_date.data = None
    status = 200
    if form.validate_on_submit():
        village = get_village_or_404(current_user, form.village_id.data)
        ok, member = commit_or_errors(
            form,
            lambda: svc.create_member(village, form.data_for_service(), form.request_id.data),
        )
        if ok:
            flash(f"已登记流动党员 {member.name}", "success")
            return redirect(url_for("members.profile", member_id=member.id, saved="new"))
        status = 422
    elif form.is_submitted():
        status = 422
    return render_template("members/form.html", form=form, member=None), status


@bp.post("/validate")
def validate_field():
    """Inline validation of one field of the member form (htmx, on change)."""
    require_role(*REGISTRY_ROLES)
    name = request.form.get("_field", "")
    form = NewMemberForm() if "village_id" in request.form else MemberForm()
    if name not in form or name in ("csrf_token", "version", "original", "request_id"):
        abort(400)
    field = form[name]
    if name == "village_id":
        _village_choices(form)
    # Format only: whether an ID number is already registered is told on submit,
    # not to anyone probing this endpoint number by number.
    field.validate(form)
    return htmx.render("members/_field_error.html", field=field)


@bp.route("/<int:member_id>/edit", methods=["GET", "POST"])
def edit(member_id: int):
    """Edit a member; a save based on an old version is refused and the other's values shown."""
    member = get_member_or_404(current_user, member_id)
    require_role(*REGISTRY_ROLES)
    form = MemberForm(obj=member if request.method == "GET" else None)
    if request.method == "GET":
        form.id_number.data = ""
        form.version.data = member.version
        form.original.data = merge.fingerprint(form, svc.EDITABLE)
    status = 200
    conflict = None
    if form.validate_on_submit():
        version = form.version.data or ""
        try:
            svc.update_member(
                member, form.data_for_service(), int(version) if version.isdigit() else 0
            )
        except Conflict as exc:
            db.session.rollback()
            conflict = merge.merge_into(form, exc.current, svc.EDITABLE)
            form.version.data = exc.version  # the next save is made knowing theirs
            status = 409
            if not conflict:
                # Only bookkeeping moved (a contact logged, a liaison handed over):
                # nothing this user sees differs, so save on the new version.
                return _save_edit(member, form, exc.version)
        except RuleViolation as exc:
            db.session.rollback()
            apply_errors(form, exc.errors)
            status = 422
        else:
            db.session.commit()
            flash("已保存", "success")
            return redirect(url_for("members.profile", member_id=member.id, saved="edit"))
    elif form.is_submitted():
        status = 422
    return (
        render_template("members/form.html", form=form, member=member, conflict=conflict),
        status,
    )


def _save_edit(member, form, version: int):
    try:
        svc.update_member(member, form.data_for_service(), version)
    except (Conflict, RuleViolation):
        db.session.rollback()
        abort(409)  # changed yet again within the same second; let the user reload
    db.session.commit()
    flash("已保存", "success")
    return redirect(url_for("members.profile", member_id=member.id, saved="edit"))


# --- profile -------------------------------------------------------------------------


@bp.get("/me")
def me():
    """A member's own profile."""
    if current_user.role != MEMBER or not current_user.member_id:
        abort(404)
    return redirect(url_for("members.profile", member_id=current_user.member_id))


@bp.get("/<int:member_id>")
def profile(member_id: int):
    """Everything about one member that the viewer may see; the full phone and address
    make it an audited read."""
    context = _profile_context(member_id)
    audit.record_read("members", member_id, member_id=member_id)
    return render_template("members/profile.html", **context)


def _profile_context(member_id: int, full_id: str | None = None) -> dict:
    user = current_user._get_current_object()  # one proxy lookup for the whole page
    registry = can_manage_registry(user)
    view = member_profile.load(user, member_id, registry=registry)
    if view is None:
        abort(404)
    return {
        "view": view,
        "m": view.member,
        "alerts": svc.AlertCutoffs.today().alerts(view.member),
        "alert_labels": svc.ALERT_LABELS,
        "memberships": MEMBERSHIPS,
        "visit_items": VISIT_ITEMS,
        "full_id": full_id,
        "can_reveal": can_see_full_id(user, view.member),
        "registry": registry,
        "saved": request.args.get("saved", ""),
        "certificates": cert_listing.of_member(member_id),
    }


@bp.post("/<int:member_id>/reveal-id")
def reveal_id(member_id: int):
    """Show the full ID number to those allowed — audited, never put in a URL or cookie."""
    member = get_member_or_404(current_user, member_id)
    if not can_see_full_id(current_user, member):
        abort(403)
    full = svc.reveal_id(member)
    db.session.commit()
    if htmx.wants_fragment():
        return render_template("members/_full_id.html", full_id=full, member_id=member.id)
    return render_template("members/profile.html", **_profile_context(member.id, full_id=full))


@bp.route("/<int:member_id>/contact-info", methods=["GET", "POST"])
@recent_auth_required
def self_contact(member_id: int):
    """A member updates their own phone and current address."""
    member = get_member_or_404(current_user, member_id)
    if current_user.role != MEMBER:
        abort(403)
    form = SelfContactForm(obj=member if request.method == "GET" else None)
    status = 200
    if form.validate_on_submit():
        svc.update_own_contact(
            member, {"phone": form.phone.data, "dest_address": form.dest_address.data}
        )
        db.session.commit()
        flash("联系方式已更新，谢谢！", "success")
        return redirect(url_for("members.profile", member_id=member.id, saved="self"))
    if form.is_submitted():
        status = 422
    return render_template("members/self_contact.html", form=form, member=member), status


# --- registration visits, contacts, liaison ------------------------------------------


def _record_for_member(member, form, save, *, done: str, saved: str, template: str):
    """The shape 上门登记 and 记录联系 share: validate, save once, or show the form again."""
    if form.validate_on_submit() and commit_or_errors(form, save)[0]:
        flash(done, "success")
        return redirect(url_for("members.profile", member_id=member.id, saved=saved))
    status = 422 if form.is_submitted() else 200
    return render_template(template, form=form, member=member), status


@bp.route("/<int:member_id>/visit", methods=["GET", "POST"])
def visit(member_id: int):
    """Record a door-to-door registration visit (上门登记)."""
    member = get_member_or_404(current_user, member_id)
    require_role(*REGISTRY_ROLES)
    form = VisitForm()
    if request.method == "GET":
        form.visited_on.data = local_today()
        form.request_id.data = new_request_id()
    return _record_for_member(
        member,
        form,
        lambda: svc.record_visit(member, current_user, form.service_data(), form.request_id.data),
        done="上门登记已记录",
        saved="visit",
        template="members/visit.html",
    )


@bp.post("/<int:member_id>/visits/<int:visit_id>/cancel")
def cancel_visit(member_id: int, visit_id: int):
    """Cancel a registration visit recorded by mistake; the points it earned go back."""
    member = get_member_or_404(current_user, member_id)
    require_role(*REGISTRY_ROLES)
    form = CancelVisitForm()
    if form.validate_on_submit():
        try:
            ok, _ = commit_or_errors(
                form, lambda: svc.cancel_visit(member, visit_id, current_user, form.reason.data)
            )
        except LookupError:
            db.session.rollback()
            abort(404)
        if ok:
            flash("已撤销这条上门登记", "success")
            return redirect(url_for("members.profile", member_id=member.id))
    for message in form.reason.errors:
        flash(message, "error")
    return redirect(url_for("members.profile", member_id=member.id), 303)


@bp.route("/<int:member_id>/contact", methods=["GET", "POST"])
def contact(member_id: int):
    """Note a call, message or meeting with the member."""
    member = get_member_or_404(current_user, member_id)
    require_role(*REGISTRY_ROLES)
    form = ContactForm()
    if request.method == "GET":
        form.contacted_on.data = local_today()
        form.request_id.data = new_request_id()
    return _record_for_member(
        member,
        form,
        lambda: svc.log_contact(member, current_user, form.service_data(), form.request_id.data),
        done="联系记录已保存",
        saved="contact",
        template="members/contact.html",
    )


@bp.post("/<int:member_id>/liaison")
def assign_liaison(member_id: int):
    """Name the branch member who keeps in touch with this member."""
    member = get_member_or_404(current_user, member_id)
    require_role(*REGISTRY_ROLES)
    form = AssignLiaisonForm()
    form.liaison_id.choices = options(
        (c.id, c.name) for c in svc.liaisons_of_village(member.village_id)
    )
    if not form.validate_on_submit():
        flash("请选择本村的联络人", "error")
        return redirect(url_for("members.profile", member_id=member.id)), 303
    liaison = get_liaison_or_404(current_user, form.liaison_id.data)
    try:
        svc.assign_liaison(member, liaison, current_user)
    except RuleViolation as exc:
        db.session.rollback()
        flash(next(iter(exc.errors.values())), "error")
        return redirect(url_for("members.profile", member_id=member.id)), 303
    db.session.commit()
    flash(f"联络人已改为 {liaison.name}", "success")
    return redirect(url_for("members.profile", member_id=member.id))


@bp.route("/liaisons", methods=["GET", "POST"])
def liaisons():
    """A village's liaisons: add one, or hand all of one's members to another."""
    require_role(*REGISTRY_ROLES)
    villages = scoped_villages(current_user)
    if not villages:
        abort(404)
    village_id = int_param("village") or villages[0].id
    village: OrgUnit = get_village_or_404(current_user, village_id)
    contacts = svc.liaisons_of_village(village.id)
    add_form = LiaisonForm(prefix="add")
    if request.method == "GET":
        add_form.request_id.data = new_request_id()
    handover_form = HandoverForm(prefix="handover")
    choices = options((c.id, f"{c.name}（{c.role}）") for c in contacts)
    handover_form.source_id.choices = choices
    handover_form.target_id.choices = choices
    status = 200
    if request.method == "POST":
        status = 422
        if request.form.get("action") == "add" and add_form.validate_on_submit():
            data = {
                "name": add_form.name.data,
                "phone": add_form.phone.data,
                "role": add_form.role.data,
            }
            ok, _ = commit_or_errors(
                add_form, lambda: svc.add_liaison(village, data, add_form.request_id.data)
            )
            if ok:
                flash(f"已添加联络人 {add_form.name.data}", "success")
                return redirect(url_for("members.liaisons", village=village.id))
        elif request.form.get("action") == "handover" and handover_form.validate_on_submit():
            source = get_liaison_or_404(current_user, handover_form.source_id.data)
            target = get_liaison_or_404(current_user, handover_form.target_id.data)
            ok, moved = commit_or_errors(
                handover_form,
                lambda: svc.handover(source, target, current_user, handover_form.note.data),
            )
            if ok:
                flash(f"已将 {source.name} 联系的 {moved} 名党员移交给 {target.name}", "success")
                return redirect(url_for("members.liaisons", village=village.id))
    counts = svc.liaison_member_counts(village.id)
    return (
        render_template(
            "members/liaisons.html",
            village=village,
            villages=villages,
            contacts=contacts,
            counts=counts,
            add_form=add_form,
            handover_form=handover_form,
        ),
        status,
    )
