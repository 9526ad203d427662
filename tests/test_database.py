"""SQLite set-up, append-only audit log, migrations, demo data, backup and restore."""

import sqlite3
import threading
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import event, func, select, text
from sqlalchemy.exc import IntegrityError

from baojing import audit
from baojing.cli.backup import copy_database
from baojing.extensions import db
from baojing.models import AuditEntry, Member, User
from tests.conftest import empty_database, make_app, sqlite_only


@sqlite_only
def test_every_connection_gets_the_pragmas(app):
    # Open several pooled connections, not just the first one.
    conns = [db.engine.connect() for _ in range(3)]
    try:
        for conn in conns:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 5000
    finally:
        for conn in conns:
            conn.close()


def test_audit_log_refuses_update_and_delete(app):
    audit.record("test.write", entity_type="x", entity_id=1, username="t")
    db.session.commit()
    for sql in ("UPDATE audit_log SET action = 'forged'", "DELETE FROM audit_log"):
        with pytest.raises(IntegrityError, match="append-only"):
            db.session.execute(text(sql))
        db.session.rollback()
    assert db.session.scalar(select(AuditEntry.action)) == "test.write"


def test_migrations_match_the_models(app):
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), db.metadata)
    assert diff == []


@sqlite_only
def test_post_requests_begin_immediate(server, client, org):
    statements = []

    def spy(conn, cursor, statement, *args):
        statements.append(statement)

    with server.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", spy)
    try:
        client.get("/login")
        reads = list(statements)
        client.login("secretary")
    finally:
        event.remove(engine, "before_cursor_execute", spy)
    assert "BEGIN IMMEDIATE" not in reads
    assert "BEGIN IMMEDIATE" in statements[len(reads) :]


@sqlite_only
def test_write_waits_for_the_lock_instead_of_failing(app, org, db_path):
    """A second writer blocks (busy_timeout), then succeeds, rather than 'database is locked'."""
    holder = sqlite3.connect(db_path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("UPDATE members SET dest_city = 'held' WHERE id = ?", (org.members["tati"].id,))
    release = threading.Timer(0.3, lambda: holder.execute("COMMIT"))
    release.start()
    try:
        with db.engine.connect() as conn:
            conn = conn.execution_options(sqlite_immediate=True)
            with conn.begin():
                conn.execute(
                    text("UPDATE members SET dest_city = 'second' WHERE id = :i"),
                    {"i": org.members["angdong"].id},
                )
    finally:
        release.join()
        holder.close()
    db.session.rollback()  # end the read snapshot taken when the ids were loaded
    assert db.session.get(Member, org.members["angdong"].id).dest_city == "second"


def test_demo_load_is_deterministic_and_marks_the_instance(tmp_path, migrated_db):
    digests = []
    for n in range(2):
        path = tmp_path / f"demo{n}.db"
        app = make_app(path)
        with app.app_context():
            result = app.test_cli_runner().invoke(args=["demo", "load", "--members", "120"])
            assert result.exit_code == 0, result.output
            rows = db.session.execute(
                select(Member.name, Member.id_number, Member.phone, Member.village_id).order_by(
                    Member.id
                )
            ).all()
            digests.append(rows)
            assert (
                db.session.scalar(select(func.count()).select_from(User).where(User.is_demo)) == 8
            )
            # The load checkpoints and truncates the WAL (SECURITY.md item 27).
            assert Path(f"{path}-wal").stat().st_size < 1024 * 1024
            db.session.remove()
            db.engine.dispose()
    assert digests[0] == digests[1]
    assert len(digests[0]) == 120


def test_demo_load_fills_an_empty_database_on_either_engine(tmp_path):
    """What the benches do first on both engines: an empty database, then `flask demo load`;
    a second load starts the demo over."""
    for database in empty_database(tmp_path):
        app = make_app(database)
        with app.app_context():
            for members in (30, 20):
                result = app.test_cli_runner().invoke(
                    args=["demo", "load", "--members", str(members)]
                )
                assert result.exit_code == 0, result.output
                assert db.session.scalar(select(func.count()).select_from(Member)) == members
            # The planner has the data's statistics (db.refresh_statistics).
            stats = {
                "sqlite": "SELECT count(*) FROM sqlite_stat1 WHERE tbl = 'members'",
                "postgresql": "SELECT count(*) FROM pg_stats WHERE tablename = 'members'",
            }[db.engine.dialect.name]
            assert db.session.execute(text(stats)).scalar() > 0
            db.session.remove()
            db.engine.dispose()


def test_demo_load_refuses_real_data(app, org):
    result = app.test_cli_runner().invoke(args=["demo", "load", "--members", "10"])
    assert result.exit_code != 0
    assert "拒绝" in result.output
    assert db.session.scalar(select(func.count()).select_from(Member)) == 3


def test_demo_instance_shows_a_banner(tmp_path):
    app = make_app(tmp_path / "demo.db")
    with app.app_context():
        assert app.test_cli_runner().invoke(args=["demo", "load", "--members", "20"]).exit_code == 0
        page = app.test_client().get("/login").get_data(as_text=True)
        db.session.remove()
        db.engine.dispose()
    assert "演示系统" in page


@sqlite_only
def test_backup_restore_drill(app, org, db_path, tmp_path):
    """Write a row, back up, restore elsewhere: the row is there and the app starts on it."""
    runner = app.test_cli_runner()
    m = db.session.get(Member, org.members["tati"].id)
    m.dest_city = "余姚市"
    audit.record("member.update", m, after={"dest_city": "余姚市"}, username="t")
    db.session.commit()
    backup = tmp_path / "backups" / "b1.db"
    result = runner.invoke(args=["backup", "create", str(backup)])
    assert result.exit_code == 0, result.output
    assert "integrity_check ok" in result.output

    restored_path = tmp_path / "restored.db"
    restored = make_app(restored_path)
    with restored.app_context():
        result = restored.test_cli_runner().invoke(args=["backup", "restore", str(backup), "--yes"])
        assert result.exit_code == 0, result.output
        assert db.session.get(Member, m.id).dest_city == "余姚市"
        client = restored.test_client()
        assert client.get("/healthz").get_json() == {"status": "ok"}
        # Invariants hold on the copy: the audit log is still append-only.
        with pytest.raises(IntegrityError):
            db.session.execute(text("DELETE FROM audit_log"))
        db.session.rollback()
        db.session.remove()
        db.engine.dispose()


@sqlite_only
def test_restore_refuses_a_corrupt_backup(app, org, tmp_path):
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"SQLite format 3\x00" + b"\x00" * 100 + b"garbage" * 200)
    result = app.test_cli_runner().invoke(args=["backup", "restore", str(bad), "--yes"])
    assert result.exit_code != 0
    assert db.session.scalar(select(func.count()).select_from(Member)) == 3


@sqlite_only
def test_online_backup_copies_a_consistent_snapshot(app, org, db_path, tmp_path):
    target = tmp_path / "copy.db"
    copy_database(db_path, target)
    conn = sqlite3.connect(target)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("SELECT count(*) FROM members").fetchone()[0] == 3
    finally:
        conn.close()


def test_demo_reload_refuses_once_real_accounts_exist(tmp_path):
    app = make_app(tmp_path / "demo.db")
    with app.app_context():
        runner = app.test_cli_runner()
        assert runner.invoke(args=["demo", "load", "--members", "10"]).exit_code == 0
        created = runner.invoke(
            args=[
                "users",
                "create",
                "--username",
                "real",
                "--role",
                "clerk",
                "--password",
                "the river runs past our village",
            ]
        )
        assert created.exit_code == 0, created.output
        result = runner.invoke(args=["demo", "load", "--members", "10"])
        assert result.exit_code != 0 and "拒绝" in result.output
        assert db.session.scalar(select(User.id).where(User.username == "real"))
        db.session.remove()
        db.engine.dispose()


def test_audit_purge_keeps_six_months_and_the_database_insists(app, org):
    from datetime import UTC, datetime, timedelta

    old = datetime.now(UTC) - timedelta(days=200)
    recent = datetime.now(UTC) - timedelta(days=100)
    for at, action in ((old, "test.old"), (recent, "test.recent")):
        db.session.add(AuditEntry(at=at, action=action, username="t"))
    db.session.commit()
    runner = app.test_cli_runner()
    refused = runner.invoke(args=["audit", "purge", "--days", "30", "--yes"])
    assert refused.exit_code != 0 and "183" in refused.output
    result = runner.invoke(args=["audit", "purge", "--yes"])
    assert result.exit_code == 0, result.output
    actions = db.session.scalars(select(AuditEntry.action)).all()
    assert "test.old" not in actions and "test.recent" in actions and "audit.purge" in actions
    # Whatever the command says, the database itself refuses rows younger than 183 days.
    with pytest.raises(IntegrityError, match="append-only"):
        db.session.execute(text("DELETE FROM audit_log WHERE action = 'test.recent'"))
    db.session.rollback()


def test_the_transaction_policy_names_real_endpoints(app):
    from baojing import db as transactions

    endpoints = set(app.view_functions)
    assert transactions.READ_ONLY_POSTS <= endpoints
    assert transactions.LATE_WRITE_POSTS <= endpoints


@sqlite_only
def test_search_by_post_takes_no_write_lock(server, login, org):
    c = login("secretary")
    c.csrf()
    statements = []
    with server.app_context():
        engine = db.engine
    spy = lambda conn, cursor, statement, *a: statements.append(statement)  # noqa: E731
    event.listen(engine, "before_cursor_execute", spy)
    try:
        assert c.post("/members/", {"q": "光明"}, headers={"HX-Request": "true"}).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", spy)
    assert "BEGIN IMMEDIATE" not in statements
