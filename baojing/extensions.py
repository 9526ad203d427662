"""Extensions, created once and bound to the app in create_app."""

import fcntl
import os
import time
from contextlib import contextmanager
from contextvars import ContextVar

from flask import g, has_request_context
from flask_babel import Babel
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import MetaData, event
from sqlalchemy.orm import DeclarativeBase

from baojing.fastsql import execute_driver_sql

# Stable constraint names, so that Alembic's batch mode on SQLite can find them later.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()

# True while handling a request that may write (POST and friends): its transaction
# starts with BEGIN IMMEDIATE, so that a read-then-write waits for the lock instead of
# failing at once with "database is locked" when it tries to upgrade.
write_intent: ContextVar[bool] = ContextVar("write_intent", default=False)


def no_write_lock(view):
    """Mark a POST view that starts without the write lock.

    For POSTs that only read (search, inline validation) and for those that check a
    password first and take the lock themselves afterwards (begin_write), so that a
    login flood cannot starve other writers. Every other POST begins IMMEDIATE.
    """
    view.no_write_lock = True
    return view


@contextmanager
def writing():
    """Outside a request (commands): transactions begun inside start IMMEDIATE.

    Whatever is still open at the end (say, a read after the commit) is rolled
    back, so the write lock never outlives the command's work.
    """
    token = write_intent.set(True)
    try:
        yield
    finally:
        db.session.rollback()
        write_intent.reset(token)


def read_connection():
    """The connection hot read paths use: plain Core on GET, the ORM's own otherwise.

    A GET request never writes (the session touch has its own connection), so its
    reads skip the ORM Session's bookkeeping. Any other request reads through the
    ORM session's connection, so a read after a write in the same request sees it.
    """
    if write_intent.get() or not has_request_context():
        return db.session.connection()
    conn = g.get("_read_connection")
    if conn is None:
        conn = g._read_connection = db.engine.connect()
    return conn


def begin_write() -> None:
    """End the session's read snapshot and take the write lock (BEGIN IMMEDIATE).

    For requests that do slow work first (a password hash takes ~100 ms) and write
    afterwards: they run without the lock until here. ORM objects are expired and
    reload fresh inside the write transaction.
    """
    # The request's plain read connection goes too: a read snapshot held open across
    # this commit would keep the WAL from being checkpointed back to its start, and
    # under steady writes it would then grow without bound.
    close_read_connection()
    # ... and read_connection() now hands out the locked connection, so a read after
    # this sees the request's own writes and opens no second snapshot.
    write_intent.set(True)
    db.session.rollback()
    db.session.connection(execution_options={"sqlite_immediate": True})


def done_writing() -> None:
    """After the request's write has committed: what is left only reads (commit_or_errors).

    Later statements (re-reading what to show) begin a plain deferred transaction
    instead of taking the write lock again for the rest of the request, so other
    counters are not held up while this page renders. The ContextVar token set at
    the start of the request still resets it at teardown.
    """
    write_intent.set(False)


def close_read_connection(_exc=None) -> None:
    conn = g.pop("_read_connection", None)
    if conn is not None:
        conn.close()


def configure_sqlite(engine, busy_timeout_ms: int) -> None:
    """Set the pragmas on every new connection and take over transaction begin."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        # pysqlite's own implicit BEGIN is turned off so that "begin" below decides.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        # After a checkpoint the WAL file is cut back to this size instead of
        # keeping its high-water mark (a demo load of 20,000 members left 13 MB).
        cur.execute("PRAGMA journal_size_limit=8388608")
        cur.close()

    gate = WriteGate.for_database(engine.url.database, busy_timeout_ms)

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        # An explicit sqlite_immediate (True or False) wins over the request's intent:
        # a side read on its own connection must not take the write lock.
        options = conn.get_execution_options()
        immediate = options.get("sqlite_immediate", write_intent.get())
        if immediate and gate is not None:
            gate.enter(conn.connection.info)
        execute_driver_sql(conn, "BEGIN IMMEDIATE" if immediate else "BEGIN")

    if gate is not None:
        # The holder is marked in the pool record's info, which the checkin and
        # invalidate events see even when the DBAPI connection is already gone.
        @event.listens_for(engine, "checkin")
        def _on_checkin(_dbapi_conn, record):
            gate.leave(record.info)

        @event.listens_for(engine, "invalidate")
        def _on_invalidate(_dbapi_conn, record, _exc):
            gate.leave(record.info)


class WriteGate:
    """An OS file lock that writers queue on before BEGIN IMMEDIATE.

    SQLite's own busy handler makes a waiting writer sleep 1, 2, 5, 10 … ms between
    tries, so under steady contention (two counters redeeming) most of the wait is
    sleep after the lock was already free. Writers first take this lock, polled
    every 0.2 ms, and hold it until their connection goes back to the pool (after
    its COMMIT or ROLLBACK). SQLite's lock still decides: the gate only orders the
    queue. A process that already holds the gate (a second connection in the same
    request, a threaded dev server) goes straight to SQLite, and a writer that
    waits longer than the busy timeout goes on to SQLite too, so the gate can
    never hang a request that SQLite alone would not have.
    """

    POLL_SECONDS = 0.0002

    def __init__(self, path: str, timeout_s: float):
        self.path = path
        self.timeout_s = timeout_s
        self._fd: int | None = None
        self._pid: int | None = None
        self._held = False

    @classmethod
    def for_database(cls, database: str | None, busy_timeout_ms: int) -> "WriteGate | None":
        if not database or database == ":memory:" or database.startswith("file:"):
            return None
        return cls(f"{database}-writegate", busy_timeout_ms / 1000)

    def enter(self, info: dict) -> None:
        if self._pid != os.getpid():
            # A forked worker must not share its parent's open file: flock locks
            # belong to the open file, so parent and child would never exclude
            # each other.
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            self._pid, self._held = os.getpid(), False
        if self._held:
            return
        deadline = time.monotonic() + self.timeout_s
        while True:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if time.monotonic() > deadline:
                    return  # let SQLite's busy timeout have the last word
                time.sleep(self.POLL_SECONDS)
                continue
            self._held = info["write_gate"] = True
            return

    def leave(self, info: dict) -> None:
        if info.pop("write_gate", False) and self._pid == os.getpid():
            self._held = False
            fcntl.flock(self._fd, fcntl.LOCK_UN)
