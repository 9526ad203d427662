"""The catalogue, kept by the county: items, their prices, stock and dated sessions."""

from flask import abort, flash, redirect, render_template, url_for

from baojing.blueprints.store import bp
from baojing.blueprints.store.forms import ItemForm, SessionForm
from baojing.extensions import db
from baojing.models.points import ITEM_KINDS, CatalogItem
from baojing.models.users import COUNTY_ADMIN
from baojing.services.points import catalog, counter
from baojing.web.forms import commit_or_errors
from baojing.web.guards import require_role


def _get_item_or_404(item_id: int) -> CatalogItem:
    item = db.session.get(CatalogItem, item_id)
    if item is None:
        abort(404)
    return item


@bp.get("/catalog")
def catalog_index():
    require_role(COUNTY_ADMIN)
    return render_template("store/catalog.html", items=catalog.all_items(), kinds=ITEM_KINDS)


@bp.route("/catalog/new", methods=["GET", "POST"])
@bp.route("/catalog/<int:item_id>", methods=["GET", "POST"])
def catalog_item(item_id: int | None = None):
    require_role(COUNTY_ADMIN)
    item = _get_item_or_404(item_id) if item_id else None
    form = ItemForm(obj=item)
    status = 200
    if form.validate_on_submit():
        data = {name: form[name].data for name in catalog.ITEM_FIELDS}
        ok, saved = commit_or_errors(form, lambda: catalog.save_item(item, data))
        if ok:
            counter.catalogue_changed()
            flash(f"已保存「{saved.name}」", "success")
            return redirect(url_for("store.catalog_item", item_id=saved.id), 303)
        status = 422
    elif form.is_submitted():
        status = 422
    session_form = SessionForm(formdata=None)
    return render_template(
        "store/item_form.html", form=form, item=item, session_form=session_form
    ), status


@bp.post("/catalog/<int:item_id>/sessions")
def add_session(item_id: int):
    require_role(COUNTY_ADMIN)
    item = _get_item_or_404(item_id)
    session_form = SessionForm()
    if session_form.validate_on_submit():
        data = {n: session_form[n].data for n in ("on_date", "place", "capacity")}
        ok, _ = commit_or_errors(session_form, lambda: catalog.add_session(item, data))
        if ok:
            counter.catalogue_changed()
            flash("已添加场次", "success")
            return redirect(url_for("store.catalog_item", item_id=item.id), 303)
    form = ItemForm(obj=item, formdata=None)
    return render_template(
        "store/item_form.html", form=form, item=item, session_form=session_form
    ), 422
