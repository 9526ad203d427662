"""持证管理: issue, renew, revoke and take back certificates; the PDFs as issued."""

from flask import abort, flash, make_response, redirect, render_template, request, url_for
from flask_login import current_user

from baojing import audit
from baojing.blueprints.certificates import bp
from baojing.blueprints.certificates.forms import IssueForm, RenewForm, RevokeForm
from baojing.blueprints.formtools import apply_errors, commit_or_errors, flash_saved, new_request_id
from baojing.blueprints.guards import require_role
from baojing.blueprints.params import int_param
from baojing.dates import local_today
from baojing.extensions import begin_write, db, no_write_lock
from baojing.models.certificates import CERT_KINDS, CERT_STATUSES, Certificate
from baojing.models.members import Member
from baojing.models.users import COUNTY_ADMIN, MEMBER, TOWNSHIP_OFFICER
from baojing.scoping import REGISTRY_ROLES, get_member_or_404, get_scoped_or_404
from baojing.services import RuleViolation
from baojing.services.care import photos
from baojing.services.certificates import fonts, issue, listing
from baojing.uploads import accepts_upload

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
        can_issue=current_user.role in ISSUER_ROLES, **LABELS,
    )  # fmt: skip


@bp.route("/new", methods=["GET", "POST"])
@accepts_upload(photos.request_limit)
@no_write_lock
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
            begin_write()
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
    return render_template("certificates/new.html", form=form, member=member, **LABELS), status


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
    return render_template(
        "certificates/show.html", cert=cert, history=listing.of_member(cert.member_id),
        today=local_today(), can_issue=current_user.role in ISSUER_ROLES,
        code=issue.grouped(cert.verify_code), verify_url=issue.verify_url(cert.verify_code),
        renew_form=RenewForm(formdata=None, valid_until=issue.default_valid_until(cert.kind, local_today()),
                             request_id=new_request_id()),
        revoke_form=RevokeForm(formdata=None), **LABELS,
    )  # fmt: skip


@bp.get("/<int:cert_id>.pdf")
def download(cert_id: int):
    """The PDF exactly as issued; every download is in the audit log."""
    if current_user.role not in (*REGISTRY_ROLES, MEMBER):
        abort(404)
    cert = get_scoped_or_404(current_user, Certificate, cert_id)
    data = issue.stored_pdf(cert)
    audit.record("certificate.download", cert, after={"serial": cert.serial})
    db.session.commit()
    response = make_response(data)
    response.headers["Content-Type"] = "application/pdf"
    response.headers["Content-Disposition"] = f'inline; filename="{cert.serial}.pdf"'
    return response


@bp.post("/<int:cert_id>/renew")
def renew(cert_id: int):
    require_role(*ISSUER_ROLES)
    cert = get_scoped_or_404(current_user, Certificate, cert_id)
    form = RenewForm()
    if form.validate_on_submit():
        ok, new_cert = commit_or_errors(
            form, lambda: issue.renew(cert, current_user, form.valid_until.data, form.request_id.data)
        )
        if ok:
            flash(f"已换发新证 {new_cert.serial}，原证件作废", "success")
            return redirect(url_for("certificates.show", cert_id=new_cert.id), 303)
    flash(_first_error(form) or "没有换发", "error")
    return redirect(url_for("certificates.show", cert_id=cert.id), 303)


@bp.post("/<int:cert_id>/revoke")
def revoke(cert_id: int):
    require_role(*ISSUER_ROLES)
    cert = get_scoped_or_404(current_user, Certificate, cert_id)
    form = RevokeForm()
    if form.validate_on_submit() and commit_or_errors(
        form, lambda: issue.revoke(cert, current_user, form.reason.data)
    )[0]:
        flash("证件已作废，核验页面即时显示“已作废”", "success")
    else:
        flash(_first_error(form) or "没有作废", "error")
    return redirect(url_for("certificates.show", cert_id=cert.id), 303)


@bp.post("/<int:cert_id>/return")
def mark_returned(cert_id: int):
    require_role(*REGISTRY_ROLES)
    cert = get_scoped_or_404(current_user, Certificate, cert_id)
    try:
        issue.mark_returned(cert, current_user)
    except RuleViolation as exc:
        db.session.rollback()
        flash(next(iter(exc.errors.values())), "error")
    else:
        db.session.commit()
        flash("已登记证件交回", "success")
    return redirect(url_for("certificates.show", cert_id=cert.id), 303)


def _first_error(form) -> str:
    for errors in form.errors.values():
        if errors:
            return errors[0]
    return ""

