from flask import Blueprint

# The roster import lives under the member registry's URLs (/members/import).
bp = Blueprint("roster", __name__, url_prefix="/members/import")

from baojing.blueprints.roster import views  # noqa: E402,F401
