"""The phone's outbox (static/js/outbox.js): its service worker, the page it shows with no
signal, and a fresh CSRF token for sending what waited."""

from flask import current_app, jsonify, render_template, send_from_directory
from flask_login import current_user
from flask_wtf.csrf import generate_csrf

from baojing.blueprints.outbox import bp


@bp.get("/sw.js")
def service_worker():
    """The service worker, from the site's root so that its scope is the whole site."""
    response = send_from_directory(
        current_app.static_folder, "js/sw.js", mimetype="text/javascript", max_age=0
    )
    # Public like any static file: a browser checks for a new version in the background,
    # also after the session has ended, and a redirect to the login page would fail it.
    response.headers["Service-Worker-Allowed"] = "/"
    return response


@bp.get("/offline")
def offline():
    """What a page shows when there is no signal; kept by the service worker, so nobody's data."""
    return render_template("outbox/offline.html")


@bp.get("/outbox/token")
def token():
    """A CSRF token of this session, fetched before sending what waited in the outbox.

    The token a form carried may be hours old or from a session that has since ended;
    the outbox never stores it. The user id lets the outbox send only its own user's
    entries (a phone may be shared).
    """
    return jsonify(csrf_token=generate_csrf(), user=current_user.id)
