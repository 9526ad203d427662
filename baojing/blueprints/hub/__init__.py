from flask import Blueprint

bp = Blueprint("hub", __name__, url_prefix="/hub")

from baojing.blueprints.hub import views  # noqa: E402,F401
