"""One place that decides between a full page and an htmx fragment."""

from flask import make_response, render_template, request


def wants_fragment() -> bool:
    """True for a targeted htmx request; boosted and history-restore requests get pages."""
    h = request.headers
    if h.get("HX-Request") != "true":
        return False
    if h.get("HX-Boosted") == "true" or h.get("HX-History-Restore-Request") == "true":
        return False
    return h.get("HX-Request-Type", "partial") != "full"


def render(page: str, fragment: str | None = None, status: int = 200, **context):
    """Render the fragment for htmx, the page otherwise; both vary on HX-Request."""
    template = fragment if fragment and wants_fragment() else page
    response = make_response(render_template(template, **context), status)
    response.vary.add("HX-Request")
    return response
