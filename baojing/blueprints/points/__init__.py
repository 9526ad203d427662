from flask import Blueprint

bp = Blueprint("points", __name__, url_prefix="/points")

from baojing.blueprints.points import views  # noqa: E402,F401
