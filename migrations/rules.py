"""Rules the database itself keeps, written once for SQLite and PostgreSQL.

A record that must not lie (the audit log, the points ledger, issued certificates) is
guarded by a trigger that refuses the change. SQLite says so with RAISE(ABORT); on
PostgreSQL every such trigger calls one function, baojing_refuse(message), which raises
an integrity-constraint error, so that both engines reach the app as IntegrityError.
"""

from alembic import op


def _dialect() -> str:
    return op.get_bind().dialect.name


def create_refuse_function() -> None:
    """PostgreSQL only: the function every refusing trigger calls (first migration)."""
    if _dialect() != "postgresql":
        return
    op.execute(
        "CREATE OR REPLACE FUNCTION baojing_refuse() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN RAISE EXCEPTION USING ERRCODE = 'integrity_constraint_violation', "
        "MESSAGE = TG_ARGV[0]; END $$"
    )


def refuse(
    table: str, verb: str, message: str, *, name: str | None = None, of: str = "",
    when_sqlite: str = "", when_postgresql: str = "",
) -> None:  # fmt: skip
    """BEFORE <verb> [OF columns] ON table [WHEN …]: refuse with message."""
    name = name or f"{table}_no_{verb.lower()}"
    event = f"{verb} OF {of}" if of else verb
    if _dialect() == "postgresql":
        when = f"WHEN ({when_postgresql}) " if when_postgresql else ""
        op.execute(
            f"CREATE TRIGGER {name} BEFORE {event} ON {table} FOR EACH ROW {when}"
            f"EXECUTE FUNCTION baojing_refuse('{message}')"
        )
    else:
        when = f"WHEN {when_sqlite} " if when_sqlite else ""
        op.execute(
            f"CREATE TRIGGER {name} BEFORE {event} ON {table} {when}"
            f"BEGIN SELECT RAISE(ABORT, '{message}'); END"
        )


def drop(name: str, table: str) -> None:
    if _dialect() == "postgresql":
        op.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
    else:
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
