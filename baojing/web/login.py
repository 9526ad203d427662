"""Flask-Login wiring: cookies name a server-side session, not a user."""

from urllib.parse import urlsplit

from flask import flash, g, redirect, request, url_for
from flask_login import current_user

from baojing import security
from baojing.extensions import login_manager
from baojing.web.htmx import wants_fragment

# Everything else needs a logged-in user (default deny; SECURITY.md item 11).
PUBLIC_ENDPOINTS = {
    "auth.login",
    "auth.login_totp",
    "main.healthz",
    "static",
    "verify.show",
    "verify.lookup",
    "contacts.index",
    # The outbox's service worker and its no-signal page: static content, nobody's data.
    "outbox.service_worker",
    "outbox.offline",
}
# Endpoints a user who must change their password can still reach.
_PASSWORD_CHANGE_ALLOWED = {"auth.change_password", "auth.logout", "static", "main.healthz"}
# ... and one who must still set up two-step verification.
_TOTP_SETUP_ALLOWED = {"auth.totp_setup", "auth.logout", "static", "main.healthz"}


def safe_next(target: str | None) -> str | None:
    """Only same-site relative paths are followed after login.

    Browsers drop tabs and newlines from URLs, so "/\t/evil.example" would become
    "//evil.example": control characters and backslashes are refused outright.
    """
    if not target or any(ord(c) <= 0x20 or c == "\\" for c in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def init_app(app):
    login_manager.init_app(app)
    # No binding to IP or user agent: phones change networks all day.
    login_manager.session_protection = None

    @login_manager.user_loader
    def _load(token: str):
        return security.load_session_user(token)

    @login_manager.unauthorized_handler
    def _unauthorized():
        message = "登录已超时，请重新登录" if g.get("session_expired") else "请先登录"
        # The path only: a query string may hold a search for someone's name.
        target = url_for("auth.login", next=request.path)
        if request.headers.get("HX-Request"):
            # A fragment target must not receive the login page: reload the whole page.
            response = app.response_class("", status=401)
            response.headers["HX-Redirect"] = target
            return response
        flash(message, "warning")
        return redirect(target)

    @app.before_request
    def _gate():
        """Who may go on: logged in, password current, second factor set up if required."""
        endpoint = request.endpoint
        if endpoint is None or endpoint in PUBLIC_ENDPOINTS:
            return None
        user = current_user._get_current_object()  # one proxy lookup, not six
        if not user.is_authenticated:
            return login_manager.unauthorized()
        if endpoint in _PASSWORD_CHANGE_ALLOWED:
            return None
        if user.must_change_password or security.password_expired(user):
            return _send_to("auth.change_password")
        if (
            user.role in app.config["TOTP_REQUIRED_ROLES"]
            and not user.totp_enabled
            and endpoint not in _TOTP_SETUP_ALLOWED
        ):
            return _send_to("auth.totp_setup")
        return None

    def _send_to(endpoint: str):
        if wants_fragment():
            response = app.response_class("", status=403)
            response.headers["HX-Redirect"] = url_for(endpoint)
            return response
        return redirect(url_for(endpoint))
