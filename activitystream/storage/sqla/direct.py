"""SQLite: the hot reads handed to the sqlite3 connection itself.

On SQLite the inbox page, its counts and the seen state cost the database
about 0.03 ms each at the seed size, and SQLAlchemy's execution of them two to
three times that again: the statement's cache key, an execution context, a new
cursor, events, result metadata and a Row per row. A statement run through
:func:`execute` is compiled once per process; each call binds its values
through the columns' own processors, runs the text on the session's DBAPI
connection (sqlite3 keeps it prepared in its statement cache) and reads the
rows back through the columns' result processors. The same connection means
the same transaction: the read sees the request's writes as before.

Only where nobody would see the difference (:func:`usable`): no listener of
SQLAlchemy's cursor events (SQL logging, a debug toolbar, the tests' query
counts), no ``echo``, no schema translation. A database error runs the
statement again through SQLAlchemy, so that its own exception (or its
answer, if the error has passed) is what the caller gets.
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Dialect
from sqlalchemy.engine import IteratorResult
from sqlalchemy.engine.result import SimpleResultMetaData

from .prepared import Statement

Processor = Callable[[Any], Any]


@dataclass(frozen=True, eq=False)  # built once per statement: cached by identity
class _Direct:
    """One statement as sqlite3 runs it and as its rows are read back."""

    sql: str
    # per ``?`` of the text: (the caller's key, its value when not given, bind processor)
    binds: tuple[tuple[str, Any, Processor | None], ...]
    metadata: SimpleResultMetaData
    processors: tuple[tuple[int, Processor], ...]  # (position, processor) where there is one


_REQUIRED = object()  # a bound parameter the caller must give


def usable(connection: Connection) -> bool:
    """SQLite through the standard library's sqlite3, with nothing that watches statements
    go through SQLAlchemy."""
    if connection.dialect.name != 'sqlite' or connection.dialect.driver != 'pysqlite':
        return False
    dispatch = connection.dispatch
    return not (
        dispatch.before_cursor_execute
        or dispatch.after_cursor_execute
        or connection.engine.echo
        or connection.get_execution_options().get('schema_translate_map')
    )


@functools.lru_cache(maxsize=256)
def _direct(stmt: Statement, dialect: Dialect) -> _Direct | None:
    """How sqlite3 runs ``stmt``, or None when it must go through SQLAlchemy."""
    compiled = stmt.compile(dialect=dialect)
    if not compiled.positional or any(
        bind.expanding or bind.literal_execute or bind.callable is not None
        for bind in compiled.binds.values()
    ):
        return None  # a text that changes with the values, or a value computed per call
    columns = list(stmt.selected_columns)
    processors = []
    for position, column in enumerate(columns):
        process = column.type.dialect_impl(dialect).result_processor(dialect, None)
        if process is not None:
            processors.append((position, process))
    # an unnamed column (a count) is read by position: any name will do
    metadata = SimpleResultMetaData([column.key or f'_{n}' for n, column in enumerate(columns)])
    bind_processors = getattr(compiled, '_bind_processors', {})
    binds = []
    for name in compiled.positiontup or ():
        bind = compiled.binds[name]
        default = _REQUIRED if bind.required else bind.value
        binds.append((bind.key, default, bind_processors.get(name)))
    return _Direct(compiled.string, tuple(binds), metadata, tuple(processors))


def _arguments(found: _Direct, params: dict[str, Any]) -> list[Any]:
    """The values of the text's ``?``, processed as the columns bind them."""
    arguments = []
    for key, default, process in found.binds:
        value = params.get(key, default)
        if value is _REQUIRED:
            raise KeyError(f'no value for the bound parameter {key!r}')
        arguments.append(value if process is None else process(value))
    return arguments


def _read(row: tuple[Any, ...], processors: tuple[tuple[int, Processor], ...]) -> tuple:
    values = list(row)
    for position, process in processors:
        values[position] = process(values[position])
    return tuple(values)


def execute(connection: Connection, stmt: Statement, params: dict[str, Any]) -> Any:
    """Run the SELECT ``stmt`` on sqlite3 directly where :func:`usable`, else as usual.

    The answer is a SQLAlchemy Result (``all``, ``first``, ``scalar_one``...).
    """
    found = _direct(stmt, connection.dialect) if usable(connection) else None
    if found is None:
        return connection.execute(stmt, params)
    driver = connection.connection.driver_connection
    try:
        rows = driver.execute(found.sql, _arguments(found, params)).fetchall()  # type: ignore[union-attr]
    except sqlite3.Error:
        return connection.execute(stmt, params)
    if found.processors:
        rows = [_read(row, found.processors) for row in rows]
    return IteratorResult(found.metadata, iter(rows))
