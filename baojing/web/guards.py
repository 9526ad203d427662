"""View decorators shared by blueprints."""

from functools import wraps
from urllib.parse import urlsplit

from flask import abort, redirect, request, url_for
from flask_login import current_user

from baojing import security


def recent_auth_required(view):
    """Ask for the password again when the login is older than REAUTH_MINUTES.

    For granting roles, resetting passwords and changing a phone number (SECURITY.md
    item 10): a phone left unlocked on a table must not be enough.
    """
    return _asking_again(view, methods=None)


def recent_auth_to_write(view):
    """recent_auth_required for a page that anyone in scope may read and whose form
    makes a privileged change (points by hand, a reversal): asked on POST only.

    The POST is not replayed after the password; its form keeps a draft (data-draft),
    so the page it comes back to still holds what was typed.
    """
    return _asking_again(view, methods=frozenset({"POST"}))


def _asking_again(view, methods: frozenset | None):
    @wraps(view)
    def wrapper(*args, **kwargs):
        asks = methods is None or request.method in methods
        if asks and not security.recently_authenticated(current_user):
            # After a GET the user comes back to the same page; after a POST, to the
            # page its form was on (the POST itself is not replayed).
            back = request.path if request.method == "GET" else _same_site_referrer()
            return redirect(url_for("auth.reauth", next=back or url_for("main.home")))
        return view(*args, **kwargs)

    return wrapper


def _same_site_referrer() -> str | None:
    referrer = request.referrer
    if not referrer:
        return None
    parts = urlsplit(referrer)
    if parts.netloc != request.host:
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


def require_role(*roles: str) -> None:
    """403 unless the user has one of these roles (rows are scoped separately, by query)."""
    if current_user.role not in roles:
        abort(403)
