"""Earning points: rules (county), awards by branch secretaries, history, the member's own page."""

import segno
from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from baojing.blueprints.points import bp
from baojing.blueprints.points.forms import (
    AWARDER_ROLES,
    AwardForm,
    BatchAwardForm,
    ExpiryForm,
    RuleForm,
)
from baojing.blueprints.store.forms import ReverseForm
from baojing.dates import local_today
from baojing.extensions import db
from baojing.models.members import ACTIVE, Member
from baojing.models.points import AUTO_SOURCES, PointRule
from baojing.models.users import COUNTY_ADMIN, MEMBER, VILLAGE_SECRETARY
from baojing.scoping import (
    REGISTRY_ROLES,
    get_member_or_404,
    get_village_or_404,
    village_choices,
)
from baojing.services import RuleViolation, exports
from baojing.services.points import awards, catalog, counter, expiry, history, ledger
from baojing.web.downloads import asked_full_ids, send_xlsx
from baojing.web.forms import commit_or_errors, flash_saved, new_request_id, options
from baojing.web.guards import recent_auth_to_write, require_role
from baojing.web.params import int_param

# --- rules and the expiry policy (county) ----------------------------------------------


@bp.get("/rules")
def rules():
    require_role(COUNTY_ADMIN)
    form = ExpiryForm(formdata=None, years=expiry.policy_years())
    return render_template(
        "points/rules.html", rules=catalog.all_rules(), roles=AWARDER_ROLES,
        auto_sources=AUTO_SOURCES, expiry_form=form,
    )  # fmt: skip


@bp.route("/rules/new", methods=["GET", "POST"])
@bp.route("/rules/<int:rule_id>", methods=["GET", "POST"])
def rule(rule_id: int | None = None):
    require_role(COUNTY_ADMIN)
    existing = db.session.get(PointRule, rule_id) if rule_id else None
    if rule_id and existing is None:
        abort(404)
    form = RuleForm(obj=existing)
    if request.method == "GET":
        form.awarder_roles.data = existing.roles if existing else [VILLAGE_SECRETARY]
        form.auto_source.data = (existing.auto_source or "") if existing else ""
    status = 200
    if form.validate_on_submit():
        ok, saved = commit_or_errors(
            form, lambda: catalog.save_rule(existing, form.data_for_service())
        )
        if ok:
            flash(f"已保存规则「{saved.name}」", "success")
            return redirect(url_for("points.rules"), 303)
        status = 422
    elif form.is_submitted():
        status = 422
    return render_template("points/rule_form.html", form=form, rule=existing), status


@bp.post("/expiry")
def set_expiry():
    require_role(COUNTY_ADMIN)
    form = ExpiryForm()
    if form.validate_on_submit():
        ok, _ = commit_or_errors(
            form, lambda: expiry.set_policy_years(form.years.data, current_user)
        )
        if ok:
            flash("已保存积分有效期", "success")
            return redirect(url_for("points.rules"), 303)
    return render_template(
        "points/rules.html", rules=catalog.all_rules(), roles=AWARDER_ROLES,
        auto_sources=AUTO_SOURCES, expiry_form=form,
    ), 422  # fmt: skip


# --- one member's points -----------------------------------------------------------------


def _award_form(formdata=True) -> AwardForm:
    form = AwardForm() if formdata else AwardForm(formdata=None)
    form.rule_id.choices = options(
        (r.id, f"{r.name}（{'-' if r.is_deduction else '+'}{r.points}）")
        for r in awards.awardable_rules(current_user)
    )
    if not formdata:
        form.occurred_on.data = local_today()
        form.request_id.data = new_request_id()
    return form


def _rule_or_error(form) -> PointRule | None:
    rule = db.session.get(PointRule, form.rule_id.data)
    if rule is None:
        form.rule_id.errors = [*form.rule_id.errors, "请选择积分项目"]
    return rule


@bp.route("/members/<int:member_id>", methods=["GET", "POST"])
@recent_auth_to_write
def member_points(member_id: int):
    """A member's balance and ledger; secretaries award or deduct here."""
    require_role(*REGISTRY_ROLES)
    member = get_member_or_404(current_user, member_id)
    form = _award_form(formdata=request.method == "POST")
    status = 200
    if request.method == "POST":
        status = 422
        if form.validate_on_submit() and (rule := _rule_or_error(form)) is not None:
            ok, entry = commit_or_errors(
                form,
                lambda: awards.award(
                    current_user, member, rule, occurred_on=form.occurred_on.data,
                    reason=form.reason.data, request_id=form.request_id.data,
                ),
            )  # fmt: skip
            if ok:
                sign = "+" if entry.points > 0 else ""
                flash_saved(
                    f"已登记：{member.name} {sign}{entry.points} 分（{rule.name}）",
                    f"points-award-{member.id}",
                )
                return redirect(url_for("points.member_points", member_id=member.id), 303)
    page = int_param("page") or 1
    lines, pages = history.entries(member.id, page, viewer=current_user)
    return render_template(
        "points/member.html", member=member, balance=ledger.balance_of(member.id),
        lines=lines, page=page, pages=pages, form=form, reverse_form=ReverseForm(formdata=None),
        export_villages=village_choices(current_user),
        may_export_full_ids=exports.may_include_full_ids(current_user),
    ), status  # fmt: skip


@bp.get("/members/<int:member_id>/export.xlsx")
def member_export(member_id: int):
    """A member's whole ledger as .xlsx; audited."""
    require_role(*REGISTRY_ROLES)
    member = get_member_or_404(current_user, member_id)
    full = exports.full_ids(current_user, asked_full_ids())
    return send_xlsx(
        history.export_member(member), "export.points_member", filters={}, full=full,
        entity_type="members", entity_id=member.id,
    )  # fmt: skip


@bp.get("/export.xlsx")
def village_export():
    """A branch's ledger (every line of its members) as .xlsx; audited.

    ?village= names the branch: a secretary's own, or one a township officer or the
    county looks after (another is a 404). Without it, a user with one branch gets theirs.
    """
    require_role(*REGISTRY_ROLES)
    village_id = int_param("village")
    if village_id is None:
        villages = village_choices(current_user)
        if len(villages) != 1:
            abort(400)
        village_id = villages[0][0]
    village = get_village_or_404(current_user, village_id)
    full = exports.full_ids(current_user, asked_full_ids())
    return send_xlsx(
        history.export_village(village), "export.points_village",
        filters={"village": village.id}, full=full, entity_type="org_units", entity_id=village.id,
    )  # fmt: skip


@bp.post("/members/<int:member_id>/entries/<int:entry_id>/reverse")
@recent_auth_to_write
def reverse_entry(member_id: int, entry_id: int):
    """Undo a mistaken award or deduction with a compensating entry."""
    require_role(*REGISTRY_ROLES)
    member = get_member_or_404(current_user, member_id)
    entry = awards.member_entry(member, entry_id)
    if entry is None or entry.kind not in ("earn", "deduct"):
        abort(404)
    if not awards.may_undo(current_user, entry):
        abort(403)
    form = ReverseForm()
    if form.validate_on_submit():

        def undo():
            done = awards.reverse_entry(entry, current_user, form.reason.data)
            if done is None:
                raise RuleViolation({"reason": "这一笔已经冲正过了，或余额为 0"})
            return done

        ok, _ = commit_or_errors(form, undo)
        if ok:
            flash_saved("已冲正", f"points-reverse-{entry.id}")
            return redirect(url_for("points.member_points", member_id=member.id), 303)
    for message in form.reason.errors:
        flash(message, "error")
    return redirect(url_for("points.member_points", member_id=member.id), 303)


# --- batch awards (主题党日 attendance …) -----------------------------------------------


def _batch_village():
    villages = village_choices(current_user)
    village_id = int_param("village")
    if current_user.role == VILLAGE_SECRETARY or len(villages) == 1:
        village_id = villages[0][0] if villages else None
    return villages, (get_village_or_404(current_user, village_id) if village_id else None)


@bp.route("/award", methods=["GET", "POST"])
@recent_auth_to_write
def batch_award():
    require_role(*REGISTRY_ROLES)
    villages, village = _batch_village()
    members = []
    if village is not None:
        members = db.session.scalars(
            select(Member)
            .where(Member.village_id == village.id, Member.status == ACTIVE)
            .order_by(Member.name)
        ).all()
    form = BatchAwardForm() if request.method == "POST" else BatchAwardForm(formdata=None)
    base = _award_form(formdata=False)
    form.rule_id.choices = base.rule_id.choices
    form.member_ids.choices = options((m.id, m.name) for m in members)
    if request.method == "GET":
        form.occurred_on.data = base.occurred_on.data
        form.request_id.data = base.request_id.data
    status = 200
    result = None
    if request.method == "POST":
        status = 422
        if village is None:
            abort(400)
        if form.validate_on_submit() and (rule := _rule_or_error(form)) is not None:
            in_village = {m.id: m for m in members}
            wanted = set(form.member_ids.data)
            chosen = [in_village[i] for i in sorted(wanted) if i in in_village]
            if len(chosen) != len(wanted):
                abort(404)  # an id from another village: as if it did not exist
            ok, result = commit_or_errors(
                form,
                lambda: awards.award_batch(
                    current_user, village, chosen, rule, occurred_on=form.occurred_on.data,
                    reason=form.reason.data, request_id=form.request_id.data,
                ),
            )  # fmt: skip
            if ok:
                status = 200
    return render_template(
        "points/batch.html", form=form, villages=villages, village=village, result=result,
    ), status  # fmt: skip


# --- the member's own page ---------------------------------------------------------------


def _own_member_id() -> int:
    if current_user.role != MEMBER or not current_user.member_id:
        abort(404)
    return current_user.member_id


@bp.get("/mine")
def mine():
    member_id = _own_member_id()
    balance = ledger.balance_of(member_id)
    page = int_param("page") or 1
    lines, pages = history.entries(member_id, page)
    offers = [o for o in counter.catalogue(balance) if o.available]
    return render_template(
        "points/mine.html", balance=balance, lines=lines, page=page, pages=pages,
        offers=offers, upcoming=expiry.upcoming_for(member_id),
        bookings=history.bookings(member_id), qr=_member_qr(member_id),
    )  # fmt: skip


def _member_qr(member_id: int) -> str:
    """The code the clerk scans: it opens the counter on this member (DESIGN.md)."""
    url = url_for("store.counter_page", member=member_id, _external=True)
    return segno.make(url, error="m").svg_data_uri(scale=5, border=2)
