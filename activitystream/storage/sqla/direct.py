"""The hot reads on the DBAPI connection itself, where nothing would see the difference.

SQLAlchemy's execution of a statement (its cache key, an execution context, a
cursor, events, result metadata, a Row per row) costs more than the database
takes to answer the inbox page, its counts or the seen state: on SQLite about
0.03 ms of each, on PostgreSQL about 0.05 at the seed size. So these reads go
to the session's DBAPI connection (the same transaction: they see the
request's writes as before), and their rows come back through the columns'
own result processors:

- SQLite (the standard library's sqlite3): each statement is compiled once
  per process (:func:`execute`); sqlite3 keeps its text prepared in its own
  statement cache, and the values are bound through the columns' processors;
- PostgreSQL (psycopg2): the ``EXECUTE`` of :mod:`.prepared`'s statements
  (:func:`run`).

Only while :func:`unwatched`: no listener of SQLAlchemy's cursor or error
events (SQL logging, a debug toolbar, the tests' query counts), no ``echo``, no
schema translation. A database error is raised as SQLAlchemy would raise it
(its ``DBAPIError`` of the driver's exception), and a lost connection is
invalidated as SQLAlchemy would, so that the pool does not hand it out again.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Dialect
from sqlalchemy.exc import DBAPIError, MultipleResultsFound, NoResultFound

if TYPE_CHECKING:
    from .prepared import Statement

Processor = Callable[[Any], Any]


class Rows(list[tuple[Any, ...]]):
    """A direct read's rows (tuples), with the Result methods the storage calls."""

    def all(self) -> Rows:
        return self

    def first(self) -> tuple[Any, ...] | None:
        return self[0] if self else None

    def scalar_one(self) -> Any:
        if len(self) != 1:
            raise (NoResultFound if not self else MultipleResultsFound)(
                f'one row was expected, {len(self)} came'
            )
        return self[0][0]


Reading = tuple[tuple[int, Processor], ...]  # (position, result processor) where there is one


@functools.lru_cache(maxsize=256)
def reading(stmt: Statement, dialect: Dialect) -> Reading:
    """How the rows of ``stmt`` are read back: its columns' result processors."""
    found = []
    for position, column in enumerate(stmt.selected_columns):
        process = column.type.dialect_impl(dialect).result_processor(dialect, None)
        if process is not None:
            found.append((position, process))
    return tuple(found)


def unwatched(connection: Connection) -> bool:
    """Whether nothing watches statements go through SQLAlchemy on ``connection``."""
    dispatch = connection.dispatch
    return not (
        dispatch.before_cursor_execute
        or dispatch.after_cursor_execute
        or connection.dialect.dispatch.handle_error
        or connection.engine.echo
        or connection.get_execution_options().get('schema_translate_map')
    )


def run(
    connection: Connection, sql: str, arguments: Sequence[Any] | Mapping[str, Any], read: Reading
) -> Rows:
    """The rows of ``sql`` run on ``connection``'s DBAPI connection."""
    dbapi_connection: Any = connection.connection.dbapi_connection
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(sql, arguments)
        rows = cursor.fetchall()
    except connection.dialect.loaded_dbapi.Error as exc:
        raise _error(connection, sql, arguments, exc, cursor) from exc
    finally:
        cursor.close()
    if read:
        return Rows(_read(row, read) for row in rows)
    return Rows(rows)


def _error(connection: Connection, sql: str, arguments: Any, exc: Any, cursor: Any) -> Any:
    """SQLAlchemy's exception for the driver's ``exc``; the connection invalidated if lost."""
    dialect = connection.dialect
    lost = dialect.is_disconnect(exc, connection.connection.dbapi_connection, cursor)
    if lost:
        connection.invalidate(exc)
    base = dialect.loaded_dbapi.Error
    return DBAPIError.instance(
        sql, arguments, exc, base, dialect=dialect, connection_invalidated=lost
    )


def _read(row: Sequence[Any], processors: Reading) -> tuple[Any, ...]:
    values = list(row)
    for position, process in processors:
        values[position] = process(values[position])
    return tuple(values)


# -- SQLite -------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class _Compiled:
    """One statement as sqlite3 runs it."""

    sql: str
    # each parameter once: (the caller's key, its value when not given, bind processor)
    binds: tuple[tuple[str, Any, Processor | None], ...]
    order: tuple[int, ...]  # per ``?`` of the text, which of ``binds`` it takes
    read: Reading


_REQUIRED = object()  # a bound parameter the caller must give


def usable(connection: Connection) -> bool:
    """SQLite through the standard library's sqlite3, :func:`unwatched`."""
    dialect = connection.dialect
    return dialect.name == 'sqlite' and dialect.driver == 'pysqlite' and unwatched(connection)


@functools.lru_cache(maxsize=256)
def _compiled(stmt: Statement, dialect: Dialect) -> _Compiled | None:
    """How sqlite3 runs ``stmt``, or None when it must go through SQLAlchemy."""
    compiled = stmt.compile(dialect=dialect)
    if not compiled.positional or any(
        bind.expanding or bind.literal_execute or bind.callable is not None
        for bind in compiled.binds.values()
    ):
        return None  # a text that changes with the values, or a value computed per call
    bind_processors = getattr(compiled, '_bind_processors', {})
    binds: dict[tuple[str, Any, Processor | None], int] = {}
    order = []
    for name in compiled.positiontup or ():
        bind = compiled.binds[name]
        default = _REQUIRED if bind.required else bind.value
        order.append(binds.setdefault((bind.key, default, bind_processors.get(name)), len(binds)))
    return _Compiled(compiled.string, tuple(binds), tuple(order), reading(stmt, dialect))


def _arguments(found: _Compiled, params: Mapping[str, Any]) -> list[Any]:
    """The values of the text's ``?``, processed as the columns bind them (each once)."""
    values = []
    for key, default, process in found.binds:
        value = params.get(key, default)
        if value is _REQUIRED:
            raise KeyError(f'no value for the bound parameter {key!r}')
        values.append(value if process is None else process(value))
    return [values[n] for n in found.order]


def execute(connection: Connection, stmt: Statement, params: dict[str, Any]) -> Any:
    """Run the SELECT ``stmt`` on sqlite3 directly where :func:`usable`, else as usual.

    The answer has ``all``, ``first`` and ``scalar_one``, as a SQLAlchemy Result.
    """
    found = _compiled(stmt, connection.dialect) if usable(connection) else None
    if found is None:
        return connection.execute(stmt, params)
    return run(connection, found.sql, _arguments(found, params), found.read)
