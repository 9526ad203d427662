"""Career support: mentors (帮带), 小个专 enterprises with credit, honours and events."""

from flask import Blueprint

bp = Blueprint("mentors", __name__, url_prefix="/mentors")

from baojing.blueprints.mentors import enterprises, honours, views  # noqa: E402,F401
