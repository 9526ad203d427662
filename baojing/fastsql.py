"""Prebuilt Core selects run straight on the DBAPI cursor, for the hottest read paths.

SQLAlchemy's execution layer (execution context, result metadata, Row objects) costs
about 25 µs per statement here, against 5 µs for SQLite to answer an indexed query:
on a page of three statements that is a tenth of the request. A Prepared statement
is still built with Core; it is compiled once per process, and each run binds the
parameters through the column types' own bind processors, executes the compiled SQL
on the connection's DBAPI cursor and converts the results through the types' result
processors, so values come back exactly as `conn.execute` would give them.

It runs inside the connection's transaction (beginning one, through the engine's
"begin" event, if none is open), and tells `before_cursor_execute` listeners, so
query-counting tests see these statements like any other.

SQLite only (pysqlite's Connection.execute, qmark parameters): anything else is
refused when compiled. Of the engine's events only before_cursor_execute is told
(without a cursor or context, and its return value is not used); echo logging,
after_cursor_execute and disconnect handling are skipped.

INSERT and UPDATE work too (the counter's redemption runs under the write lock,
where each statement's overhead is time no other counter gets), on one condition:
every column they write is named, either in `.values(...)` or, for a plain
`table.insert()`, in `columns=` (the parameters then carry the column names).
SQLAlchemy fills Python-side column defaults in at execution time, which this
path does not do, so a statement that would need one is refused when compiled.
"""

from collections import namedtuple
from typing import Any

from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import Insert, Select, Update


def execute_driver_sql(conn: Connection, sql: str) -> None:
    """Run a parameterless statement (BEGIN) on the DBAPI connection, listeners told.

    For the engine's "begin" event, which runs on every request: conn.exec_driver_sql
    cost 15 µs of which SQLite needs 1.
    """
    _driver_execute(conn, sql, ())


def _driver_execute(conn: Connection, sql: str, args):
    """The one place statements reach the DBAPI cursor: listeners told, errors wrapped.

    A DBAPI error comes out as SQLAlchemy's (OperationalError for "database is
    locked"), which is what the callers' best-effort handlers catch.
    """
    for listener in conn.dispatch.before_cursor_execute:
        listener(conn, None, sql, args, None, False)
    dbapi = conn.dialect.loaded_dbapi
    try:
        return conn.connection.driver_connection.execute(sql, args)
    except dbapi.Error as exc:
        raise DBAPIError.instance(sql, args, exc, dbapi.Error, dialect=conn.dialect) from exc


class _Compiled:
    """One statement compiled for one dialect: SQL text, argument order, converters."""

    def __init__(self, stmt: Select | Insert | Update, dialect, columns: tuple[str, ...]):
        if dialect.name != "sqlite":
            raise ValueError(f"Prepared runs on SQLite only, not {dialect.name}")
        compiled = stmt.compile(dialect=dialect, column_keys=list(columns) or None)
        self.is_dml = isinstance(stmt, Insert | Update)
        if self.is_dml and (compiled.insert_prefetch or compiled.update_prefetch):
            defaults = [c.name for c in (*compiled.insert_prefetch, *compiled.update_prefetch)]
            raise ValueError(f"Prepared cannot fill in column defaults; give values for {defaults}")
        self.sql = str(compiled)
        binds = compiled.binds
        # Named binds come from the caller; anonymous ones (literals such as "****")
        # carry their own value.
        self.args = []
        for name in compiled.positiontup:
            bind = binds[name]
            if bind.expanding or bind.callable is not None:
                raise ValueError(f"Prepared cannot run expanding or callable parameters: {name}")
            convert = bind.type.dialect_impl(dialect).bind_processor(dialect)
            self.args.append((name, bind.value, bind.required, convert))
        # A select's columns, or what an INSERT / UPDATE returns (RETURNING; maybe none).
        columns = stmt.exported_columns
        self.row = namedtuple("Row", list(columns.keys()), rename=True)
        self.converters = [
            (i, conv)
            for i, col in enumerate(columns)
            if (conv := col.type.dialect_impl(dialect).result_processor(dialect, None))
        ]

    def convert(self, raw: tuple):
        if not self.converters:
            return self.row._make(raw)
        values = list(raw)
        for i, convert in self.converters:
            values[i] = convert(values[i])
        return self.row._make(values)

    def bind(self, params: dict) -> list:
        out = []
        for name, value, required, convert in self.args:
            if required or name in params:
                value = params[name]
            out.append(convert(value) if convert is not None else value)  # None too (JSON null)
        return out


class Prepared:
    """A Core statement to run many times with different parameters (see module doc)."""

    def __init__(self, stmt: Select | Insert | Update, *, columns: tuple[str, ...] = ()):
        self.stmt = stmt
        self.columns = columns  # an INSERT's columns, when it has no .values()
        self._compiled: dict[str, _Compiled] = {}

    def _for(self, dialect) -> _Compiled:
        compiled = self._compiled.get(dialect.name)
        if compiled is None:
            compiled = _Compiled(self.stmt, dialect, self.columns)
            self._compiled[dialect.name] = compiled
        return compiled

    def _cursor(self, conn: Connection, params: dict):
        c = self._for(conn.dialect)
        args = c.bind(params)
        if not conn.in_transaction():
            conn.begin()  # the engine's "begin" listener issues BEGIN (extensions.py)
        return c, _driver_execute(conn, c.sql, args)

    def all(self, conn: Connection, params: dict | None = None) -> list[Any]:
        c, cursor = self._cursor(conn, params or {})
        return [c.convert(r) for r in cursor.fetchall()]

    def first(self, conn: Connection, params: dict | None = None) -> Any | None:
        c, cursor = self._cursor(conn, params or {})
        # An INSERT / UPDATE … RETURNING is read to its end, so that the statement
        # has finished (and written everything) before the caller goes on.
        r = next(iter(cursor.fetchall()), None) if c.is_dml else cursor.fetchone()
        return None if r is None else c.convert(r)

    def rowcount(self, conn: Connection, params: dict | None = None) -> int:
        """Run an INSERT / UPDATE without RETURNING: how many rows it wrote."""
        if self._for(conn.dialect).row._fields:
            raise ValueError("a statement with RETURNING is read with first() or all()")
        return self._cursor(conn, params or {})[1].rowcount

    def scalar(self, conn: Connection, params: dict | None = None) -> Any:
        row = self.first(conn, params)
        return None if row is None else row[0]
