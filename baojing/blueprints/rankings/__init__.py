from flask import Blueprint

bp = Blueprint("rankings", __name__, url_prefix="/rankings")

from baojing.blueprints.rankings import views  # noqa: E402,F401
