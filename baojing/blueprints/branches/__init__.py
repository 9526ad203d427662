from flask import Blueprint

bp = Blueprint("branches", __name__, url_prefix="/branches")

from baojing.blueprints.branches import units, views  # noqa: E402,F401
