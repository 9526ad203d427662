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
