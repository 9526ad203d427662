"""/members/import: a county's roster spreadsheet into the registry, previewed first."""

from flask import abort, current_app, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from baojing.blueprints.roster import bp
from baojing.blueprints.roster.forms import ConfirmForm, UploadForm
from baojing.db import done_writing
from baojing.extensions import db
from baojing.models.roster import PREVIEWED, RosterImport
from baojing.models.users import COUNTY_ADMIN, TOWNSHIP_OFFICER
from baojing.scoping import get_scoped_or_404, member_condition
from baojing.services import RuleViolation
from baojing.services.roster import fields, jobs
from baojing.web.downloads import send_xlsx
from baojing.web.forms import apply_errors, commit_or_errors, first_error
from baojing.web.guards import require_role
from baojing.web.uploads import accepts_upload

IMPORTER_ROLES = (COUNTY_ADMIN, TOWNSHIP_OFFICER)
RECENT_SHOWN = 10
PREVIEW_SHOWN = 100  # refusals and changed rows listed on the page; the file has them all


def _importer() -> jobs.Importer:
    require_role(*IMPORTER_ROLES)
    return jobs.Importer.of(current_user._get_current_object())


def _job_or_404(job_id: int) -> RosterImport:
    """An import in the user's scope: the county all, a township its own."""
    require_role(*IMPORTER_ROLES)
    return get_scoped_or_404(current_user, RosterImport, job_id)


def _upload_limit() -> int:
    return current_app.config["ROSTER_MAX_BYTES"] + 64 * 1024  # the form around the file


@bp.route("", methods=["GET", "POST"])
@accepts_upload(_upload_limit)
def upload():
    """Upload a roster: it is read and every row checked; nothing is registered yet."""
    importer = _importer()
    form = UploadForm()
    if form.validate_on_submit():
        upload = request.files.get("file")
        data = upload.read() if upload else b""
        ok, job = commit_or_errors(
            form, lambda: jobs.start(importer, upload.filename if upload else "", data)
        )
        if ok:
            return redirect(url_for("roster.show", job_id=job.id), 303)
    status = 422 if form.is_submitted() else 200
    recent = db.session.scalars(
        select(RosterImport)
        .where(member_condition(current_user, RosterImport))
        .order_by(RosterImport.id.desc())
        .limit(RECENT_SHOWN)
    )
    return render_template(
        "roster/upload.html", form=form, recent=list(recent),
        max_mb=current_app.config["ROSTER_MAX_BYTES"] // (1024 * 1024),
        max_rows=current_app.config["ROSTER_MAX_ROWS"], field_labels=_field_labels(),
    ), status  # fmt: skip


@bp.get("/<int:job_id>")
def show(job_id: int):
    """The preview, the progress of a running import, or what it did."""
    job = _job_or_404(job_id)
    return _page(job, ConfirmForm(formdata=None))


def _page(job: RosterImport, form: ConfirmForm, status: int = 200, mapping_error: str = ""):
    preview = jobs.preview_of(job)
    return render_template(
        "roster/show.html", job=job, form=form, preview=preview, mapping=jobs.mapping_of(job),
        headings=jobs.headings_of(job), fields=fields.FIELDS, shown=PREVIEW_SHOWN,
        stalled=jobs.stalled(job), can_resume=jobs.resumable(job), mapping_error=mapping_error,
        counts=jobs.counts_of(job), refused=job.refused_count,
    ), status  # fmt: skip


@bp.post("/<int:job_id>/mapping")
def remap(job_id: int):
    """Say what the columns hold that were not recognised; the preview is checked again."""
    job = _job_or_404(job_id)
    importer = _importer()
    headings = jobs.headings_of(job)
    chosen = {}
    for col in range(len(headings)):
        value = request.form.get(f"col-{col}", "")
        chosen[col] = value if value in fields.BY_NAME else ""
    try:
        jobs.remap(job, importer, chosen)
    except RuleViolation as exc:
        db.session.rollback()
        message = next(iter(exc.errors.values()))
        return _page(_job_or_404(job_id), ConfirmForm(formdata=None), 422, mapping_error=message)
    db.session.commit()
    return redirect(url_for("roster.show", job_id=job.id), 303)


@bp.post("/<int:job_id>/confirm")
def confirm(job_id: int):
    """Import the good rows (and the chosen updates) in the background."""
    job = _job_or_404(job_id)
    if job.status != PREVIEWED:
        # A second tap on 导入 (or a resent form): the import is already under way.
        return redirect(url_for("roster.show", job_id=job.id), 303)
    form = ConfirmForm()
    if form.validate_on_submit():
        if form.update_all.data:
            rows = {c["row"] for c in jobs.preview_of(job).get("changed", [])}
        else:
            rows = {int(r) for r in request.form.getlist("update") if r.isdigit()}
        ok, _ = commit_or_errors(form, lambda: jobs.confirm(job, rows, form.create_villages.data))
        if ok:
            _launch(job)
            return redirect(url_for("roster.show", job_id=job.id), 303)
    return _page(_job_or_404(job_id), form, 422)


@bp.post("/<int:job_id>/cancel")
def cancel(job_id: int):
    job = _job_or_404(job_id)
    try:
        jobs.cancel(job)
    except RuleViolation:
        db.session.rollback()
        abort(409)
    db.session.commit()
    return redirect(url_for("roster.upload"), 303)


@bp.post("/<int:job_id>/resume")
def resume(job_id: int):
    """继续: an import cut off by a restart goes on after the last batch that committed."""
    job = _job_or_404(job_id)
    form = ConfirmForm()
    try:
        jobs.resume(job)
    except RuleViolation as exc:
        db.session.rollback()
        apply_errors(form, exc.errors)
        return _page(_job_or_404(job_id), form, 409, mapping_error=first_error(form))
    db.session.commit()
    done_writing()
    _launch(job)
    return redirect(url_for("roster.show", job_id=job.id), 303)


def _launch(job: RosterImport) -> None:
    """Run a confirmed (or resumed) import: in a thread, or right here in tests."""
    ip = request.remote_addr or ""
    if current_app.config.get("ROSTER_JOBS_INLINE"):
        jobs.run(job.id, current_user.id, ip)
    else:
        jobs.run_in_background(job.id, current_user.id, ip)


@bp.get("/<int:job_id>/errors.xlsx")
def errors(job_id: int):
    """The refused rows as they were sent, with a 错误 column: fix them and upload again."""
    job = _job_or_404(job_id)
    if job.refused == "[]":
        abort(404)
    return send_xlsx(
        jobs.error_export(job), "roster.errors_download", filters={}, full=True,
        entity_type="roster_imports", entity_id=job.id,
    )  # fmt: skip


def _field_labels() -> str:
    return "、".join(f.label for f in fields.FIELDS)
