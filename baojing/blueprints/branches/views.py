"""The organisation tree: county → townships → village branches, online branches, 流动党组织."""

from flask import abort, render_template
from flask_login import current_user

from baojing.blueprints.branches import bp
from baojing.models.users import COUNTY_ADMIN, TOWNSHIP_OFFICER
from baojing.services import org


@bp.get("/")
def index():
    """The tree, with active mobile members counted per village."""
    if current_user.role not in (COUNTY_ADMIN, TOWNSHIP_OFFICER):
        abort(403)
    nodes, counts = org.tree(current_user)
    return render_template("branches/index.html", county=org.county(), nodes=nodes, counts=counts)
