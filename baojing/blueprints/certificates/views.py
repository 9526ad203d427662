"""持证管理: issue, renew, revoke and take back certificates; the PDFs as issued."""

from flask import (
    abort,
    current_app,
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
from baojing.blueprints.certificates import bp
from baojing.blueprints.certificates.forms import (
    BatchForm,
    CheckForm,
    IssueForm,
    ReceiptForm,
    RenewForm,
    RevokeForm,
    TransferForm,
)
from baojing.dates import local_today
from baojing.db import done_writing
from baojing.extensions import db
from baojing.models.certificates import (
    CERT_KINDS,
    CERT_STATUSES,
    VALID,
    Certificate,
    PrintJob,
    Transfer,
)
from baojing.models.members import Member
from baojing.models.users import COUNTY_ADMIN, MEMBER, TOWNSHIP_OFFICER
from baojing.scoping import (
    REGISTRY_ROLES,
    get_member_or_404,
    get_scoped_or_404,
    township_choices,
)
from baojing.services import RuleViolation, exports, settings
from baojing.services.care import photos
from baojing.services.certificates import batch, checks, fonts, issue, listing
from baojing.services.certificates import transfers as transfer_svc
from baojing.web.downloads import asked_full_ids, send_xlsx
from baojing.web.forms import (
    apply_errors,
    commit_or_errors,
    first_error,
    flash_saved,
    new_request_id,
    options,
)
from baojing.web.guards import require_role
from baojing.web.params import int_param
from baojing.web.uploads import accepts_upload

# Issuing and voiding papers that strangers far away will trust: township and county only.
ISSUER_ROLES = (COUNTY_ADMIN, TOWNSHIP_OFFICER)
LABELS = {"cert_kinds": CERT_KINDS, "cert_statuses": CERT_STATUSES}


@bp.get("/")
def index():
    require_role(*REGISTRY_ROLES)
    status = request.args.get("status", "valid")
    page = listing.certificates(
        current_user, status=status, today=local_today(), page=int_param("page") or 1
    )
    return render_template(
        "certificates/index.html", page=page, status=status, today=local_today(),
        can_issue=current_user.role in ISSUER_ROLES,
        may_export_full_ids=exports.may_include_full_ids(current_user), **LABELS,
    )  # fmt: skip


@bp.get("/export.xlsx")
def export():
    """The certificate list as .xlsx, with the page's filter and scope; audited."""
    require_role(*REGISTRY_ROLES)
    filters = {"status": request.args.get("status", "valid")}
    full = exports.full_ids(current_user, asked_full_ids())
    sheet = listing.export_certificates(current_user, **filters, today=local_today())
    return send_xlsx(
        sheet, "export.certificates", filters=filters, full=full, entity_type="certificates"
    )


@bp.route("/new", methods=["GET", "POST"])
@accepts_upload(photos.request_limit)
def new():
    """Issue a letter or a card; the PDF is rendered now and kept as issued."""
    require_role(*ISSUER_ROLES)
    member_id = int_param("member_id")
    if not member_id:
        return render_template("care/pick_member.html", what="发证")
    member = get_member_or_404(current_user, member_id)
    form = IssueForm()
    today = local_today()
    if request.method == "GET":
        form.valid_until.data = issue.default_valid_until("card", today)
        form.destination.data = f"{member.dest_province}{member.dest_city}"
        form.request_id.data = new_request_id()
    if form.validate_on_submit():
        try:
            photo = _photo(form)
            fonts.require_cjk_font()
        except RuleViolation as exc:
            apply_errors(form, exc.errors)
        except fonts.NoCJKFont as exc:
            return render_template("errors/http.html", status=503, error=exc, fragment=False), 503
        else:
            ok, cert = commit_or_errors(
                form,
                lambda: issue.issue(
                    db.session.get(Member, member.id), current_user, form.service_data(), photo,
                    form.request_id.data,
                ),
            )  # fmt: skip
            if ok:
                flash_saved(f"已发证，编号 {cert.serial}", f"cert-{member.id}")
                return redirect(url_for("certificates.show", cert_id=cert.id), 303)
    status = 422 if form.is_submitted() else 200
    defaults = {kind: issue.default_valid_until(kind, today).isoformat() for kind in CERT_KINDS}
    return render_template(
        "certificates/new.html", form=form, member=member, defaults=defaults, **LABELS
    ), status


def _photo(form) -> photos.ProcessedPhoto | None:
    upload = form.photo.data
    if not getattr(upload, "filename", ""):
        return None
    return photos.process(upload.stream.read(photos.max_bytes() + 1), 1)


@bp.get("/<int:cert_id>")
def show(cert_id: int):
    if current_user.role not in (*REGISTRY_ROLES, MEMBER):
        abort(404)
    cert = get_scoped_or_404(current_user, Certificate, cert_id)
    return _show_page(cert)


def _show_page(
    cert: Certificate, *, renew_form=None, revoke_form=None, check_form=None, error: str = ""
):
    """The certificate page; after a refused check/renew/revoke/return, its forms with the
    errors."""
    today = local_today()
    if renew_form is None:
        renew_form = RenewForm(
            formdata=None, valid_until=issue.default_valid_until(cert.kind, today),
            request_id=new_request_id(),
        )  # fmt: skip
    if check_form is None:
        check_form = CheckForm(formdata=None, checked_on=today, request_id=new_request_id())
    return render_template(
        "certificates/show.html", cert=cert, history=listing.of_member(cert.member_id),
        today=today, can_issue=current_user.role in ISSUER_ROLES,
        code=issue.grouped(cert.verify_code), verify_url=issue.verify_url(cert.verify_code),
        renew_form=renew_form, revoke_form=revoke_form or RevokeForm(formdata=None),
        check_form=check_form, card_checks=checks.of_card(cert.id) if cert.kind == "card" else [],
        error=error, **LABELS,
    )  # fmt: skip


def _refused(cert: Certificate, form, shown: str, **forms):
    """422, the messages by the form's field; above the forms when that field cannot show
    them (the card is void by now and its forms are gone, a letter has no 年审 form, or
    the hidden key expired)."""
    shows_form = cert.status == VALID and (shown != "checked_on" or cert.kind == "card")
    by_field = shows_form and form[shown].errors
    return _show_page(cert, error="" if by_field else first_error(form), **forms), 422


@bp.get("/<int:cert_id>.pdf")
def download(cert_id: int):
    """The PDF exactly as issued; every download is in the audit log."""
    if current_user.role not in (*REGISTRY_ROLES, MEMBER):
        abort(404)
    cert = get_scoped_or_404(current_user, Certificate, cert_id)
    return _send_kept(cert, issue.stored_pdf(cert), "certificate.download")


def _send_kept(row, data: bytes, action: str):
    """A kept PDF (certificate or transfer letter), its download in the audit log."""
    audit.record_access(action, row, after={"serial": row.serial})
    db.session.commit()
    response = make_response(data)
    response.headers["Content-Type"] = "application/pdf"
    response.headers["Content-Disposition"] = f'inline; filename="{row.serial}.pdf"'
    return response


@bp.post("/<int:cert_id>/check")
def check(cert_id: int):
    """年审: the yearly check, recorded on the same card (same serial, same paper)."""
    require_role(*ISSUER_ROLES)
    cert = get_scoped_or_404(current_user, Certificate, cert_id)
    form = CheckForm()
    if form.validate_on_submit():
        ok, done = commit_or_errors(
            form,
            lambda: checks.record(cert, current_user, form.service_data(), form.request_id.data),
        )
        if ok:
            flash(f"已登记年审，下次年审在 {done.next_due_on:%Y-%m-%d} 前", "success")
            return redirect(url_for("certificates.show", cert_id=cert.id), 303)
    return _refused(cert, form, "checked_on", check_form=form)


@bp.post("/<int:cert_id>/renew")
def renew(cert_id: int):
    require_role(*ISSUER_ROLES)
    cert = get_scoped_or_404(current_user, Certificate, cert_id)
    form = RenewForm()
    if form.validate_on_submit():
        ok, new_cert = commit_or_errors(
            form,
            lambda: issue.renew(cert, current_user, form.valid_until.data, form.request_id.data),
        )
        if ok:
            flash(f"已换发新证 {new_cert.serial}，原证件作废", "success")
            return redirect(url_for("certificates.show", cert_id=new_cert.id), 303)
    return _refused(cert, form, "valid_until", renew_form=form)


@bp.post("/<int:cert_id>/revoke")
def revoke(cert_id: int):
    require_role(*ISSUER_ROLES)
    cert = get_scoped_or_404(current_user, Certificate, cert_id)
    form = RevokeForm()
    if (
        form.validate_on_submit()
        and commit_or_errors(form, lambda: issue.revoke(cert, current_user, form.reason.data))[0]
    ):
        flash("证件已作废，核验页面即时显示“已作废”", "success")
        return redirect(url_for("certificates.show", cert_id=cert.id), 303)
    return _refused(cert, form, "reason", revoke_form=form)


@bp.post("/<int:cert_id>/return")
def mark_returned(cert_id: int):
    require_role(*REGISTRY_ROLES)
    cert = get_scoped_or_404(current_user, Certificate, cert_id)
    try:
        issue.mark_returned(cert, current_user)
    except RuleViolation as exc:
        db.session.rollback()  # no field to put it by: the page shows it above the forms
        return _show_page(cert, error=next(iter(exc.errors.values()))), 422
    db.session.commit()
    flash("已登记证件交回", "success")
    return redirect(url_for("certificates.show", cert_id=cert.id), 303)


# --- batch 年审 and its register ------------------------------------------------------------


@bp.route("/batch", methods=["GET", "POST"])
def batch_page():
    """Record the 年审 of every activity card due in a township, and print its register."""
    require_role(*ISSUER_ROLES)
    townships = township_choices(current_user)
    per_township = listing.due_per_township(current_user, local_today())
    form = BatchForm()
    form.township_id.choices = options(
        (tid, f"{name}（{per_township.get(tid, 0)} 张）") for tid, name in townships
    )
    if current_user.role == TOWNSHIP_OFFICER:
        form.township_id.data = current_user.township_id
    if form.validate_on_submit():
        title = f"{dict(townships).get(form.township_id.data, '')}活动证年审"
        ok, job = commit_or_errors(
            form, lambda: batch.start(current_user, form.township_id.data, title)
        )
        if ok:
            _launch(job)
            return redirect(url_for("certificates.batch_job", job_id=job.id), 303)
    status = 422 if form.is_submitted() else 200
    return render_template(
        "certificates/batch.html",
        form=form,
        due_count=sum(per_township.values()),
        window=settings.value("renewal_window_days"),
    ), status


def _launch(job: PrintJob) -> None:
    """Run a recorded (or resumed) job as the current user: in a thread, or here in tests."""
    if current_app.config.get("PRINT_JOBS_INLINE"):
        batch.run(job.id, current_user.id)
    else:
        batch.run_in_background(job.id, current_user.id, request.url_root)


def _job_or_404(job_id: int) -> PrintJob:
    """A job in the issuer's scope (the county: all; a township: its own); otherwise 404."""
    if current_user.role not in ISSUER_ROLES:
        abort(404)
    return get_scoped_or_404(current_user, PrintJob, job_id)


@bp.get("/batch/<int:job_id>")
def batch_job(job_id: int):
    """Progress; the page reloads itself every 2 s until the PDF is ready (no script needed)."""
    return _job_page(_job_or_404(job_id))


def _job_page(job: PrintJob, error: str = ""):
    return render_template(
        "certificates/batch_job.html", job=job, stalled=batch.stalled(job),
        can_resume=batch.resumable(job), error=error,
    )  # fmt: skip


@bp.post("/batch/<int:job_id>/resume")
def batch_resume(job_id: int):
    """继续: a stalled or failed job picks up where it stopped, run as the user who resumes it."""
    job = _job_or_404(job_id)
    try:
        batch.resume(job, current_user)
    except RuleViolation as exc:
        db.session.rollback()
        return _job_page(_job_or_404(job_id), exc.errors["job"]), 409
    db.session.commit()
    done_writing()
    _launch(job)
    return redirect(url_for("certificates.batch_job", job_id=job.id), 303)


@bp.get("/batch/<int:job_id>.pdf")
def batch_pdf(job_id: int):
    job = _job_or_404(job_id)
    if job.status != "done":
        abort(404)
    audit.record_access("certificate.batch_download", job, after={"title": job.title})
    db.session.commit()
    return send_file(
        batch.folder() / f"{job.file_token}.pdf", mimetype="application/pdf",
        download_name=f"cards-{job.id}.pdf", max_age=0,
    )  # fmt: skip


# --- transfers of the organisational relationship ----------------------------------------


@bp.get("/transfers")
def transfers():
    require_role(*REGISTRY_ROLES)
    status = request.args.get("status", "pending")
    page = listing.transfers(
        current_user, status=status, today=local_today(), page=int_param("page") or 1
    )
    return render_template(
        "certificates/transfers.html", page=page, status=status, today=local_today(),
        can_issue=current_user.role in ISSUER_ROLES,
    )  # fmt: skip


@bp.route("/transfers/new", methods=["GET", "POST"])
def new_transfer():
    require_role(*ISSUER_ROLES)
    member_id = int_param("member_id")
    if not member_id:
        return render_template("care/pick_member.html", what="转接组织关系")
    member = get_member_or_404(current_user, member_id)
    form = TransferForm()
    if request.method == "GET":
        form.to_address.data = f"{member.dest_province}{member.dest_city}{member.dest_address}"
        form.dues_paid_until.data = local_today().strftime("%Y-%m")
        form.request_id.data = new_request_id()
    if form.validate_on_submit():
        try:
            fonts.require_cjk_font()
        except fonts.NoCJKFont as exc:
            return render_template("errors/http.html", status=503, error=exc, fragment=False), 503
        ok, transfer = commit_or_errors(
            form,
            lambda: transfer_svc.open_transfer(
                member, current_user, form.service_data(), form.request_id.data
            ),
        )
        if ok:
            flash_saved(f"已开具介绍信 {transfer.serial}，请打印后盖章", f"transfer-{member.id}")
            return redirect(url_for("certificates.transfer", transfer_id=transfer.id), 303)
    status = 422 if form.is_submitted() else 200
    return render_template("certificates/transfer_new.html", form=form, member=member), status


def _transfer_page(transfer: Transfer, form: ReceiptForm, status: int = 200):
    return render_template(
        "certificates/transfer.html", t=transfer, form=form, today=local_today(),
        receipt_due=transfer.receipt_due_on,
    ), status  # fmt: skip


@bp.get("/transfers/<int:transfer_id>")
def transfer(transfer_id: int):
    require_role(*REGISTRY_ROLES)
    row = get_scoped_or_404(current_user, Transfer, transfer_id)
    return _transfer_page(row, ReceiptForm(formdata=None, receipt_on=local_today()))


@bp.get("/transfers/<int:transfer_id>.pdf")
def transfer_pdf(transfer_id: int):
    require_role(*REGISTRY_ROLES)
    row = get_scoped_or_404(current_user, Transfer, transfer_id)
    return _send_kept(row, transfer_svc.stored_pdf(row), "transfer.download")


@bp.post("/transfers/<int:transfer_id>/receipt")
def transfer_receipt(transfer_id: int):
    require_role(*REGISTRY_ROLES)
    row = get_scoped_or_404(current_user, Transfer, transfer_id)
    form = ReceiptForm()
    if (
        form.validate_on_submit()
        and commit_or_errors(
            form, lambda: transfer_svc.record_receipt(row, current_user, form.service_data())
        )[0]
    ):
        flash("回执已登记，该党员已转出，不再列入流动党员名单（记录保留）", "success")
        return redirect(url_for("certificates.transfer", transfer_id=row.id), 303)
    return _transfer_page(row, form, 422)
