"""Monthly tasks: the township sets them, members complete them on the phone, a grid shows who."""

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
from baojing.blueprints.tasks import bp
from baojing.blueprints.tasks.forms import CompleteForm, ReasonForm, TaskForm, TemplateForm
from baojing.dates import local_today
from baojing.extensions import db
from baojing.models.members import Member
from baojing.models.org import OrgUnit
from baojing.models.tasks import (
    CELL_LABELS,
    COMPLETION_KINDS,
    COMPLETION_STATUSES,
    TaskCompletion,
)
from baojing.models.users import COUNTY_ADMIN, MEMBER, TOWNSHIP_OFFICER
from baojing.scoping import (
    REGISTRY_ROLES,
    get_org_unit_or_404,
    get_scoped_or_404,
    get_task_or_404,
    get_task_template_or_404,
    township_choices,
)
from baojing.services import RuleViolation
from baojing.services.tasks import completions, files, grid, setting
from baojing.web import htmx
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
    "completion_kinds": COMPLETION_KINDS,
    "cell_labels": CELL_LABELS,
    "completion_statuses": COMPLETION_STATUSES,
}
DEFAULT_RULE = ("", "按县里的“完成月度任务”规则（未设置则不计分）")


def _own_township() -> OrgUnit:
    """The officer's township: where the tasks they set belong."""
    require_role(TOWNSHIP_OFFICER)
    return get_org_unit_or_404(current_user, current_user.township_id or 0)


def _with_rules(form):
    form.point_rule_id.choices = options([DEFAULT_RULE, *setting.rule_choices()])
    return form


# --- the grid (staff) and a member's list ------------------------------------------------


@bp.get("/")
def index():
    """A member's tasks; for the branch, the grid of members × the month's tasks."""
    today = local_today()
    if current_user.role == MEMBER:
        member = db.session.get(Member, current_user.member_id or 0)
        if member is None:
            abort(404)
        return render_template(
            "tasks/mine.html", items=grid.member_tasks(member, today), today=today, **LABELS
        )
    require_role(*REGISTRY_ROLES)
    month = setting.parse_month(request.args.get("month")) or setting.month_of(today)
    townships = township_choices(current_user)
    township_id = int_param("township") if current_user.role == COUNTY_ADMIN else None
    if township_id is None:
        township_id = current_user.township_id or (townships[0][0] if townships else 0)
    elif township_id not in dict(townships):
        abort(404)
    villages = grid.villages_of(current_user, township_id)
    village_id = int_param("village")
    if village_id is not None and village_id not in {v.id for v in villages}:
        abort(404)
    behind = request.args.get("state") == "behind"
    result = grid.grid(
        current_user, township_id, month, today, village_id=village_id, behind_only=behind,
        page=int_param("page") or 1,
    )  # fmt: skip
    args = {"month": month, "village": village_id or "", "state": "behind" if behind else ""}
    if current_user.role == COUNTY_ADMIN:
        args["township"] = township_id
    return render_template(
        "tasks/grid.html", grid=result, today=today, townships=townships,
        township_id=township_id, villages=villages, village_id=village_id, behind=behind,
        args=args, month_label=setting.month_label(month),
        prev_args=args | {"month": setting.shift_month(month, -1)},
        next_args=args | {"month": setting.shift_month(month, 1)},
        is_officer=current_user.role == TOWNSHIP_OFFICER, **LABELS,
    )  # fmt: skip


# --- setting tasks (the township officer) ------------------------------------------------


@bp.route("/new", methods=["GET", "POST"])
def new():
    """Set a task for the township's members: title, what to do, due date, how to complete."""
    township = _own_township()
    form = _with_rules(TaskForm())
    if request.method == "GET":
        form.request_id.data = new_request_id()
    if form.validate_on_submit():
        ok, task = commit_or_errors(
            form,
            lambda: setting.create_task(
                current_user, township, form.service_data(), local_today(), form.request_id.data
            ),
        )
        if ok:
            flash_saved(f"已发布：{task.title}，本乡镇党员会在手机上看到", "task-new")
            return redirect(url_for("tasks.index", month=task.month), 303)
    status = 422 if form.is_submitted() else 200
    return render_template("tasks/new.html", form=form, township=township, **LABELS), status


@bp.get("/templates")
def templates():
    """Tasks that come back every month, and the button that makes this month's."""
    township = _own_township()
    form = _with_rules(TemplateForm(formdata=None, request_id=new_request_id(), due_day=25))
    return _templates_page(township, form)


def _templates_page(township: OrgUnit, form: TemplateForm, status: int = 200):
    return render_template(
        "tasks/templates.html", township=township, templates=setting.templates_of(township.id),
        form=form, month_label=setting.month_label(setting.month_of(local_today())), **LABELS,
    ), status  # fmt: skip


@bp.post("/templates")
def new_template():
    township = _own_township()
    form = _with_rules(TemplateForm())
    if (
        form.validate_on_submit()
        and commit_or_errors(
            form,
            lambda: setting.create_template(
                current_user, township, form.service_data(), form.request_id.data
            ),
        )[0]
    ):
        flash_saved("已添加每月任务模板", "task-template")
        return redirect(url_for("tasks.templates"), 303)
    return _templates_page(township, form, 422)


@bp.post("/templates/<int:template_id>/end")
def end_template(template_id: int):
    """Stop a template rolling (CSRFProtect checks the button's token)."""
    template = get_task_template_or_404(current_user, template_id)
    setting.end_template(template)
    db.session.commit()
    flash(f"模板“{template.title}”已停用，已生成的任务不变", "success")
    return redirect(url_for("tasks.templates"), 303)


@bp.post("/roll")
def roll():
    """This month's tasks from the township's templates now, as the monthly cron would."""
    township = _own_township()
    month = setting.month_of(local_today())
    created = setting.roll(month, township.id)
    db.session.commit()
    if created:
        flash(f"已按模板发布{setting.month_label(month)}任务 {len(created)} 项", "success")
    else:
        flash(f"{setting.month_label(month)}的模板任务都已发布过，没有新增", "info")
    return redirect(url_for("tasks.index", month=month), 303)


# --- one task: a member completes it -----------------------------------------------------


@bp.get("/<int:task_id>")
def show(task_id: int):
    task = get_task_or_404(current_user, task_id)
    if current_user.role == MEMBER:
        form = CompleteForm(formdata=None, request_id=new_request_id())
        return _member_task_page(task, form)
    require_role(*REGISTRY_ROLES)
    return render_template("tasks/task.html", task=task, today=local_today(), **LABELS)


def _member_task_page(task, form, status: int = 200, had_file: bool = False):
    today = local_today()
    history = completions.history(task.id, current_user.member_id)
    done = next((c for c in history if c.status == "done"), None)
    return htmx.render(
        "tasks/show.html", "tasks/_complete_form.html", status=status, task=task, form=form,
        history=history, done=done, today=today, had_file=had_file, **LABELS,
    )  # fmt: skip


@bp.post("/<int:task_id>/complete")
@accepts_upload(files.request_limit)
def complete(task_id: int):
    """A member completes a task; a photo is re-encoded before the write lock is taken."""
    require_role(MEMBER)
    task = get_task_or_404(current_user, task_id)
    member = db.session.get(Member, current_user.member_id or 0)
    if member is None:
        abort(404)
    form = CompleteForm()
    saved = None
    upload_sent = bool(getattr(form.attachment.data, "filename", ""))
    if form.validate_on_submit():
        try:
            upload = None
            if upload_sent:
                limit = files.max_bytes()
                upload = files.process(form.attachment.data.stream.read(limit + 1), task.completion)
        except RuleViolation as exc:
            apply_errors(form, exc.errors)
        else:
            ok, saved = commit_or_errors(
                form,
                lambda: completions.complete(
                    task, member, current_user, form.note.data, upload, local_today(),
                    form.request_id.data,
                ),
            )  # fmt: skip
    if saved is not None:
        flash_saved(f"已完成：{task.title}", f"task-{task.id}")
        target = url_for("tasks.index")
        if htmx.wants_fragment():
            response = make_response("", 200)
            response.headers["HX-Redirect"] = target
            return response
        return redirect(target, 303)
    return _member_task_page(task, form, 422, had_file=upload_sent)


# --- a completion: seen by the branch, sent back by the township -------------------------


@bp.get("/completions/<int:completion_id>")
def completion(completion_id: int):
    row = get_scoped_or_404(current_user, TaskCompletion, completion_id)
    return _completion_page(row)


def _completion_page(row: TaskCompletion, form: ReasonForm | None = None, status: int = 200):
    audit.record_read("task_completions", row.id, member_id=row.member_id)
    return render_template(
        "tasks/completion.html", row=row, task=row.task, points=completions.points_of(row),
        may_reject=completions.may_reject(current_user, row),
        form=form or ReasonForm(formdata=None, request_id=new_request_id()), **LABELS,
    ), status  # fmt: skip


@bp.post("/completions/<int:completion_id>/reject")
def reject(completion_id: int):
    require_role(TOWNSHIP_OFFICER, COUNTY_ADMIN)
    row = get_scoped_or_404(current_user, TaskCompletion, completion_id)
    form = ReasonForm()
    if (
        form.validate_on_submit()
        and commit_or_errors(
            form,
            lambda: completions.reject(row, current_user, form.reason.data, form.request_id.data),
        )[0]
    ):
        flash("已退回，党员会在任务里看到原因并重新完成；这次完成得到的积分已冲正", "success")
        return redirect(url_for("tasks.completion", completion_id=row.id), 303)
    return _completion_page(row, form, 422)


@bp.get("/completions/<int:completion_id>/file")
@bp.get("/completions/<int:completion_id>/thumb", endpoint="thumb")
def completion_file(completion_id: int):
    """A completion's photo or file, to its member and the branch in scope; never under
    the uploaded name. Opening the file is an audited read."""
    row = completions.file_in_scope(current_user, completion_id)
    if row is None:
        abort(404)
    thumb = request.endpoint == "tasks.thumb" and row.file_type == "jpg"
    path = files.path_of(row.file_token, row.file_type, thumb=thumb)
    if not path.exists():
        abort(404)
    if not thumb:
        audit.record_read("task_completions", row.id, member_id=row.member_id)
    pdf = row.file_type == "pdf"
    return send_file(
        path, mimetype="application/pdf" if pdf else "image/jpeg", as_attachment=pdf,
        download_name=f"task-{row.task_id}-{row.id}.{row.file_type}", conditional=True, max_age=0,
    )  # fmt: skip
