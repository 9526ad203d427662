from flask import Blueprint

bp = Blueprint("settings", __name__, url_prefix="/settings")

from baojing.blueprints.settings import views  # noqa: E402,F401
