"""Statements compiled once by SQLAlchemy and run straight on the database driver.

For the upload path only: there SQLAlchemy's work per execution (cache key, execution context,
parameter and result processing objects) cost more than the statements themselves. SQLAlchemy
still writes the SQL for each dialect, orders the parameters and supplies the type conversions
(its own bind and result processors); the statement runs on the driver connection of the
caller's SQLAlchemy connection, inside the caller's transaction.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError

Processor = Callable[[Any], Any] | None


@dataclass(frozen=True)
class _Prepared:
    sql: str
    positional: bool
    pick: Callable[[Mapping[str, Any]], Sequence[Any]]  # the values in the driver's order
    converting: list[tuple[int, Callable[[Any], Any]]]  # slots whose type converts values
    names: list[str]  # what the SQL calls each slot (named drivers)
    fixed: dict[str, Any]  # values the statement holds itself (literals compiled as binds)
    results: list[Processor]

    def args(self, params: Mapping[str, Any]) -> Any:
        """The driver's parameters: each value by its key (or the statement's own), converted
        by its type's bind processor, as SQLAlchemy's execution would pass them. Only the
        slots whose type converts are visited: a warehouse batch runs this for every row."""
        if self.fixed:
            params = {**self.fixed, **params}
        try:
            values = list(self.pick(params))
        except KeyError as missing:
            raise ValueError(f"a value is needed for bind parameter {missing}") from None
        for i, process in self.converting:
            if values[i] is not None:
                values[i] = process(values[i])
        if self.positional:
            return values
        return dict(zip(self.names, values, strict=True))


class DriverStatement:
    """``statement`` (a Select, or an Insert with RETURNING) ready to run on the driver.

    An INSERT names its columns in ``column_keys`` and must be given a value for each of them:
    Python-side column defaults are applied by SQLAlchemy's execution, which this skips, so a
    statement that would need one is refused when it is prepared.
    """

    def __init__(self, statement: Any, column_keys: Sequence[str] | None = None) -> None:
        self.statement = statement
        self.column_keys = list(column_keys) if column_keys is not None else None
        self._prepared: dict[str, _Prepared] = {}

    def rows(self, conn: Connection, params: dict[str, Any]) -> list[tuple[Any, ...]]:
        prepared = self._prepared.get(conn.dialect.name) or self._prepare(conn.dialect)
        args = prepared.args(params)
        dbapi = conn.dialect.loaded_dbapi
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.execute(prepared.sql, args)
            # The statement's own columns say whether it returns rows: the driver's
            # ``description`` builds a column object per column on every call.
            fetched = cursor.fetchall() if prepared.results else []
        except dbapi.Error as exc:
            raise _as_sqlalchemy_error(conn, exc, cursor, prepared.sql, args) from exc
        finally:
            cursor.close()
        return [tuple(value if process is None else process(value)
                      for value, process in zip(row, prepared.results, strict=True))
                for row in fetched]

    def execute_many(self, conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
        """An INSERT without RETURNING for many rows in one driver call, each row a mapping
        with exactly the ``column_keys``: what a batch of warehouse rows needs, without
        SQLAlchemy's work per row."""
        if not rows:
            return
        prepared = self._prepared.get(conn.dialect.name) or self._prepare(conn.dialect)
        args = [prepared.args(row) for row in rows]
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.executemany(prepared.sql, args)
        except conn.dialect.loaded_dbapi.Error as exc:
            raise _as_sqlalchemy_error(conn, exc, cursor, prepared.sql, args[:1]) from exc
        finally:
            cursor.close()

    def rows_committed(self, conn: Connection, params: dict[str, Any]) -> list[tuple[Any, ...]]:
        """``rows`` as a transaction of its own, committed when this returns: one round trip
        where BEGIN, the statement and COMMIT would take more. ``conn`` must have none open."""
        if conn.in_transaction():
            raise RuntimeError("a statement on its own needs a connection without a transaction")
        driver = conn.connection.driver_connection
        if conn.dialect.name != "postgresql":
            # SQLite's driver runs with isolation_level None (``db.make_engine``): a statement
            # outside BEGIN is a transaction of its own.
            return self.rows(conn, params)
        try:
            driver.autocommit = True  # type: ignore[union-attr]
        except conn.dialect.loaded_dbapi.Error as exc:  # a connection the server dropped
            raise _as_sqlalchemy_error(conn, exc, None, "SET autocommit", None) from exc
        try:
            return self.rows(conn, params)
        finally:
            if not conn.invalidated:
                driver.autocommit = False  # type: ignore[union-attr]

    def first(self, conn: Connection, params: dict[str, Any]) -> tuple[Any, ...] | None:
        found = self.rows(conn, params)
        return found[0] if found else None

    def _prepare(self, dialect: Dialect) -> _Prepared:
        compiled = self.statement.compile(dialect=dialect, column_keys=self.column_keys)
        if getattr(compiled, "insert_prefetch", None):
            missing = ", ".join(c.name for c in compiled.insert_prefetch)
            raise ValueError(f"give every column a value; these would need defaults: {missing}")
        binds = compiled.binds
        unusual = [name for name, bind in binds.items()
                   if bind.expanding or bind.literal_execute or bind.callable is not None]
        if unusual:
            raise ValueError(f"binds this runner does not handle: {', '.join(unusual)}")
        escaped = compiled.escaped_bind_names
        order = list(compiled.positiontup) if dialect.positional else list(binds)
        processors = [binds[name].type.dialect_impl(dialect).bind_processor(dialect)
                      for name in order]
        pick: Callable[[Mapping[str, Any]], Sequence[Any]]
        if len(order) > 1:
            pick = operator.itemgetter(*order)
        else:  # itemgetter of one key gives the value itself, of none is refused
            pick = lambda params: tuple(params[name] for name in order)  # noqa: E731
        fixed = {name: bind.effective_value for name, bind in binds.items() if not bind.required}
        results = [column.type.dialect_impl(dialect).result_processor(dialect, None)
                   for column in self.statement.exported_columns]
        prepared = _Prepared(
            str(compiled), dialect.positional,
            pick,
            [(i, process) for i, process in enumerate(processors) if process is not None],
            [escaped.get(name, name) for name in order], fixed, results)
        self._prepared[dialect.name] = prepared
        return prepared


def _as_sqlalchemy_error(conn: Connection, exc: Exception, cursor: Any, sql: str,
                         args: Any) -> DBAPIError:
    """The error as SQLAlchemy raises it (IntegrityError for a duplicate...), the connection
    invalidated when the database dropped it, as SQLAlchemy does: it is never used again."""
    gone = conn.dialect.is_disconnect(exc, conn.connection.dbapi_connection, cursor)
    if gone:
        conn.invalidate(exc)
    return DBAPIError.instance(sql, args, exc, conn.dialect.loaded_dbapi.Error,
                               connection_invalidated=gone, dialect=conn.dialect)
