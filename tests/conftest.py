"""Fixtures: an app on a freshly migrated database per test, a CSRF-aware client, an org
with users.

SQLite by default: the migrated template file is copied for every test. With
BAOJING_TEST_POSTGRESQL set (a URL with a {name} placeholder, e.g.
postgresql+psycopg://postgres@/{name}?host=/tmp/pg), every test gets its own PostgreSQL
database made from a migrated template database (.ci/run does both).
"""

import os
import re
import shutil
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from flask_migrate import upgrade
from sqlalchemy import create_engine, text

from baojing import cache, create_app
from baojing.extensions import db
from tests import factories

PASSWORD = "correct horse battery staple"
BASE_CONFIG = {
    "TESTING": True,
    "SECRET_KEY": "test-secret-key-that-is-long-enough-0123456789",
    "PASSWORD_HASH_CHEAP": True,
    "SQLITE_BUSY_TIMEOUT_MS": 5000,
}


POSTGRESQL = os.environ.get("BAOJING_TEST_POSTGRESQL", "")
# What only SQLite has: its files (online backup, the WAL), its lock.
sqlite_only = pytest.mark.skipif(bool(POSTGRESQL), reason="about SQLite's own files and lock")


@dataclass(frozen=True)
class PostgresDatabase:
    """A test's own PostgreSQL database; `parent` is where its uploads go."""

    name: str
    parent: Path

    @property
    def uri(self) -> str:
        return POSTGRESQL.format(name=self.name)


def database_uri(database) -> str:
    return database.uri if isinstance(database, PostgresDatabase) else f"sqlite:///{database}"


def make_app(database, **config):
    uploads = str(database.parent / "uploads")
    return create_app(
        BASE_CONFIG
        | {"SQLALCHEMY_DATABASE_URI": database_uri(database), "UPLOAD_FOLDER": uploads}
        | config
    )


def _postgres_admin():
    """A connection to the server's own database, for CREATE and DROP DATABASE."""
    engine = create_engine(POSTGRESQL.format(name="postgres"), isolation_level="AUTOCOMMIT")
    return engine, engine.connect()


@pytest.fixture(scope="session")
def migrated_db(tmp_path_factory):
    """One database migrated with Alembic (triggers included), copied for every test."""
    folder = tmp_path_factory.mktemp("template")
    if POSTGRESQL:
        template = PostgresDatabase(f"baojing_template_{os.getpid()}", folder)
        engine, admin = _postgres_admin()
        admin.execute(text(f"DROP DATABASE IF EXISTS {template.name}"))
        admin.execute(text(f"CREATE DATABASE {template.name}"))
    else:
        template = folder / "template.db"
    app = make_app(template)
    with app.app_context():
        upgrade()
        db.session.remove()
        db.engine.dispose()
    if not POSTGRESQL:
        yield template
        return
    yield template
    admin.execute(text(f"DROP DATABASE IF EXISTS {template.name}"))
    admin.close()
    engine.dispose()


@pytest.fixture(autouse=True)
def _fresh_caches():
    """Per-process menu caches must not carry one test's database into the next."""
    cache.clear_all()


def database_copy(template, folder: Path):
    """A new database like the migrated template, in folder; yields it, then drops it."""
    if not POSTGRESQL:
        target = folder / "baojing.db"
        shutil.copy(template, target)
        yield target
        return
    yield from _postgres_database(folder, f"TEMPLATE {template.name}")


def empty_database(folder: Path, name: str = "baojing.db"):
    """A new, empty database (not migrated) in folder; yields it, then drops it."""
    if not POSTGRESQL:
        yield folder / name
        return
    yield from _postgres_database(folder)


def _postgres_database(folder: Path, options: str = ""):
    """A PostgreSQL database of the test's own (CREATE DATABASE … options), dropped after."""
    target = PostgresDatabase(f"baojing_test_{uuid.uuid4().hex[:12]}", folder)
    engine, admin = _postgres_admin()
    admin.execute(text(f"CREATE DATABASE {target.name} {options}"))
    try:
        yield target
    finally:
        admin.execute(text(f"DROP DATABASE IF EXISTS {target.name} WITH (FORCE)"))
        admin.close()
        engine.dispose()


def run_sql(database, sql: str, *params):
    """One statement on the database from outside any app (qmark parameters)."""
    engine = create_engine(database_uri(database))
    try:
        with engine.connect() as conn:
            if conn.dialect.paramstyle != "qmark":
                sql = sql.replace("?", "%s")
            return conn.exec_driver_sql(sql, tuple(params)).fetchall()
    finally:
        engine.dispose()


@pytest.fixture
def db_path(migrated_db, tmp_path):
    """The test's database: a copy of the template file, or a PostgreSQL database."""
    yield from database_copy(migrated_db, tmp_path)


@pytest.fixture
def app(db_path):
    """The app as test code sees it: an app context is pushed for direct database access."""
    app = make_app(db_path)
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def server(app, db_path):
    """A second instance on the same database that serves the test clients.

    Requests must not run inside the test's app context (they would share its `g`
    and its session, hiding exactly the per-request state these tests are about).
    Config is shared, so a test may change a setting on `app`.
    """
    server = make_app(db_path)
    server.config = app.config
    yield server
    with server.app_context():
        db.engine.dispose()


@pytest.fixture
def org(app):
    """Two townships, three villages, a user of every role, members in every village."""
    data = factories.build_org()
    db.session.commit()
    return data


class Client:
    """Test client that logs in like a browser and sends the CSRF token it was given.

    After every request the test's own session is rolled back, so that test code
    reads what the request committed, not an older snapshot.
    """

    def __init__(self, flask_client):
        self.c = flask_client
        self._token = None

    def __getattr__(self, name):
        return getattr(self.c, name)

    def _fresh(self, response):
        db.session.rollback()
        return response

    def get(self, *args, **kwargs):
        return self._fresh(self.c.get(*args, **kwargs))

    def csrf(self) -> str:
        if self._token is None:
            page = self.c.get("/login").get_data(as_text=True)
            if "csrf-token" not in page:
                page = self.c.get("/account/password").get_data(as_text=True)
            self._token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
        return self._token

    def post(self, url, data=None, *, csrf=True, **kwargs):
        data = dict(data or {})
        if csrf and "csrf_token" not in data:
            data["csrf_token"] = self.csrf()
        return self._fresh(self.c.post(url, data=data, **kwargs))

    def login(self, username: str, password: str = PASSWORD):
        self._token = None
        response = self.post("/login", {"username": username, "password": password})
        self._token = None  # the session was renewed at login; so was its token
        return response

    def change_password(self, current: str, new: str):
        response = self.post(
            "/account/password", {"current_password": current, "new_password": new, "confirm": new}
        )
        self._token = None  # a successful change renews the session and its token
        return response

    def logout(self):
        response = self.post("/logout")
        self._token = None
        return response


@pytest.fixture
def new_client(server):
    """A fresh browser: new_client() → Client with an empty cookie jar."""
    return lambda: Client(server.test_client())


@pytest.fixture
def client(new_client):
    return new_client()


@pytest.fixture
def login(new_client, org):
    """login('secretary') → a Client logged in as that org user."""

    def _login(key: str) -> Client:
        c = new_client()
        response = c.login(org.users[key].username)
        assert response.status_code == 302, response.get_data(as_text=True)
        return c

    return _login


def login_long_ago(user_id: int, minutes: int = 30) -> None:
    """Make the user's open sessions look logged in `minutes` ago: past REAUTH_MINUTES,
    so that a privileged action asks for the password again."""
    from baojing.models import UserSession
    from baojing.models.types import utcnow

    db.session.execute(
        UserSession.__table__.update()
        .where(UserSession.user_id == user_id, UserSession.ended_at.is_(None))
        .values(authenticated_at=utcnow() - timedelta(minutes=minutes))
    )
    db.session.commit()
