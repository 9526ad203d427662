"""Views that take files get a larger request limit than the app-wide MAX_CONTENT_LENGTH.

The limit must be raised before anything reads the body, and the CSRF check reads
it in its own before_request; so this hook is registered ahead of Flask-WTF's.
"""

from collections.abc import Callable

from flask import Flask, current_app, request, session
from flask_login import current_user


def accepts_upload(limit: Callable[[], int]):
    """Mark a view as taking files; limit() gives its request size limit in bytes."""

    def mark(view):
        view.upload_limit = limit
        return view

    return mark


def _raise_limit_for_uploads() -> None:
    view = current_app.view_functions.get(request.endpoint or "")
    limit = getattr(view, "upload_limit", None)
    # Only for a live session: this runs before the login check, and a stranger's
    # 30 MB must be refused at the app-wide limit, not read first. A cookie that still
    # names a user is not enough (its session may have ended: logged out, locked, idle),
    # so the session is looked up here, on upload views only; the login check that
    # follows reuses the user loaded now.
    if limit is not None and session.get("_user_id") and current_user.is_authenticated:
        request.max_content_length = limit()


def init_app(app: Flask) -> None:
    app.before_request(_raise_limit_for_uploads)
