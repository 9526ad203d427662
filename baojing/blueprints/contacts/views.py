"""/contacts: public, no login. Each branch's contact person and the number they chose to publish."""

from flask import request

from baojing.blueprints.contacts import bp
from baojing.models.org import KIND_LABELS
from baojing.services import contacts
from baojing.web import htmx
from baojing.web.params import int_param
from baojing.web.ratelimit import limited


@bp.get("/", strict_slashes=False)  # /contacts as printed, and /contacts/
@limited("CONTACTS_RATE_LIMIT")
def index():
    """Search by name and township with a GET form: a migrant bookmarks the result."""
    filters = {"q": request.args.get("q", "").strip()[:40], "township": int_param("township")}
    result, groups = contacts.directory(
        q=filters["q"], township_id=filters["township"], page=int_param("page") or 1
    )
    context = {
        "result": result,
        "groups": groups,
        "filters": filters,
        "kind_labels": KIND_LABELS,
        # What the pager's links keep: only the filters that are set.
        "pager_args": {name: value for name, value in filters.items() if value},
    }
    if htmx.wants_fragment():
        return htmx.render("contacts/index.html", "contacts/_results.html", **context)
    return htmx.render("contacts/index.html", townships=contacts.townships(), **context)
