from flask import Blueprint

bp = Blueprint("thoughts", __name__, url_prefix="/thoughts")

from baojing.blueprints.thoughts import views  # noqa: E402,F401
