"""The serving lock: `flask backup restore` never swaps the database under a running server.

Every process that serves requests holds a shared `flock` on a file beside the SQLite
database, `<database>.serving-lock` (instance/baojing.db.serving-lock by default), from
its start until it exits: each gunicorn worker (`post_worker_init` in gunicorn.conf.py)
and `flask run`. A restore takes the same lock exclusively without waiting, so it is
refused while any server runs, and a server that starts during a restore waits for it.

Taken once per process, never per request. Command-line tools and tests build apps
without taking it, so they never block a restore or each other. The kernel lets go of
the lock when the process ends, however it ends: nothing stale is left behind.
"""

from contextlib import contextmanager
from pathlib import Path

import click
from flask import Flask
from flask.cli import run_command

from baojing import db as transactions
from baojing.extensions import db

# This process's lock files, open (and so locked) until the process exits.
_held: list[int] = []


class Serving(Exception):
    """A server holds the lock: the restore must wait until it is stopped."""


def lock_path(app: Flask) -> Path | None:
    """Beside the SQLite file; None for PostgreSQL, which is restored with its own tools."""
    with app.app_context():
        url = db.engine.url
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    database = Path(url.database)
    return database.with_name(database.name + ".serving-lock")


def hold(app: Flask) -> None:
    """Hold the shared lock until this process exits; if a restore runs, wait for it."""
    if "sqlalchemy" not in app.extensions:
        # Not this app: bench/floor_app.py, the bare-Flask floor the benches compare
        # with, runs under the same gunicorn.conf.py and has no database to guard.
        return
    path = lock_path(app)
    if path is None:
        return
    fd, waited = transactions.share_file_lock(path)
    if waited:
        app.logger.warning("a restore ran on this database: this worker waited for it to end")
    _held.append(fd)


def hold_when_serving(app: Flask) -> None:
    """`flask run` builds the app inside its own command: that process serves, so it holds."""
    ctx = click.get_current_context(silent=True)
    if ctx is not None and ctx.command is run_command:
        hold(app)


def release() -> None:
    """Let go of this process's locks (tests; a server holds its lock until it exits)."""
    while _held:
        transactions.let_go(_held.pop())


@contextmanager
def exclusive(app: Flask):
    """No server on this database while the block runs; Serving if one holds the lock now."""
    path = lock_path(app)
    if path is None:
        yield
        return
    fd = transactions.take_file_lock(path)
    if fd is None:
        raise Serving(str(path))
    try:
        yield
    finally:
        transactions.let_go(fd)
