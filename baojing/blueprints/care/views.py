"""Care: the secretary's to-do, care cases and visits, family pairings, service requests."""

from flask import (
    abort,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_login import current_user

from baojing import audit
from baojing.blueprints.care import bp
from baojing.blueprints.care.forms import (
    CaseForm,
    DueDaysForm,
    HelpForm,
    MemberCaseForm,
    MemberServiceRequestForm,
    PairingForm,
    ReasonForm,
    ServiceRequestForm,
    UpdateForm,
    VisitForm,
)
from baojing.dates import local_today
from baojing.models.care import (
    CARE_KINDS,
    CASE_STATUSES,
    HELP_KINDS,
    IN_PERSON,
    PENDING,
    REPORTED_VIA,
    SERVICE_KINDS,
    SERVICE_OPENED_VIA,
    SERVICE_STATUSES,
    VISIT_METHODS,
    CareCase,
    FamilyPairing,
    ServiceRequest,
)
from baojing.models.users import COUNTY_ADMIN, MEMBER, TOWNSHIP_OFFICER
from baojing.scoping import (
    REGISTRY_ROLES,
    get_member_or_404,
    get_scoped_or_404,
    get_village_or_404,
    village_choices,
)
from baojing.services import RuleViolation
from baojing.services.care import cases, listing, pairings, photos, stats, todo
from baojing.services.care import requests as services
from baojing.web import htmx
from baojing.web.downloads import send_xlsx
from baojing.web.forms import (
    apply_errors,
    commit_or_errors,
    flash_saved,
    new_request_id,
    options,
)
from baojing.web.guards import require_role
from baojing.web.params import int_param
from baojing.web.uploads import accepts_upload

LABELS = {
    "care_kinds": CARE_KINDS,
    "case_statuses": CASE_STATUSES,
    "visit_methods": VISIT_METHODS,
    "in_person": IN_PERSON,
    "reported_via": REPORTED_VIA,
    "help_kinds": HELP_KINDS,
    "service_kinds": SERVICE_KINDS,
    "service_statuses": SERVICE_STATUSES,
    "opened_via": SERVICE_OPENED_VIA,
}


def _member_for_new():
    """The member a new case / pairing / request is for: the member themself, or ?member_id."""
    if current_user.role == MEMBER:
        return get_member_or_404(current_user, current_user.member_id)
    require_role(*REGISTRY_ROLES)
    member_id = int_param("member_id")
    return get_member_or_404(current_user, member_id) if member_id else None


def _form_page(template: str, form, **context):
    """A form shown again: 422 after a refused submit, 200 when first opened."""
    status = 422 if form.is_submitted() else 200
    return render_template(template, form=form, **LABELS, **context), status


# --- the to-do ---------------------------------------------------------------------------


@bp.get("/")
def index():
    """The secretary's phone home for care: cases to visit, requests waiting, idle pairings."""
    if current_user.role == MEMBER:
        return redirect(url_for("care.mine"))
    require_role(*REGISTRY_ROLES)
    return render_template(
        "care/todo.html", todo=todo.todo_for(current_user, local_today()), **LABELS
    )


@bp.get("/mine")
def mine():
    """A member's own care events and service requests, from far away."""
    require_role(MEMBER)
    mine = listing.for_member(current_user.member_id)
    return render_template("care/mine.html", mine=mine, **LABELS)


# --- care cases ----------------------------------------------------------------------------


def _case_filters() -> dict:
    """The case list's filters, shared by the page and its export."""
    return {"status": request.args.get("status", "pending"), "kind": request.args.get("kind", "")}


@bp.get("/cases")
def case_list():
    require_role(*REGISTRY_ROLES)
    filters = _case_filters()
    page = listing.cases(current_user, **filters, today=local_today(), page=int_param("page") or 1)
    return render_template("care/cases.html", page=page, today=local_today(), **filters, **LABELS)


@bp.get("/cases/export.xlsx")
def case_export():
    """The case list as .xlsx, with the page's filters and scope; audited."""
    require_role(*REGISTRY_ROLES)
    filters = _case_filters()
    export = listing.export_cases(current_user, **filters, today=local_today())
    return send_xlsx(export, "export.care_cases", filters=filters, entity_type="care_cases")


@bp.route("/cases/new", methods=["GET", "POST"])
def new_case():
    """Report a care event: by a member for their family, or by the branch for a member."""
    member = _member_for_new()
    if member is None:
        return render_template("care/pick_member.html", what="报告关怀事件")
    form = MemberCaseForm() if current_user.role == MEMBER else CaseForm()
    if request.method == "GET":
        form.event_on.data = local_today()
        form.request_id.data = new_request_id()
    if form.validate_on_submit():
        ok, opened = commit_or_errors(
            form,
            lambda: cases.open_case(
                member, current_user, form.service_data(), form.request_id.data
            ),
        )
        if ok and current_user.role == MEMBER:
            flash_saved("已报告给支部，支部会尽快联系您的家人", f"care-case-{member.id}")
            return redirect(url_for("care.mine"), 303)
        if ok:
            due = opened.due_on
            flash_saved(f"已登记，请在 {due.month}月{due.day}日前走访", f"care-case-{member.id}")
            return redirect(url_for("care.case", case_id=opened.id), 303)
    return _form_page("care/case_form.html", form, member=member)


@bp.get("/cases/<int:case_id>")
def case(case_id: int):
    """A care case and its visits: health and family data, so the read is audited."""
    return _case_page(get_scoped_or_404(current_user, CareCase, case_id), read=True)


def _case_page(
    row: CareCase, cancel_form: ReasonForm | None = None, status: int = 200, read: bool = False
):
    """The case; a refused cancel comes back in cancel_form with its message and reason."""
    member_view = current_user.role == MEMBER
    visits = cases.case_visits(row, shared_only=member_view)
    if read:
        audit.record_read(
            "care_cases", row.id, member_id=row.member_id, after={"visits": [v.id for v in visits]}
        )
    return render_template(
        "care/case.html",
        case=row,
        visits=visits,
        member_view=member_view,
        cancel_form=cancel_form or ReasonForm(formdata=None, request_id=new_request_id()),
        today=local_today(),
        pending=row.status in PENDING,
        **LABELS,
    ), status


@bp.route("/cases/<int:case_id>/visit", methods=["GET", "POST"])
@accepts_upload(photos.request_limit)
def visit(case_id: int):
    """Record a visit (with photos). Photos are processed before the write lock is taken."""
    require_role(*REGISTRY_ROLES)
    row = get_scoped_or_404(current_user, CareCase, case_id)
    if request.method == "GET" and row.status not in PENDING:
        flash("这条关怀事件已经办结或取消，不需要再走访", "info")
        return redirect(url_for("care.case", case_id=row.id), 303)
    form = VisitForm()
    if request.method == "GET":
        form.visited_on.data = local_today()
        form.request_id.data = new_request_id()
        form.visitors.data = current_user.display_name
    saved = None
    if form.validate_on_submit():
        try:
            processed = _processed_photos(form)
        except RuleViolation as exc:
            apply_errors(form, exc.errors)
        else:
            ok, saved = commit_or_errors(
                form,
                lambda: cases.record_visit(
                    row, current_user, form.service_data(), processed, form.request_id.data
                ),
            )
    if saved is not None:
        if saved.method not in IN_PERSON:
            flash_saved(f"已记录这次{VISIT_METHODS[saved.method]}", f"care-visit-{row.id}")
            flash("四必访须上门走访：电话、微信只算联系，这条事件没有办结，仍待走访", "warning")
        else:
            done = "，事件已办结" if row.status == "closed" else "，请按时跟进"
            flash_saved("走访已记录" + done, f"care-visit-{row.id}")
        target = url_for("care.case", case_id=row.id)
        if htmx.wants_fragment():
            # htmx posted the form: let the browser itself go to the case page.
            response = make_response("", 200)
            response.headers["HX-Redirect"] = target
            return response
        return redirect(target, 303)
    status = 422 if form.is_submitted() else 200
    context = {"form": form, "case": row, "had_photos": _has_files(form), **LABELS}
    return htmx.render("care/visit_form.html", "care/_visit_form.html", status=status, **context)


def _has_files(form) -> bool:
    return any(getattr(f, "filename", "") for f in form.photos.data or [])


def _processed_photos(form) -> list[photos.ProcessedPhoto]:
    files = [f for f in (form.photos.data or []) if getattr(f, "filename", "")]
    if len(files) > photos.MAX_PHOTOS:
        raise RuleViolation({"photos": f"每次最多上传 {photos.MAX_PHOTOS} 张照片"})
    limit = photos.max_bytes()
    return [photos.process(f.stream.read(limit + 1), n) for n, f in enumerate(files, 1)]


@bp.post("/cases/<int:case_id>/cancel")
def cancel_case(case_id: int):
    require_role(*REGISTRY_ROLES)
    row = get_scoped_or_404(current_user, CareCase, case_id)
    form = ReasonForm()
    if (
        form.validate_on_submit()
        and commit_or_errors(
            form,
            lambda: cases.cancel_case(row, current_user, form.reason.data, form.request_id.data),
        )[0]
    ):
        flash("已取消这条关怀事件", "success")
        return redirect(url_for("care.case", case_id=row.id), 303)
    # Refused: the page again, the message by the reason, what was typed kept.
    return _case_page(row, cancel_form=form, status=422)


@bp.get("/photos/<int:photo_id>")
@bp.get("/photos/<int:photo_id>/thumb", endpoint="photo_thumb")
def photo(photo_id: int):
    """A visit photo, to those who may see its case; never under its uploaded name.

    Opening the photo is an audited read; its thumbnail is part of the case page, whose
    read names the visit.
    """
    found = cases.photo_in_scope(current_user, photo_id)
    if found is None:
        abort(404)
    row, member_id = found
    thumb = request.endpoint == "care.photo_thumb"
    path = photos.path_of(row.token, thumb=thumb)
    if not path.exists():
        abort(404)
    if not thumb:
        audit.record_read("care_photos", row.id, member_id=member_id)
    response = send_file(
        path, mimetype="image/jpeg", as_attachment=not thumb and "download" in request.args,
        download_name=f"visit-photo-{row.id}.jpg", conditional=True, max_age=0,
    )  # fmt: skip
    return response  # web.py marks it Cache-Control: no-store, as every page


# --- family pairing ----------------------------------------------------------------------


@bp.get("/pairings")
def pairing_list():
    require_role(*REGISTRY_ROLES)
    idle_only = request.args.get("idle") == "1"
    page = listing.pairings(
        current_user, local_today(), idle_only=idle_only, page=int_param("page") or 1
    )
    return render_template("care/pairings.html", page=page, idle_only=idle_only, **LABELS)


@bp.route("/pairings/new", methods=["GET", "POST"])
def new_pairing():
    require_role(*REGISTRY_ROLES)
    member = _member_for_new()
    if member is None:
        return render_template("care/pick_member.html", what="结对帮扶")
    form = PairingForm()
    form.branch_id.choices = options(
        (vid, f"{name}党支部") for vid, name in village_choices(current_user)
    )
    if request.method == "GET":
        form.branch_id.data = member.village_id
        form.started_on.data = local_today()
        form.request_id.data = new_request_id()
    if form.validate_on_submit():
        branch = get_village_or_404(current_user, form.branch_id.data)
        ok, saved = commit_or_errors(
            form,
            lambda: pairings.start_pairing(
                member, branch, current_user, form.service_data(), form.request_id.data
            ),
        )
        if ok:
            flash_saved("已建立结对", f"pairing-{member.id}")
            return redirect(url_for("care.pairing", pairing_id=saved.id), 303)
    return _form_page("care/pairing_form.html", form, member=member)


def _pairing_page(
    row: FamilyPairing, help_form: HelpForm, status: int = 200, end_form: ReasonForm | None = None
):
    """The pairing; a refused form comes back with its message and what was typed."""
    return render_template(
        "care/pairing.html", pairing=row, helps=pairings.helps_of(row), help_form=help_form,
        end_form=end_form or ReasonForm(formdata=None, request_id=new_request_id()), **LABELS,
    ), status  # fmt: skip


@bp.get("/pairings/<int:pairing_id>")
def pairing(pairing_id: int):
    require_role(*REGISTRY_ROLES)
    row = get_scoped_or_404(current_user, FamilyPairing, pairing_id)
    form = HelpForm(formdata=None, helped_on=local_today(), request_id=new_request_id())
    return _pairing_page(row, form)


@bp.post("/pairings/<int:pairing_id>/help")
def pairing_help(pairing_id: int):
    require_role(*REGISTRY_ROLES)
    row = get_scoped_or_404(current_user, FamilyPairing, pairing_id)
    form = HelpForm()
    if (
        form.validate_on_submit()
        and commit_or_errors(
            form,
            lambda: pairings.log_help(row, current_user, form.service_data(), form.request_id.data),
        )[0]
    ):
        flash_saved("已记录帮扶", f"pairing-help-{row.id}")
        return redirect(url_for("care.pairing", pairing_id=row.id), 303)
    return _pairing_page(row, form, 422)


@bp.post("/pairings/<int:pairing_id>/end")
def end_pairing(pairing_id: int):
    require_role(*REGISTRY_ROLES)
    row = get_scoped_or_404(current_user, FamilyPairing, pairing_id)
    form = ReasonForm()
    if (
        form.validate_on_submit()
        and commit_or_errors(
            form,
            lambda: pairings.end_pairing(row, current_user, form.reason.data, form.request_id.data),
        )[0]
    ):
        flash("结对已结束，帮扶记录保留", "success")
        return redirect(url_for("care.pairing", pairing_id=row.id), 303)
    # Refused: the page again, the message by the reason, what was typed kept.
    help_form = HelpForm(formdata=None, helped_on=local_today(), request_id=new_request_id())
    return _pairing_page(row, help_form, 422, end_form=form)


# --- liaison service requests -------------------------------------------------------------


@bp.get("/requests")
def request_list():
    require_role(*REGISTRY_ROLES)
    status = request.args.get("status", "waiting")
    page = listing.requests(current_user, status=status, page=int_param("page") or 1)
    return render_template("care/requests.html", page=page, status=status, **LABELS)


@bp.route("/requests/new", methods=["GET", "POST"])
def new_request():
    member = _member_for_new()
    if member is None:
        return render_template("care/pick_member.html", what="服务请求")
    form = MemberServiceRequestForm() if current_user.role == MEMBER else ServiceRequestForm()
    if request.method == "GET":
        form.request_id.data = new_request_id()
    if form.validate_on_submit():
        ok, saved = commit_or_errors(
            form,
            lambda: services.open_request(
                member, current_user, form.service_data(), form.request_id.data
            ),
        )
        if ok:
            message = (
                "已提交，联络人会跟进并在这里回复" if current_user.role == MEMBER else "已受理"
            )
            flash_saved(message, f"service-{member.id}")
            return redirect(url_for("care.service_request", request_id=saved.id), 303)
    return _form_page("care/request_form.html", form, member=member)


def _update_form(req: ServiceRequest, submitted: bool = False) -> UpdateForm:
    """The thread's form; its status menu offers only the moves this user may make."""
    form = UpdateForm() if submitted else UpdateForm(formdata=None)
    form.status.choices = options(
        [
            ("", "仅留言"),
            *((s, SERVICE_STATUSES[s]) for s in services.next_statuses(req, current_user)),
        ]
    )
    return form


@bp.route("/requests/<int:request_id>", methods=["GET"])
def service_request(request_id: int):
    req = get_scoped_or_404(current_user, ServiceRequest, request_id)
    form = _update_form(req)
    form.request_id.data = new_request_id()
    return _request_page(req, form)


def _request_page(req: ServiceRequest, form: UpdateForm, status: int = 200):
    return render_template(
        "care/request.html", req=req, updates=services.thread(req), form=form, **LABELS
    ), status


@bp.post("/requests/<int:request_id>/update")
def request_update(request_id: int):
    req = get_scoped_or_404(current_user, ServiceRequest, request_id)
    if current_user.role not in (*REGISTRY_ROLES, MEMBER):
        abort(403)
    form = _update_form(req, submitted=True)
    if (
        form.validate_on_submit()
        and commit_or_errors(
            form,
            lambda: services.add_update(
                req, current_user, form.service_data(), form.request_id.data
            ),
        )[0]
    ):
        flash_saved("已更新", f"service-update-{req.id}")
        return redirect(url_for("care.service_request", request_id=req.id), 303)
    return _request_page(req, form, 422)


# --- township and county ---------------------------------------------------------------


@bp.get("/stats")
def care_stats():
    require_role(COUNTY_ADMIN, TOWNSHIP_OFFICER)
    return render_template(
        "care/stats.html", stats=stats.care_stats(current_user, local_today()), **LABELS
    )


@bp.route("/settings", methods=["GET", "POST"])
def settings():
    require_role(COUNTY_ADMIN)
    form = DueDaysForm(data=cases.due_days() if request.method == "GET" else None)
    if form.validate_on_submit():
        days = {kind: form[kind].data for kind in CARE_KINDS}
        if commit_or_errors(form, lambda: cases.set_due_days(days))[0]:
            flash("已保存走访时限", "success")
            return redirect(url_for("care.settings"), 303)
    return _form_page("care/settings.html", form)
