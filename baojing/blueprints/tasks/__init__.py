from flask import Blueprint

bp = Blueprint("tasks", __name__, url_prefix="/tasks")

from baojing.blueprints.tasks import views  # noqa: E402,F401
