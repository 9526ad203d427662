"""Home page per role, and the health check."""

from flask import current_app, jsonify, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import text

from baojing.blueprints.main import bp
from baojing.dates import local_today
from baojing.extensions import db
from baojing.models.users import CLERK, MEMBER
from baojing.scoping import can_manage_registry
from baojing.services import hub, tasks, thoughts
from baojing.services.care import listing as care_listing
from baojing.services.care import todo
from baojing.services.home import KINDS
from baojing.services.members import ALERT_LABELS, AlertCutoffs, alert_counts
from baojing.services.mentors import honours
from baojing.services.points import ledger


@bp.get("/healthz")
def healthz():
    """200 when the database answers."""
    try:
        db.session.execute(text("SELECT 1"))
    except Exception:  # noqa: BLE001 - any database failure means unhealthy
        current_app.logger.exception("health check failed")
        return jsonify(status="error"), 503
    return jsonify(status="ok")


# Who has something for a member's home page (services/home.py), in no particular order:
# the page groups the items by kind.
MEMBER_HOME = (
    tasks.for_home,
    hub.for_home,
    care_listing.for_home,
    honours.for_home,
    thoughts.for_home,
)
# … and on a staff member's home page, the to-do they act on (reports to review …).
STAFF_HOME = (tasks.for_home, hub.for_home, thoughts.for_home)


@bp.get("/")
def home():
    """Each role's starting point."""
    if current_user.role == MEMBER:
        return _member_home()
    if current_user.role == CLERK:
        return redirect(url_for("store.counter_page"))
    counts = care = None
    if can_manage_registry(current_user):
        counts = alert_counts(current_user, AlertCutoffs.today())
        care = todo.case_counts(current_user, local_today())
    user = current_user._get_current_object()
    waiting = [item for provider in STAFF_HOME for item in provider(user)]
    return render_template(
        "main/home.html", counts=counts, care=care, alert_labels=ALERT_LABELS, waiting=waiting
    )


def _member_home():
    """What's for the member now, in DESIGN.md's order: the month's tasks, unread
    announcements, the quarter's thought report, lessons and events, points, open
    care and service requests. Each item one tap away."""
    user = current_user._get_current_object()
    items = [item for provider in MEMBER_HOME for item in provider(user)]
    order = {kind: n for n, kind in enumerate(KINDS)}  # KINDS is in the page's order
    items.sort(key=lambda i: (order.get(i.kind, len(order)), not i.overdue))
    return render_template(
        "main/member_home.html", items=items, balance=ledger.balance_of(user.member_id),
        headings=KINDS, today=local_today(),
    )  # fmt: skip
