from flask import Blueprint

bp = Blueprint("care", __name__, url_prefix="/care")

from baojing.blueprints.care import views  # noqa: E402,F401
