"""The one place for transaction policy: engine set-up, read versus write, engine quirks.

SQLite (one server): every connection gets WAL, synchronous=FULL, foreign keys and a
busy timeout. pysqlite's own implicit BEGIN is turned off so that this module decides:
a transaction that will write starts with BEGIN IMMEDIATE, so that a read-then-write
waits for the write lock instead of failing with "database is locked" when it tries to
upgrade (SECURITY.md item 24). This is the recipe of SQLAlchemy's pysqlite docs.

PostgreSQL (several servers): transactions start as the driver starts them (READ
COMMITTED); what must not race takes a row lock or is a conditional UPDATE (stock,
places, balances), and the services' own statements say so.

Which transactions write is decided here, never in a view: in a request, by its method
and, for the few POSTs that only read or write late, by its endpoint (below); outside a
request, by writing().
"""

import errno
import fcntl
import os
import sqlite3
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

from flask import Flask, g, has_request_context, request
from sqlalchemy import Integer, String, event, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.functions import FunctionElement

from baojing.extensions import db

# True while the work may write: its SQLite transaction begins IMMEDIATE.
write_intent: ContextVar[bool] = ContextVar("write_intent", default=False)

# POSTs that only read: searches sent by POST so that a name never lands in a URL, and
# inline checks of one field. A plain BEGIN: they never wait for the write lock.
READ_ONLY_POSTS = frozenset({
    "members.index", "members.validate_field", "members.export", "store.lookup",
    "mentors.honour_pick", "mentors.enterprise_members", "branches.participants",
})  # fmt: skip
# POSTs that do slow work before they write (a password hash, photos, a PDF, a roster
# file): they start without the lock, and take it when they write (write_now), so that
# a login flood or a large upload never holds up a counter.
LATE_WRITE_POSTS = frozenset({
    "auth.login", "auth.reauth", "store.redeem", "certificates.new", "care.visit",
    "roster.upload", "roster.remap", "thoughts.add_photos", "tasks.complete",
    "hub.new_announcement",
})  # fmt: skip


def init_app(app: Flask) -> None:
    engine = db.engine
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine, app.config["SQLITE_BUSY_TIMEOUT_MS"])

    @app.before_request
    def _mark_write_intent():
        writes = request.method not in ("GET", "HEAD", "OPTIONS")
        deferred = request.endpoint in READ_ONLY_POSTS or request.endpoint in LATE_WRITE_POSTS
        g.write_intent_token = write_intent.set(writes and not deferred)

    @app.teardown_request
    def _clear_write_intent(_exc):
        token = g.pop("write_intent_token", None)
        if token is not None:
            write_intent.reset(token)


def _configure_sqlite(engine, busy_timeout_ms: int) -> None:
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

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        # An explicit sqlite_immediate (True or False) wins over the work's intent:
        # a side read on its own connection must not take the write lock.
        immediate = conn.get_execution_options().get("sqlite_immediate", write_intent.get())
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


@contextmanager
def writing():
    """Outside a request (commands, background jobs): transactions begun inside write.

    Whatever is still open at the end (say, a read after the commit) is rolled back,
    so the write lock never outlives the work.
    """
    token = write_intent.set(True)
    try:
        yield
    finally:
        db.session.rollback()
        write_intent.reset(token)


def write_now() -> None:
    """From here on this request writes: end its read snapshot and take the write lock.

    For the LATE_WRITE_POSTS (and a GET that records what it showed): they read and do
    their slow work first. Objects loaded before are expired and reload inside the
    write transaction. Outside a request, or once writing, it does nothing.
    """
    if not has_request_context() or write_intent.get():
        return
    write_intent.set(True)
    db.session.rollback()
    db.session.connection(execution_options={"sqlite_immediate": True})


@contextmanager
def write_apart():
    """A short write transaction on a connection of its own, beside the request's.

    For an audit row that must not share the request's fate or cost: a refusal's (the
    request's transaction was rolled back, and the row must survive that), a read's (a
    page that only reads keeps its snapshot and never holds the lock while it renders).
    Commits on leaving. Not while the request itself holds SQLite's write lock (it would
    wait for it): a request that writes (writing_now) adds its rows to its own transaction.
    """
    with db.engine.connect() as conn:
        with conn.execution_options(sqlite_immediate=True).begin():
            yield conn


def writing_now() -> bool:
    """Whether the current work writes: its transaction holds, or will take, the write lock."""
    return write_intent.get()


def retry_after_conflict() -> bool:
    """Whether a write that hit a unique index is worth running again.

    On SQLite a write transaction holds the lock from its start, so the check that
    came before it (an idempotency key, a name) already saw every other write: a
    unique violation is a real one. On PostgreSQL two transactions check side by side,
    and the second to insert finds the first only when it runs again.
    """
    return db.session.get_bind().dialect.name == "postgresql"


def done_writing() -> None:
    """The request's write has committed: what is left only reads (a page to render),
    so a later statement begins a plain transaction instead of taking the lock again."""
    write_intent.set(False)


def refresh_statistics() -> None:
    """Tell the query planner the shape of the data, after a bulk change (a demo load, a
    roster import); the caller commits.

    Without statistics SQLite guesses that an equality on an indexed column finds about
    ten rows, so a village of 3,400 members looks like ten, and a search by ID tail walks
    the village on the list's (village, status, name) index for its ORDER BY, reading
    every row (23 ms at 200,000 members), instead of looking up the one member its own
    index finds (0.2 ms). analysis_limit samples each index (70 ms at 200,000 members);
    the proportions it records hold as a registry grows. PostgreSQL's autovacuum
    analyses on its own, but only some time after the change.
    """
    conn = db.session.connection()
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("PRAGMA analysis_limit=1000")
    conn.exec_driver_sql("ANALYZE")


# --- out of space: a write refused for want of room, and what it leaves behind -------------

# A file write's: the disk is full, the user's quota is spent, the file is over its size limit.
_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})
# PostgreSQL's SQLSTATE disk_full (class 53, insufficient resources).
_PG_DISK_FULL = "53100"
# Files kept for the transaction in progress (session.info key).
_WRITTEN = "baojing_files_written"


def out_of_space(exc: BaseException) -> bool:
    """Whether exc is a write refused for want of space: SQLite's SQLITE_FULL ("database
    or disk is full"), PostgreSQL's disk_full, or a file write's ENOSPC, EDQUOT or EFBIG."""
    while exc is not None:
        if isinstance(exc, DBAPIError):
            orig = exc.orig
            if getattr(orig, "sqlstate", None) == _PG_DISK_FULL:
                return True
            if isinstance(orig, sqlite3.Error) and (
                getattr(orig, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL
                or "database or disk is full" in str(orig)
            ):
                return True
        elif isinstance(exc, OSError) and exc.errno in _FULL_ERRNOS:
            return True
        exc = exc.__cause__
    return False


def kept_if_committed(path: Path) -> None:
    """A file just written for the transaction in progress (an issued paper, a photo): it
    stays if the transaction commits, and is removed if it rolls back or is abandoned, so
    that no kept file claims an issue that the database never recorded (a full disk at
    the commit, a refusal after the file was written).

    Call it once the work writes (after write_now): that call ends the read transaction.
    """
    db.session.info.setdefault(_WRITTEN, []).append(Path(path))


@event.listens_for(Session, "after_commit")
def _files_committed(session) -> None:
    session.info.pop(_WRITTEN, None)


@event.listens_for(Session, "after_transaction_end")
def _files_abandoned(session, transaction) -> None:
    # After a commit the list is gone (after_commit runs first); what is left here was
    # written for a transaction that rolled back or was closed without committing.
    if transaction.parent is None and not transaction.nested:
        for path in session.info.pop(_WRITTEN, ()):
            path.unlink(missing_ok=True)


# --- engine quirks: the few SQL spellings the two engines do not share ---------------------

_INSERTS = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}


def upsert_insert(table):
    """The engine's own INSERT, which has ON CONFLICT DO NOTHING / DO UPDATE."""
    return _INSERTS[db.session.get_bind().dialect.name](table)


def ids_given(table) -> None:
    """After rows were inserted with ids of their own (demo data): PostgreSQL's sequence
    moves past them, so the next row the app inserts gets a free id. SQLite needs nothing."""
    conn = db.session.connection()
    if conn.dialect.name == "postgresql":
        following = select(func.coalesce(func.max(table.c.id), 0) + 1).scalar_subquery()
        sequence = func.pg_get_serial_sequence(table.name, "id")
        conn.execute(select(func.setval(sequence, following, False)))


class year_month(FunctionElement):  # noqa: N801 - used like a SQL function
    """'2026-12' of a date column."""

    type = String()
    inherit_cache = True


@compiles(year_month, "sqlite")
def _year_month_sqlite(element, compiler, **kw):
    return f"strftime('%Y-%m', {compiler.process(element.clauses, **kw)})"


@compiles(year_month, "postgresql")
def _year_month_postgresql(element, compiler, **kw):
    return f"to_char({compiler.process(element.clauses, **kw)}, 'YYYY-MM')"


class days_between(FunctionElement):  # noqa: N801 - used like a SQL function
    """Whole days from the second date to the first, never below zero."""

    type = Integer()
    inherit_cache = True


@compiles(days_between, "sqlite")
def _days_between_sqlite(element, compiler, **kw):
    later, earlier = (compiler.process(c, **kw) for c in element.clauses)
    return f"max(0, CAST(julianday({later}) - julianday({earlier}) AS INTEGER))"


@compiles(days_between, "postgresql")
def _days_between_postgresql(element, compiler, **kw):
    later, earlier = (compiler.process(c, **kw) for c in element.clauses)
    return f"greatest(0, {later} - {earlier})"


# --- the serving lock's file (baojing/serving.py) -----------------------------------------
# Not a lock in front of the database's own: it tells `flask backup restore` whether a
# server has this database open. Every serving process shares it; a restore takes it
# alone. Kept here, beside the rest of the locking policy.


def share_file_lock(path: Path) -> tuple[int, bool]:
    """A shared flock on path, held until the descriptor is closed: (fd, whether it had
    to wait for an exclusive holder first)."""
    fd = _lock_file(path)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        return fd, False
    except BlockingIOError:
        fcntl.flock(fd, fcntl.LOCK_SH)
        return fd, True


def take_file_lock(path: Path) -> int | None:
    """The flock on path alone, without waiting; None while anyone shares it."""
    fd = _lock_file(path)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def let_go(fd: int) -> None:
    os.close(fd)  # the kernel drops the flock with the last descriptor


def _lock_file(path: Path) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    return os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
