"""Mentoring (帮带): the mentor pool, suggestions, pairings and check-ins."""

from flask import render_template

from baojing.blueprints.guards import require_role
from baojing.blueprints.mentors import bp
from baojing.models.users import MEMBER
from baojing.scoping import REGISTRY_ROLES


@bp.get("/")
def index():
    require_role(*REGISTRY_ROLES, MEMBER)
    return render_template("mentors/index.html")
