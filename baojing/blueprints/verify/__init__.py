from flask import Blueprint

bp = Blueprint("verify", __name__, url_prefix="/verify")

from baojing.blueprints.verify import views  # noqa: E402,F401
