"""Response headers, error pages, template filters and static asset URLs."""

import hashlib
from datetime import date, datetime
from pathlib import Path
from urllib.parse import urlsplit

from flask import render_template, request, url_for
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from baojing import audit
from baojing.dates import SHANGHAI
from baojing.db import out_of_space
from baojing.extensions import db
from baojing.models.meta import is_demo_marked
from baojing.money import wan, yuan
from baojing.validators import mask_id, mask_phone
from baojing.web.htmx import wants_fragment

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
# A write refused for want of space (the database's or a file's): what the user is told.
# The forms keep what was typed as a draft in the browser (static/js/app.js).
STORAGE_FULL = "服务器存储空间不足，这次操作没有保存，请稍后再试；已填写的内容不会丢失。"
# Fields never echoed back into a re-submit form after a CSRF failure.
_NOT_ECHOED = {"csrf_token", "password", "current_password", "new_password", "confirm"}


def init_app(app):
    _asset_urls: dict[str, str] = {}

    def asset(filename: str) -> str:
        """Static URL with a content hash, so the file can be cached for a year.

        Computed once per process: files do not change under a running server.
        """
        url = _asset_urls.get(filename)
        if url is None:
            data = (Path(app.static_folder) / filename).read_bytes()
            digest = hashlib.sha256(data).hexdigest()[:10]
            url = _asset_urls[filename] = url_for("static", filename=filename, v=digest)
        return url

    app.jinja_env.globals["asset"] = asset

    app.jinja_env.filters["dt"] = format_datetime
    app.jinja_env.filters["d"] = format_date
    app.jinja_env.globals.update(mask_id=mask_id, mask_phone=mask_phone, yuan=yuan, wan=wan)
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True

    @app.context_processor
    def _globals():
        return {"demo_instance": is_demo_instance(app)}

    @app.after_request
    def _security_headers(response):
        h = response.headers
        h.setdefault("Content-Security-Policy", CSP)
        h["X-Content-Type-Options"] = "nosniff"
        h["Referrer-Policy"] = "same-origin"
        h["X-Frame-Options"] = "DENY"
        if request.is_secure:
            h["Strict-Transport-Security"] = "max-age=31536000"
        if request.endpoint != "static":
            # Every page here is somebody's personal data or an action on it.
            h["Cache-Control"] = "no-store"
        return response

    @app.errorhandler(CSRFError)
    def _csrf_error(exc):
        db.session.rollback()
        # Offer to re-send only what our own pages posted: a form on another site
        # gets a plain refusal, not a ready-made button with its fields.
        if not _from_our_pages():
            return _error_response("errors/http.html", 400, error=exc)
        fields = [(k, v) for k, v in request.form.items(multi=True) if k not in _NOT_ECHOED]
        return _error_response(
            "errors/csrf.html", 400, fields=fields, action=request.full_path.rstrip("?")
        )

    @app.errorhandler(HTTPException)
    def _http_error(exc):
        if exc.code and exc.code < 400:
            return exc
        db.session.rollback()
        if exc.code in (403, 404) and current_user.is_authenticated:
            # Someone logged in asked for what is not theirs (or not there): count it
            # (SECURITY.md item 30). The URL holds only ids, never names.
            audit.record_denied(str(exc.code), endpoint=request.endpoint or "", path=request.path)
        # What the exception says besides its body: Retry-After on a 429, Allow on a 405.
        headers = {k: v for k, v in exc.get_headers() if k in ("Retry-After", "Allow")}
        return _error_response("errors/http.html", exc.code or 500, headers, error=exc)

    @app.errorhandler(Exception)
    def _unexpected(exc):
        db.session.rollback()  # and the files written for it go (db.kept_if_committed)
        if out_of_space(exc):
            # One line, no traceback: the statement or the path may name a person.
            app.logger.error(
                "out of storage space (%s) on %s %s: refused with 503",
                type(exc).__name__, request.method, request.path,
            )  # fmt: skip
            return _error_response(
                "errors/http.html", 503, {"Retry-After": "60"}, error=STORAGE_FULL
            )
        app.logger.exception("unhandled error on %s %s", request.method, request.path)
        return _error_response("errors/http.html", 500, error=None)


def _from_our_pages() -> bool:
    """Whether a POST came from one of this site's own pages.

    Sec-Fetch-Site says so in every current browser. An older one (a WebView without
    Fetch Metadata) is judged by its Origin, else its Referer; a request with none of
    them is not taken for ours.
    """
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None:
        return site == "same-origin"
    source = request.headers.get("Origin") or request.referrer
    if not source:
        return False
    parts = urlsplit(source)
    return (parts.scheme, parts.netloc) == (request.scheme, request.host)


def _error_response(template: str, status: int, headers: dict | None = None, **context):
    fragment = wants_fragment()
    body = render_template(template, fragment=fragment, status=status, **context)
    headers = dict(headers or {})
    if fragment:
        # Never swap an error page into a form or list as if it were content:
        # put the message in the page's message area instead.
        headers |= {"HX-Retarget": "#messages", "HX-Reswap": "innerHTML"}
    return body, status, headers


def is_demo_instance(app) -> bool:
    """Whether this database was filled by `flask demo load` (cached per process)."""
    cached = app.extensions.get("baojing_demo")
    if cached is None:
        cached = app.extensions["baojing_demo"] = is_demo_marked(db.session)
    return cached


def format_datetime(value: datetime | None) -> str:
    if value is None:
        return ""
    return value.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


def format_date(value: date | None) -> str:
    return value.isoformat() if value else ""
