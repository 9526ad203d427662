from flask import Blueprint

bp = Blueprint("certificates", __name__, url_prefix="/certificates")

from baojing.blueprints.certificates import views  # noqa: E402,F401
