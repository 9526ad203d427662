"""小个专 enterprises: registry, credit support, difficulties, county totals (under /mentors/enterprises)."""

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from baojing.blueprints.mentors import bp
from baojing.blueprints.mentors.forms_enterprise import (
    CreditForm,
    CreditStatusForm,
    DifficultyForm,
    EnterpriseForm,
    LinkMemberForm,
    ResolveForm,
)
from baojing.dates import local_today
from baojing.extensions import db
from baojing.models.mentors import CREDIT_STATUSES, ENTERPRISE_KINDS, Enterprise
from baojing.models.org import OrgUnit
from baojing.models.users import COUNTY_ADMIN
from baojing.money import yuan
from baojing.scoping import get_member_or_404, township_choices
from baojing.services import members as member_search
from baojing.services.mentors import enterprises as svc
from baojing.web.forms import (
    commit_or_errors,
    first_error,
    flash_saved,
    new_request_id,
    options,
)
from baojing.web.guards import require_role
from baojing.web.params import int_param

LABELS = {
    "enterprise_kinds": ENTERPRISE_KINDS,
    "credit_statuses": CREDIT_STATUSES,
    "member_roles": svc.MEMBER_ROLES,
}
SEARCH_RESULTS = 10


def _render(template: str, status: int = 200, **context):
    return render_template(template, **LABELS, **context), status


def _enterprise_or_404(enterprise_id: int) -> Enterprise:
    require_role(*svc.READERS)
    enterprise = svc.enterprise_in_scope(current_user, enterprise_id)
    if enterprise is None:
        abort(404)
    return enterprise


def _managed_or_404(enterprise_id: int) -> Enterprise:
    require_role(*svc.MANAGERS)
    return _enterprise_or_404(enterprise_id)


def _detail_url(enterprise: Enterprise, anchor: str = "") -> str:
    return url_for("mentors.enterprise", enterprise_id=enterprise.id) + anchor


# --- the registry --------------------------------------------------------------------------


@bp.get("/enterprises")
def enterprise_list():
    """Enterprises in scope, by township; search by name."""
    require_role(*svc.READERS)
    q = request.args.get("q", "").strip()[:30]
    county = current_user.role == COUNTY_ADMIN
    township_id = int_param("township") if county else None
    page = svc.list_enterprises(
        current_user, township_id=township_id, q=q, page=int_param("page") or 1
    )
    return _render(
        "mentors/enterprises/list.html", page=page, q=q, township_id=township_id,
        townships=township_choices(current_user) if county else [],
        can_manage=svc.can_manage(current_user),
    )  # fmt: skip


@bp.route("/enterprises/new", methods=["GET", "POST"])
def enterprise_new():
    """Register a 小个专 enterprise (county: any township; a township: its own)."""
    require_role(*svc.MANAGERS)
    form = EnterpriseForm()
    townships = township_choices(current_user)
    form.township_id.choices = options(townships)
    if request.method == "GET":
        form.request_id.data = new_request_id()
        if len(townships) == 1:
            form.township_id.data = townships[0][0]
    if form.validate_on_submit():
        # One of township_choices(): the select refuses any other id.
        township = db.session.get(OrgUnit, form.township_id.data)
        ok, saved = commit_or_errors(
            form,
            lambda: svc.register(current_user, township, form.service_data(), form.request_id.data),
        )
        if ok:
            flash_saved(f"已登记：{saved.name}", "enterprise-new")
            return redirect(_detail_url(saved), 303)
    return _render(
        "mentors/enterprises/form.html", 422 if form.is_submitted() else 200, form=form,
        single_township=len(townships) == 1,
    )  # fmt: skip


@bp.get("/enterprises/<int:enterprise_id>")
def enterprise(enterprise_id: int):
    return _enterprise_page(_enterprise_or_404(enterprise_id))


def _enterprise_page(ent: Enterprise, *, credit_form=None, difficulty_form=None, status=200):
    manage = svc.can_manage(current_user)
    if credit_form is None and manage:
        credit_form = CreditForm(
            formdata=None, granted_on=local_today(), request_id=new_request_id()
        )
    if difficulty_form is None:
        difficulty_form = DifficultyForm(
            formdata=None, raised_on=local_today(), request_id=new_request_id()
        )
    members, others = svc.members_of(ent, current_user)
    credits = svc.credits_of(ent)
    difficulties = svc.difficulties_of(ent)
    return _render(
        "mentors/enterprises/detail.html", status, enterprise=ent,
        township_name=svc.township_name(ent), members=members, other_members=others,
        credits=credits, difficulties=difficulties, credit_form=credit_form,
        difficulty_form=difficulty_form, can_manage=manage,
        next_credit={c.id: svc.next_credit_statuses(c) for c in credits},
        lent_fen=sum(c.amount_fen for c in credits if c.status in svc.LENT),
    )  # fmt: skip


# --- members -------------------------------------------------------------------------------


@bp.route("/enterprises/<int:enterprise_id>/members", methods=["GET", "POST"])
def enterprise_members(enterprise_id: int):
    """Find members in scope to link; searched by POST so a name stays out of the URL."""
    ent = _enterprise_or_404(enterprise_id)
    # From the form only, like honour_pick: a ?q= in a link is not searched.
    return _members_page(ent, request.form.get("q", "").strip()[:40])


def _members_page(ent: Enterprise, q: str, *, error: str = "", status: int = 200):
    found = []
    if q:
        result = member_search.list_members(
            current_user, q=q, per_page=SEARCH_RESULTS,
            cutoffs=member_search.AlertCutoffs.today(),
        )  # fmt: skip
        found = result.rows
    linked = {row.id: row.role for row in svc.members_of(ent, current_user)[0]}
    return _render(
        "mentors/enterprises/members.html", status, enterprise=ent, q=q, found=found,
        keys=[new_request_id() for _ in found], linked=linked, error=error,
    )  # fmt: skip


@bp.post("/enterprises/<int:enterprise_id>/members/link")
def enterprise_link(enterprise_id: int):
    """Link a member in the user's scope as owner or employee."""
    ent = _enterprise_or_404(enterprise_id)
    form = LinkMemberForm()
    member_id = int_param("member_id")
    member = get_member_or_404(current_user, member_id) if member_id else abort(404)
    if not form.validate_on_submit():
        return _members_page(ent, member.name, error=first_error(form), status=422)
    ok, _link = commit_or_errors(
        form,
        lambda: svc.link_member(ent, member, form.role.data, current_user, form.request_id.data),
    )
    if not ok:
        return _members_page(ent, member.name, error=first_error(form), status=422)
    flash(f"已将{member.name}登记为{svc.MEMBER_ROLES[form.role.data]}", "success")
    return redirect(_detail_url(ent, "#members"), 303)


# --- credit support ------------------------------------------------------------------------


@bp.post("/enterprises/<int:enterprise_id>/credits")
def enterprise_credit(enterprise_id: int):
    """Record a loan: bank, amount in yuan (kept in fen), status, date."""
    ent = _managed_or_404(enterprise_id)
    form = CreditForm()
    if form.validate_on_submit():
        ok, credit = commit_or_errors(
            form,
            lambda: svc.add_credit(ent, current_user, form.service_data(), form.request_id.data),
        )
        if ok:
            flash_saved(f"已登记贷款 {yuan(credit.amount_fen)} 元", f"credit-{ent.id}")
            return redirect(_detail_url(ent, "#credits"), 303)
    return _enterprise_page(ent, credit_form=form, status=422)


@bp.route("/enterprises/<int:enterprise_id>/credits/<int:credit_id>", methods=["GET", "POST"])
def enterprise_credit_status(enterprise_id: int, credit_id: int):
    """申请中 → 已放款 → 已还清."""
    ent = _managed_or_404(enterprise_id)
    credit = svc.credit_of(ent, credit_id)
    if credit is None:
        abort(404)
    form = CreditStatusForm() if request.method == "POST" else CreditStatusForm(formdata=None)
    form.status.choices = options((s, CREDIT_STATUSES[s]) for s in svc.next_credit_statuses(credit))
    if request.method == "GET":
        form.granted_on.data = credit.granted_on or local_today()
    if (
        form.validate_on_submit()
        and commit_or_errors(
            form, lambda: svc.move_credit(credit, current_user, form.service_data())
        )[0]
    ):
        flash(f"贷款状态已更新为“{CREDIT_STATUSES[credit.status]}”", "success")
        return redirect(_detail_url(ent, "#credits"), 303)
    return _render(
        "mentors/enterprises/credit.html", 422 if form.is_submitted() else 200,
        enterprise=ent, credit=credit, form=form,
    )  # fmt: skip


# --- difficulties --------------------------------------------------------------------------


@bp.post("/enterprises/<int:enterprise_id>/difficulties")
def enterprise_difficulty(enterprise_id: int):
    """Note a difficulty the enterprise raised (a village secretary may, too)."""
    ent = _enterprise_or_404(enterprise_id)
    form = DifficultyForm()
    if (
        form.validate_on_submit()
        and commit_or_errors(
            form,
            lambda: svc.add_difficulty(
                ent, current_user, form.service_data(), form.request_id.data
            ),
        )[0]
    ):
        flash_saved("已登记困难诉求，待协调解决", f"difficulty-{ent.id}")
        return redirect(_detail_url(ent, "#difficulties"), 303)
    return _enterprise_page(ent, difficulty_form=form, status=422)


@bp.route(
    "/enterprises/<int:enterprise_id>/difficulties/<int:difficulty_id>/resolve",
    methods=["GET", "POST"],
)
def enterprise_resolve(enterprise_id: int, difficulty_id: int):
    """Close a difficulty with who helped, when, and how."""
    ent = _managed_or_404(enterprise_id)
    difficulty = svc.difficulty_of(ent, difficulty_id)
    if difficulty is None:
        abort(404)
    if request.method == "GET" and difficulty.resolved_on is not None:
        flash("这件困难已经协调解决了", "info")
        return redirect(_detail_url(ent, "#difficulties"), 303)
    form = ResolveForm()
    if request.method == "GET":
        form.resolved_on.data = local_today()
    if (
        form.validate_on_submit()
        and commit_or_errors(
            form, lambda: svc.resolve(difficulty, current_user, form.service_data())
        )[0]
    ):
        flash_saved("已记录协调解决情况", f"resolve-{difficulty.id}")
        return redirect(_detail_url(ent, "#difficulties"), 303)
    return _render(
        "mentors/enterprises/resolve.html", 422 if form.is_submitted() else 200,
        enterprise=ent, difficulty=difficulty, form=form,
    )  # fmt: skip


# --- totals ---------------------------------------------------------------------------------


@bp.get("/enterprises/totals")
def enterprise_totals():
    """The figures the report quotes: loans granted, difficulties raised and resolved."""
    require_role(*svc.MANAGERS)
    return _render("mentors/enterprises/totals.html", totals=svc.totals(current_user))
