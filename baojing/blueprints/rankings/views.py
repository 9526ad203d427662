"""比积分: the quarterly points ranking of each online branch, as published."""

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import select

from baojing.blueprints.rankings import bp
from baojing.blueprints.rankings.forms import AmendForm, AnswerForm, ObjectionForm, PublishForm
from baojing.dates import local_today
from baojing.extensions import db
from baojing.models.org import OrgUnit
from baojing.models.rankings import RankingObjection, RankingPublication
from baojing.models.users import (
    COUNTY_ADMIN,
    MEMBER,
    ORG_LEADER,
    TOWNSHIP_OFFICER,
    VILLAGE_SECRETARY,
)
from baojing.scoping import ranking_condition
from baojing.services import rankings as svc
from baojing.web.downloads import send_xlsx
from baojing.web.forms import commit_or_errors, new_request_id, options
from baojing.web.guards import require_role

PUBLISHER_ROLES = (COUNTY_ADMIN, TOWNSHIP_OFFICER)
RANKING_ROLES = (*PUBLISHER_ROLES, VILLAGE_SECRETARY, ORG_LEADER, MEMBER)


@bp.before_request
def _has_a_branch():
    # The clerk serves the store and belongs to no online branch.
    require_role(*RANKING_ROLES)


def _get_publication_or_404(publication_id: int) -> RankingPublication:
    found = db.session.scalar(
        select(RankingPublication).where(
            RankingPublication.id == publication_id, ranking_condition(current_user)
        )
    )
    if found is None:
        abort(404)
    return found


def _publish_form(formdata=True) -> PublishForm:
    form = PublishForm() if formdata else PublishForm(formdata=None)
    form.township_id.choices = options(
        (tid, f"{name}网络党支部") for tid, name in svc.publishable_townships(current_user)
    )
    form.quarter.choices = options((q, q) for q in svc.completed_quarters())
    return form


def _index(form=None, status=200):
    if form is None and current_user.role in PUBLISHER_ROLES:
        form = _publish_form(formdata=False)
    publications = svc.publications(current_user)
    return render_template("rankings/index.html", publications=publications, form=form), status


@bp.get("/")
def index():
    return _index()


@bp.post("/publish")
def publish():
    require_role(*PUBLISHER_ROLES)
    form = _publish_form()
    if form.validate_on_submit():
        township = db.session.get(OrgUnit, form.township_id.data)  # a choice: in scope
        ok, publication = commit_or_errors(
            form, lambda: svc.publish(current_user, township, form.quarter.data)
        )
        if ok:
            flash(f"已公示 {township.name} {publication.quarter} 积分排名", "success")
            return redirect(url_for("rankings.show", publication_id=publication.id), 303)
    return _index(form, 422)


def _viewer() -> tuple[bool, int | None]:
    """(whether the user sees names in full, the member id whose own line they are)."""
    officer = current_user.role in PUBLISHER_ROLES
    return officer, current_user.member_id if current_user.role == MEMBER else None


def _show(publication, *, objection_form=None, amend_form=None, status=200):
    officer, own = _viewer()
    # The public view masks names; a member still sees their own line in full.
    lines = svc.lines_for_viewer(publication.id, full_names=officer, own_member_id=own)
    mine = next((line for line in lines if line.member_id == own), None) if own else None
    objections = svc.objections(publication.id, None if officer else (own or -1))
    form = objection_form or ObjectionForm(formdata=None)
    if not form.request_id.data:
        form.request_id.data = new_request_id()
    return render_template(
        "rankings/show.html", p=publication, lines=lines, officer=officer, mine=mine,
        amendments=svc.amendments(publication.id) if officer else [],
        objections=objections, objection_form=form,
        amend_form=amend_form or AmendForm(formdata=None), answer_form=AnswerForm(formdata=None),
        open_for_objections=local_today() <= publication.objections_until,
    ), status  # fmt: skip


@bp.get("/<int:publication_id>")
def show(publication_id: int):
    return _show(_get_publication_or_404(publication_id))


@bp.get("/<int:publication_id>/export.xlsx")
def export(publication_id: int):
    """The published ranking with its corrections as .xlsx, names as the page shows them."""
    publication = _get_publication_or_404(publication_id)
    officer, own = _viewer()
    lines = svc.lines_for_viewer(publication.id, full_names=officer, own_member_id=own)
    return send_xlsx(
        svc.export(publication, lines), "export.ranking", filters={},
        entity_type="ranking_publications", entity_id=publication.id,
    )  # fmt: skip


@bp.post("/<int:publication_id>/amend")
def amend(publication_id: int):
    require_role(*PUBLISHER_ROLES)
    publication = _get_publication_or_404(publication_id)
    form = AmendForm()
    if form.validate_on_submit():
        ok, added = commit_or_errors(
            form, lambda: svc.amend(current_user, publication, form.reason.data)
        )
        if ok:
            flash(f"已复核：{added} 人的积分有更正" if added else "已复核：积分没有变化", "success")
            return redirect(url_for("rankings.show", publication_id=publication.id), 303)
    return _show(publication, amend_form=form, status=422)


@bp.post("/<int:publication_id>/objections")
def object_to(publication_id: int):
    require_role(MEMBER)
    publication = _get_publication_or_404(publication_id)
    form = ObjectionForm()
    if form.validate_on_submit():
        ok, _ = commit_or_errors(
            form,
            lambda: svc.object_to(
                publication, current_user.member_id, form.text.data, form.request_id.data or None
            ),
        )
        if ok:
            flash("疑问已提交，党支部会在这里答复您", "success")
            return redirect(url_for("rankings.show", publication_id=publication.id), 303)
    return _show(publication, objection_form=form, status=422)


@bp.post("/<int:publication_id>/objections/<int:objection_id>/answer")
def answer(publication_id: int, objection_id: int):
    require_role(*PUBLISHER_ROLES)
    publication = _get_publication_or_404(publication_id)
    objection = db.session.scalar(
        select(RankingObjection).where(
            RankingObjection.id == objection_id, RankingObjection.publication_id == publication.id
        )
    )
    if objection is None:
        abort(404)
    form = AnswerForm()
    if form.validate_on_submit():
        ok, _ = commit_or_errors(
            form, lambda: svc.answer(current_user, objection, form.answer.data)
        )
        if ok:
            flash("已答复", "success")
            return redirect(url_for("rankings.show", publication_id=publication.id), 303)
    for message in [*form.answer.errors]:
        flash(message, "error")
    return redirect(url_for("rankings.show", publication_id=publication.id), 303)
