"""County admin: accounts and the audit log."""

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from baojing import security
from baojing.blueprints.admin import bp
from baojing.blueprints.admin.forms import NewUserForm, UserForm
from baojing.extensions import db
from baojing.models.org import MOBILE_ORG, TOWNSHIP, VILLAGE, OrgUnit
from baojing.models.types import utcnow
from baojing.models.users import COUNTY_ADMIN, ROLE_LABELS, User
from baojing.services import accounts
from baojing.services import audit_log as audit_svc
from baojing.web.forms import commit_or_errors, options
from baojing.web.guards import recent_auth_required
from baojing.web.params import int_param

# The latest refusals shown above the whole log, with a link to all of them.
DENIALS_BESIDE = 10


@bp.before_request
def _county_admin_only():
    if not current_user.is_authenticated or current_user.role != COUNTY_ADMIN:
        abort(403)


def _org_choices(form) -> None:
    # Open units only; a user already in a closed one is refused on save, not hidden.
    units = db.session.scalars(
        select(OrgUnit)
        .where(OrgUnit.kind.in_((TOWNSHIP, VILLAGE, MOBILE_ORG)), OrgUnit.closed_at.is_(None))
        .order_by(OrgUnit.township_id, OrgUnit.kind.desc(), OrgUnit.id)
    )
    form.org_unit_id.choices = options(
        [(0, "（县级 / 不需要）")]
        + [(u.id, u.name + "党委" if u.kind == TOWNSHIP else "　" + u.branch_name) for u in units]
    )


def _form_data(form) -> dict:
    return {
        "display_name": form.display_name.data,
        "role": form.role.data,
        "org_unit_id": form.org_unit_id.data or None,
        "member_id": form.member_id.data,
    }


def _get_user_or_404(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    return user


@bp.get("/users")
def users():
    """All accounts, filterable by role and name."""
    q = request.args.get("q", "").strip()[:40]
    role = request.args.get("role", "")
    rows = audit_svc.list_users(q=q, role=role if role in ROLE_LABELS else "")
    return render_template(
        "admin/users.html", rows=rows, q=q, role=role, roles=ROLE_LABELS, now=utcnow()
    )


@bp.route("/users/new", methods=["GET", "POST"])
@recent_auth_required
def user_new():
    """Create an account with a single-use password."""
    form = NewUserForm()
    _org_choices(form)
    if request.method == "GET" and request.args.get("member", type=int):
        form.role.data = "member"
        form.member_id.data = request.args.get("member", type=int)
    status = 200
    if form.validate_on_submit():
        data = _form_data(form) | {"username": form.username.data}
        ok, created = commit_or_errors(form, lambda: accounts.create_user(data))
        if ok:
            user, password = created
            return render_template(
                "admin/password_issued.html", user=user, password=password, created=True
            )
        status = 422
    elif form.is_submitted():
        status = 422
    return render_template("admin/user_form.html", form=form, user=None), status


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@recent_auth_required
def user_edit(user_id: int):
    """Change name, role and scope; lock, unlock, disable, reset the password."""
    user = _get_user_or_404(user_id)
    form = UserForm(obj=user if request.method == "GET" else None)
    _org_choices(form)
    if request.method == "GET":
        form.org_unit_id.data = user.org_unit_id or 0
    status = 200
    if form.validate_on_submit():
        ok, _ = commit_or_errors(form, lambda: accounts.update_user(user, _form_data(form)))
        if ok:
            flash(f"账户 {user.username} 已保存", "success")
            return redirect(url_for("admin.user_edit", user_id=user.id))
        status = 422
    elif form.is_submitted():
        status = 422
    locked = security.is_locked(user)
    return render_template("admin/user_form.html", form=form, user=user, locked=locked), status


# The action buttons below post only their CSRF token, which CSRFProtect checks for
# every POST before a view runs.


@bp.post("/users/<int:user_id>/reset-password")
@recent_auth_required
def user_reset_password(user_id: int):
    user = _get_user_or_404(user_id)
    password = accounts.reset_password(user)
    db.session.commit()
    return render_template(
        "admin/password_issued.html", user=user, password=password, created=False
    )


@bp.post("/users/<int:user_id>/reset-totp")
@recent_auth_required
def user_reset_totp(user_id: int):
    """The user lost their phone: two-step verification off, sessions ended."""
    user = _get_user_or_404(user_id)
    accounts.reset_totp(user)
    db.session.commit()
    flash(f"已关闭 {user.username} 的两步验证，请本人重新设置", "success")
    return redirect(url_for("admin.user_edit", user_id=user.id))


@bp.post("/users/<int:user_id>/active")
@recent_auth_required
def user_set_active(user_id: int):
    user = _get_user_or_404(user_id)
    active = request.form.get("active") == "1"
    if user.id == current_user.id and not active:
        flash("不能停用自己的账户", "error")
        return redirect(url_for("admin.user_edit", user_id=user.id))
    accounts.set_active(user, active)
    db.session.commit()
    flash(f"账户 {user.username} 已{'启用' if active else '停用'}", "success")
    return redirect(url_for("admin.user_edit", user_id=user.id))


@bp.post("/users/<int:user_id>/unlock")
def user_unlock(user_id: int):
    user = _get_user_or_404(user_id)
    accounts.unlock(user)
    db.session.commit()
    flash(f"账户 {user.username} 已解锁", "success")
    return redirect(url_for("admin.user_edit", user_id=user.id))


@bp.get("/audit")
def audit():
    """The audit log, newest first, filterable; refusals, counted per minute, beside it."""
    filters = {
        "action": request.args.get("action", "").strip()[:40],
        "username": request.args.get("username", "").strip()[:40],
        "entity_type": request.args.get("entity_type", "").strip()[:30],
        "entity_id": int_param("entity_id"),
    }
    per_page = current_app.config["AUDIT_PER_PAGE"]
    # Refusals are not log rows but counts (access_denials): 拒绝访问 lists those instead.
    denied_only = filters["action"] == audit_svc.DENIED
    denials = None
    if denied_only:
        page = audit_svc.list_denials(
            username=filters["username"], before_id=int_param("before"), per_page=per_page
        )
    else:
        page = audit_svc.list_entries(**filters, before_id=int_param("before"), per_page=per_page)
        if not filters["action"] and not filters["entity_type"]:
            denials = audit_svc.list_denials(
                username=filters["username"], per_page=DENIALS_BESIDE
            ).entries
    next_url = None
    if page.next_before:
        args = {k: v for k, v in request.args.items() if k != "before" and v}
        next_url = url_for("admin.audit", before=page.next_before, **args)
    return render_template(
        "admin/audit.html",
        page=page,
        denied_only=denied_only,
        denials=denials,
        filters=filters,
        describe=audit_svc.describe,
        next_url=next_url,
        actions=audit_svc.ACTION_LABELS,
        outcomes=audit_svc.OUTCOME_LABELS,
        roles=ROLE_LABELS,
    )
