"""Quarterly thought reports: the member writes (autosaved) and hands in; the reviewer
reads, comments, accepts or returns; the registry sees who has not handed in."""

from flask import abort, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user

from baojing import audit
from baojing.blueprints.thoughts import bp
from baojing.blueprints.thoughts.forms import (
    DraftForm,
    PhotoForm,
    ReviewForm,
    SubmitForm,
    WithdrawForm,
)
from baojing.dates import local_today, quarter_of
from baojing.extensions import db
from baojing.models.thoughts import EVENT_LABELS, STATUSES, SUBMITTED
from baojing.models.users import MEMBER
from baojing.scoping import get_member_or_404, get_village_or_404, village_choices
from baojing.services import Conflict, RuleViolation
from baojing.services import thoughts as svc
from baojing.services.care import photos as photo_files
from baojing.web import htmx
from baojing.web.forms import apply_errors, commit_or_errors, flash_saved, new_request_id
from baojing.web.guards import require_role
from baojing.web.params import int_param
from baojing.web.uploads import accepts_upload

CONFLICT = "这份汇报在另一个页面或手机上改过了。为免互相覆盖，这里暂停自动保存：请刷新页面再接着写"
LABELS = {"statuses": STATUSES, "event_labels": EVENT_LABELS, "quarter_label": svc.quarter_label}


def _member():
    require_role(MEMBER)
    return get_member_or_404(current_user, current_user.member_id)


def _quarter_or_404(text: str) -> str:
    quarter = svc.parse_quarter(text)
    if quarter is None or quarter > quarter_of(local_today()):
        abort(404)
    return quarter


@bp.get("/")
def index():
    """A member's own reports; a reviewer's reports in scope, waiting ones first."""
    if current_user.role == MEMBER:
        return _member_index()
    if not svc.may_list(current_user):
        abort(403)
    status = request.args.get("status", SUBMITTED)
    quarter = svc.parse_quarter(request.args.get("quarter", ""))
    page = svc.review_list(
        current_user, status=status, quarter=quarter, page=int_param("page") or 1
    )
    return render_template(
        "thoughts/index.html", page=page, status=status, quarter=quarter or "",
        quarters=svc.recent_quarters(local_today()), may_review=svc.may_review(current_user),
        reads=svc.may_review(current_user) or current_user.role == "county_admin", **LABELS,
    )  # fmt: skip


def _member_index():
    member = _member()
    today = local_today()
    reports = svc.own_reports(member.id)
    by_quarter = {r.quarter: r for r in reports}
    open_quarters = [
        (q, by_quarter.get(q), svc.deadline(q)) for q in reversed(svc.open_quarters(today))
    ]
    return render_template(
        "thoughts/mine.html", reports=reports, open_quarters=open_quarters, today=today, **LABELS
    )


# --- writing --------------------------------------------------------------------------------


def _write_page(quarter: str, form=None, status: int = 200, photo_form=None):
    member = _member()
    today = local_today()
    report = svc.own_report(member.id, quarter)
    can_edit = svc.editable(report, quarter, today)
    if report is None and not can_edit:
        abort(404)
    if form is None:
        form = SubmitForm(formdata=None)
        form.body.data = report.body if report else ""
        form.version.data = report.version if report else 0
        form.editor.data = new_request_id()
        form.request_id.data = new_request_id()
    return render_template(
        "thoughts/write.html", quarter=quarter, report=report, form=form, can_edit=can_edit,
        photo_form=photo_form or PhotoForm(formdata=None),
        photos=svc.photos_of(report) if report else [],
        events=svc.events_of(report) if report else [],
        due_on=report.due_on if report else svc.deadline(quarter), today=today,
        max_photos=svc.MAX_PHOTOS, **LABELS,
    ), status  # fmt: skip


@bp.get("/mine/<quarter>")
def write(quarter: str):
    """The member's report of a quarter: the writing page while it may change."""
    return _write_page(_quarter_or_404(quarter))


@bp.post("/mine/<quarter>/draft")
def draft(quarter: str):
    """Autosave (htmx, every few seconds while typing and when a field loses focus)."""
    quarter = _quarter_or_404(quarter)
    member = _member()
    form = DraftForm()
    version = form.version.data if isinstance(form.version.data, int) else 0
    if not form.validate_on_submit():
        message = next((m[0] for m in form.errors.values() if m), "没有保存")
        return _autosave(version, f"没有保存：{message}", 422)
    try:
        ok, report = commit_or_errors(
            form,
            lambda: svc.save_draft(
                member, current_user, quarter, form.body.data, version, form.editor.data
            ),
        )
    except Conflict:
        db.session.rollback()
        return _autosave(version, CONFLICT, 409)
    if not ok:
        return _autosave(version, f"没有保存：{form.body.errors[-1]}", 422)
    return _autosave(report.version, "已自动保存", 200, report.saved_at)


def _autosave(version: int, message: str, status: int, saved_at=None):
    response = htmx.render(
        "thoughts/_autosave.html", "thoughts/_autosave.html", status=status,
        version=version, message=message, saved_at=saved_at, ok=status == 200,
    )  # fmt: skip
    return response


@bp.post("/mine/<quarter>/submit")
def submit(quarter: str):
    """Hand the report in; what was typed is saved with it."""
    quarter = _quarter_or_404(quarter)
    member = _member()
    form = SubmitForm()
    if form.validate_on_submit():
        try:
            ok, _ = commit_or_errors(
                form,
                lambda: svc.submit(
                    member, current_user, quarter, form.body.data, form.version.data,
                    form.editor.data, form.request_id.data,
                ),
            )  # fmt: skip
        except Conflict as exc:
            db.session.rollback()
            form.body.errors = [CONFLICT]
            form.version.data = exc.version
            return _write_page(quarter, form, 409)
        if ok:
            flash_saved("已提交，等待审阅", f"thought-{quarter}")
            return redirect(url_for("thoughts.write", quarter=quarter), 303)
    return _write_page(quarter, form, 422)


@bp.post("/mine/<quarter>/photos")
@accepts_upload(lambda: svc.MAX_PHOTOS * photo_files.max_bytes() + 256 * 1024)
def add_photos(quarter: str):
    """Photos of a handwritten report, re-encoded without EXIF before the write lock."""
    quarter = _quarter_or_404(quarter)
    member = _member()
    form = PhotoForm()
    if form.validate_on_submit():
        files = [f for f in (form.photos.data or []) if getattr(f, "filename", "")]
        limit = photo_files.max_bytes()
        try:
            if len(files) > svc.MAX_PHOTOS:
                raise RuleViolation({"photos": f"每份汇报最多 {svc.MAX_PHOTOS} 张照片"})
            processed = [
                photo_files.process(f.stream.read(limit + 1), n) for n, f in enumerate(files, 1)
            ]
        except RuleViolation as exc:
            apply_errors(form, exc.errors)
        else:
            ok, _ = commit_or_errors(
                form, lambda: svc.add_photos(member, current_user, quarter, processed)
            )
            if ok:
                flash(f"已上传 {len(processed)} 张照片", "success")
                return redirect(url_for("thoughts.write", quarter=quarter), 303)
    return _write_page(quarter, status=422, photo_form=form)


@bp.post("/mine/<quarter>/photos/<int:photo_id>/remove")
def remove_photo(quarter: str, photo_id: int):
    quarter = _quarter_or_404(quarter)
    member = _member()
    form = PhotoForm()
    if form.validate_on_submit():
        ok, _ = commit_or_errors(
            form, lambda: svc.remove_photo(member, current_user, quarter, photo_id)
        )
        if ok:
            flash("已移除这张照片", "success")
            return redirect(url_for("thoughts.write", quarter=quarter), 303)
    return _write_page(quarter, status=422, photo_form=form)


# --- reading and review -------------------------------------------------------------------


def _report_or_404(report_id: int):
    report = svc.report_in_scope(current_user, report_id)
    if report is None:
        abort(404)
    return report


def _report_page(report, review_form=None, withdraw_form=None, status: int = 200):
    photos = svc.photos_of(report)
    if status == 200:
        audit.record_read(
            "thought_reports", report.id, member_id=report.member_id,
            after={"photos": [p.id for p in photos]},
        )  # fmt: skip
    return render_template(
        "thoughts/report.html", report=report, photos=photos, events=svc.events_of(report),
        may_review=svc.may_review(current_user),
        review_form=review_form or ReviewForm(formdata=None, request_id=new_request_id()),
        withdraw_form=withdraw_form or WithdrawForm(formdata=None, request_id=new_request_id()),
        **LABELS,
    ), status  # fmt: skip


@bp.get("/<int:report_id>")
def report(report_id: int):
    """A report in full: private, so every read by anyone but its author is audited."""
    row = _report_or_404(report_id)
    if current_user.role == MEMBER:
        return redirect(url_for("thoughts.write", quarter=row.quarter))
    return _report_page(row)


@bp.post("/<int:report_id>/review")
def review(report_id: int):
    row = _report_or_404(report_id)
    if not svc.may_review(current_user):
        abort(403)
    form = ReviewForm()
    if (
        form.validate_on_submit()
        and commit_or_errors(
            form,
            lambda: svc.review(
                row, current_user, form.decision.data, form.comment.data, form.request_id.data
            ),
        )[0]
    ):
        flash("已通过" if row.status == "accepted" else "已退回，党员会看到退回原因", "success")
        return redirect(url_for("thoughts.report", report_id=row.id), 303)
    return _report_page(row, review_form=form, status=422)


@bp.post("/<int:report_id>/withdraw")
def withdraw(report_id: int):
    row = _report_or_404(report_id)
    if not svc.may_review(current_user):
        abort(403)
    form = WithdrawForm()
    if (
        form.validate_on_submit()
        and commit_or_errors(
            form,
            lambda: svc.withdraw(row, current_user, form.reason.data, form.request_id.data),
        )[0]
    ):
        flash("已撤销通过，这份汇报重新待审阅", "success")
        return redirect(url_for("thoughts.report", report_id=row.id), 303)
    return _report_page(row, withdraw_form=form, status=422)


@bp.get("/photos/<int:photo_id>")
@bp.get("/photos/<int:photo_id>/thumb", endpoint="photo_thumb")
def photo(photo_id: int):
    """A page of a handwritten report, to those who may read the report; the full photo
    is an audited read (its thumbnail is part of the report page, whose read names it)."""
    found = svc.photo_in_scope(current_user, photo_id)
    if found is None:
        abort(404)
    row, member_id = found
    thumb = request.endpoint == "thoughts.photo_thumb"
    path = svc.photo_path(row.token, thumb=thumb)
    if not path.exists():
        abort(404)
    if not thumb:
        audit.record_read("thought_photos", row.id, member_id=member_id)
    return send_file(path, mimetype="image/jpeg", conditional=True, max_age=0)


# --- who has not handed in --------------------------------------------------------------------


@bp.get("/missing")
def missing_list():
    """Who has not handed in a quarter's report, by village; overdue once past the deadline."""
    if not svc.may_list(current_user):
        abort(403)
    today = local_today()
    quarter = svc.parse_quarter(request.args.get("quarter", "")) or quarter_of(today)
    village_id = int_param("village_id")
    if village_id:
        get_village_or_404(current_user, village_id)
    page = svc.missing(
        current_user, quarter=quarter, village_id=village_id, page=int_param("page") or 1
    )
    due = svc.deadline(quarter)
    return render_template(
        "thoughts/missing.html", page=page, quarter=quarter, village_id=village_id,
        quarters=svc.recent_quarters(today), villages=village_choices(current_user),
        summary=svc.summary(current_user, quarter), due=due, overdue=today > due,
        by_township=current_user.role == "county_admin", **LABELS,
    )  # fmt: skip
