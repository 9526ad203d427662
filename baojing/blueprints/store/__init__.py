from flask import Blueprint

bp = Blueprint("store", __name__, url_prefix="/store")

from baojing.blueprints.store import catalog_views, views  # noqa: E402,F401
