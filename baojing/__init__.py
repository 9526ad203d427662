"""保靖县流动党员服务平台: the app factory."""

import os
import secrets
from datetime import timedelta
from pathlib import Path

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

# `baojing.db` is the transaction-policy module; the SQLAlchemy object is extensions.db
# (importing the module would rebind a `db` name here).
from baojing import db as transactions
from baojing.config import Defaults
from baojing.extensions import babel, csrf, migrate
from baojing.extensions import db as sqlalchemy_db

MIGRATIONS = str(Path(__file__).resolve().parent.parent / "migrations")


def create_app(test_config: dict | None = None) -> Flask:
    """Defaults → instance/config.py → BAOJING_* environment → test_config."""
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_object(Defaults)
    app.config.from_pyfile("config.py", silent=True)
    app.config.from_prefixed_env("BAOJING")
    if test_config:
        app.config.update(test_config)
    os.makedirs(app.instance_path, exist_ok=True)
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        path = Path(app.instance_path) / "baojing.db"
        app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{path}"
    app.config.setdefault("UPLOAD_FOLDER", str(Path(app.instance_path) / "uploads"))
    # Where the generated key is kept; `flask backup` archives it from there too.
    app.config.setdefault("SECRET_KEY_FILE", str(Path(app.instance_path) / "secret_key"))
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _instance_secret(Path(app.config["SECRET_KEY_FILE"]))
    # The cookie and the CSRF token live as long as the session may (an hour of
    # slack for the token); raising SESSION_ABSOLUTE_HOURS raises all three.
    hours = app.config["SESSION_ABSOLUTE_HOURS"]
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(hours=hours)
    app.config["WTF_CSRF_TIME_LIMIT"] = (hours + 1) * 3600
    if app.config.get("PROXY_FIX"):
        # Behind one reverse proxy (docs/deploy.md): trust its X-Forwarded-For/Proto.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1)

    sqlalchemy_db.init_app(app)
    migrate.init_app(app, sqlalchemy_db, directory=MIGRATIONS, render_as_batch=True)
    with app.app_context():
        # First of the before_request hooks: whether the request writes is known
        # before anything (the login check included) opens a transaction.
        transactions.init_app(app)
    from baojing.web import login, pages, ratelimit, uploads

    uploads.init_app(app)  # before the CSRF check reads the body
    csrf.init_app(app)
    babel.init_app(app)
    ratelimit.init_app(app)
    login.init_app(app)
    pages.init_app(app)

    from baojing.blueprints import register_blueprints

    register_blueprints(app)

    from baojing import cli

    cli.init_app(app)
    from baojing import serving

    serving.hold_when_serving(app)  # `flask run`; gunicorn workers take it in gunicorn.conf.py
    return app


def _instance_secret(path: Path) -> str:
    """A random key kept in instance/, created once; no key is ever hard-coded."""
    if not path.exists():
        # Written aside, then linked into place: two workers starting together
        # both end up reading the one key that won.
        tmp = path.with_name(f".{path.name}.{os.getpid()}")
        tmp.write_text(secrets.token_hex(32))
        tmp.chmod(0o600)
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return path.read_text().strip()
