"""Home page per role, and the health check."""

from flask import current_app, jsonify, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import text

from baojing.blueprints.main import bp
from baojing.dates import local_today
from baojing.extensions import db
from baojing.models.users import CLERK, MEMBER
from baojing.scoping import can_manage_registry
from baojing.services.care import todo
from baojing.services.members import ALERT_LABELS, AlertCutoffs, alert_counts


@bp.get("/healthz")
def healthz():
    """200 when the database answers."""
    try:
        db.session.execute(text("SELECT 1"))
    except Exception:  # noqa: BLE001 - any database failure means unhealthy
        current_app.logger.exception("health check failed")
        return jsonify(status="error"), 503
    return jsonify(status="ok")


@bp.get("/")
def home():
    """Each role's starting point."""
    if current_user.role == MEMBER:
        return redirect(url_for("members.me"))
    if current_user.role == CLERK:
        return redirect(url_for("store.counter_page"))
    counts = care = None
    if can_manage_registry(current_user):
        counts = alert_counts(current_user, AlertCutoffs.today())
        care = todo.case_counts(current_user, local_today())
    return render_template("main/home.html", counts=counts, care=care, alert_labels=ALERT_LABELS)
