"""fastsql.Prepared gives exactly what conn.execute gives, inside the same transaction."""

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import bindparam, event, func, literal, select

from baojing.extensions import db
from baojing.fastsql import Prepared
from baojing.models import Member
from baojing.models.users import User, UserSession
from baojing.security import start_session


@pytest.fixture
def conn(app, org):
    with db.engine.connect() as c:
        yield c


def test_rows_match_core_execution_with_every_type(conn, org):
    stmt = (
        select(
            Member.id,
            Member.name,
            Member.birth_date,  # Date: converted from SQLite's text
            Member.has_certificate,  # Boolean: from 0/1
            Member.liaison_id,  # NULL stays None
            (Member.name + literal("·") + Member.dest_province).label("label"),
            func.count().over().label("total"),
        )
        .where(Member.id > bindparam("after"), Member.birth_date < bindparam("born"))
        .order_by(Member.id)
    )
    params = {"after": 0, "born": date(2030, 1, 1)}
    expected = conn.execute(stmt, params).all()
    got = Prepared(stmt).all(conn, params)
    assert len(expected) == 3 and [tuple(r) for r in got] == [tuple(r) for r in expected]
    assert {r.liaison_id is None for r in got} == {True, False}
    first = got[0]
    assert isinstance(first.birth_date, date) and isinstance(first.has_certificate, bool)
    assert first.label.startswith(f"{first.name}·")
    assert first.total == 3


def test_aware_datetimes_and_duplicate_column_names(app, org, conn):
    with app.test_request_context():
        user = db.session.get(User, org.users["secretary"].id)
        start_session(user)
        db.session.commit()
    stmt = select(UserSession.id, UserSession.created_at, User.id).join(
        User, User.id == UserSession.user_id
    )
    row = Prepared(stmt).first(conn)
    assert row == tuple(conn.execute(stmt).first())
    assert row.created_at.tzinfo is UTC and row.created_at <= datetime.now(UTC)


def test_runs_in_a_transaction_and_listeners_see_it(conn, org):
    tati_id, tati_name = org.members["tati"].id, org.members["tati"].name
    seen = []
    listener = lambda c, cursor, sql, params, *a: seen.append((sql, params))  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        stmt = Prepared(select(Member.name).where(Member.id == bindparam("id")))
        assert stmt.scalar(conn, {"id": tati_id}) == tati_name
        assert stmt.first(conn, {"id": -1}) is None
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    assert conn.in_transaction()
    assert seen[0] == ("BEGIN", ())
    assert seen[1][0].startswith("SELECT members.name") and seen[1][1] == [tati_id]


def test_a_missing_parameter_or_an_in_list_is_refused(conn):
    with pytest.raises(KeyError):
        Prepared(select(Member.id).where(Member.id == bindparam("id"))).all(conn, {})
    with pytest.raises(ValueError, match="expanding"):
        Prepared(select(Member.id).where(Member.id.in_(bindparam("ids", expanding=True)))).all(
            conn, {"ids": [1]}
        )


def test_a_locked_database_raises_sqlalchemys_error(app, db_path):
    """Callers' best-effort handlers (the session touch) catch SQLAlchemy's exceptions."""
    import sqlite3

    from sqlalchemy.exc import OperationalError

    from baojing.fastsql import execute_driver_sql

    holder = sqlite3.connect(db_path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with db.engine.connect() as c:
            c.exec_driver_sql("PRAGMA busy_timeout=50")
            c.rollback()
            with pytest.raises(OperationalError, match="locked"):
                execute_driver_sql(c, "BEGIN IMMEDIATE")
    finally:
        holder.rollback()
        holder.close()


def test_insert_and_update_write_what_core_would(conn, org):
    """The counter's writes: an INSERT naming its columns, an UPDATE … RETURNING, rowcount."""
    from baojing.models.audit import AuditEntry

    at = datetime(2026, 11, 29, 8, 30, tzinfo=UTC)
    insert = Prepared(
        AuditEntry.__table__.insert().returning(AuditEntry.__table__.c.id),
        columns=("at", "user_id", "username", "role", "ip", "action", "entity_type",
                 "entity_id", "outcome", "before", "after"),
    )  # fmt: skip
    values = {
        "at": at, "user_id": None, "username": "fast", "role": "", "ip": "cli",
        "action": "test.fast", "entity_type": "members", "entity_id": 7, "outcome": "ok",
        "before": None, "after": '{"x": 1}',
    }  # fmt: skip
    new_id = insert.first(conn, values).id
    stored = conn.execute(select(AuditEntry).where(AuditEntry.id == new_id)).one()
    assert stored.at == at and stored.username == "fast" and stored.after == '{"x": 1}'
    tati = org.members["tati"]
    rename = Prepared(
        Member.__table__.update()
        .where(Member.id == bindparam("b_id"), Member.version == bindparam("b_version"))
        .values(name=bindparam("new_name"), updated_at=bindparam("now"))  # onupdate: given
    )
    params = {"b_id": tati.id, "b_version": -1, "new_name": "甲", "now": at}
    assert rename.rowcount(conn, params) == 0
    params |= {"b_version": tati.version, "new_name": "改名"}
    assert rename.rowcount(conn, params) == 1
    assert conn.execute(select(Member.name).where(Member.id == tati.id)).scalar() == "改名"


def test_a_write_that_would_need_a_python_default_is_refused(conn):
    from baojing.models.audit import AuditEntry

    # "at" has default=utcnow: SQLAlchemy would fill it in, this path cannot.
    columns = ("at", "username", "role", "ip", "action", "entity_type", "outcome")
    lazy = Prepared(AuditEntry.__table__.insert(), columns=columns[1:])
    with pytest.raises(ValueError, match=r"\['at'\]"):
        lazy.rowcount(conn, dict.fromkeys(columns[1:], ""))
    named = Prepared(AuditEntry.__table__.insert(), columns=columns)
    with pytest.raises(KeyError):  # a named column must be given
        named.rowcount(conn, dict.fromkeys(columns[1:], ""))
    # Member.updated_at has onupdate=utcnow: an UPDATE that does not set it is refused.
    with pytest.raises(ValueError, match="updated_at"):
        Prepared(Member.__table__.update().values(name=bindparam("n"))).rowcount(conn, {"n": ""})


def test_rowcount_is_not_for_a_statement_that_returns_rows(conn):
    from baojing.models.audit import AuditEntry

    insert = Prepared(
        AuditEntry.__table__.insert().returning(AuditEntry.__table__.c.id),
        columns=("at", "username", "role", "ip", "action", "entity_type", "outcome"),
    )
    with pytest.raises(ValueError, match="RETURNING"):
        insert.rowcount(conn, {})


def test_the_audit_fast_path_writes_every_column_record_would():
    from baojing import audit

    keys = audit._entry_values(
        "x", entity_type="", entity_id=None, before=None, after=None, outcome="ok",
        actor=None, username="",
    ).keys()  # fmt: skip
    assert set(audit._INSERT.columns) == {"at", *keys}
