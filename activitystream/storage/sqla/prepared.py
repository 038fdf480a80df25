"""Server-side prepared statements for the hot reads, on PostgreSQL through psycopg2.

psycopg2 sends every statement as text, so PostgreSQL parses and plans the
inbox page on every call: at the seed size planning took 0.35 ms where running
took 0.16. A statement run through :func:`execute` is ``PREPARE``-d once per
database connection and then ``EXECUTE``-d, and after a few calls PostgreSQL
keeps one generic plan for it. psycopg 3 prepares repeated statements by
itself, and other databases plan cheaply: they take the plain path.

A prepared statement lives as long as its connection, whatever the
transactions do. A connection pooler that shares server connections between
clients per transaction (PgBouncer's transaction mode) loses them: such sites
turn it off with the plug option ``prepared_statements=False``. When the
server answers that one of ours does not exist (a ``DISCARD ALL``, a pooler),
that read fails (the transaction is aborted), the connection's statements are
prepared again from the next transaction on, and after ``LOSSES_BEFORE_OFF``
such losses the process stops preparing and logs an error naming the option.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import CompoundSelect, Select
from sqlalchemy.sql.selectable import TextualSelect

from . import direct

Statement = Select[Any] | CompoundSelect[Any] | TextualSelect

log = logging.getLogger(__name__)

_PARAMETER = re.compile(r'%\(([^)]+)\)s')
_INFO_KEY = 'activitystream_prepared'  # per DBAPI connection: the names prepared on it


@dataclass(frozen=True)
class _Prepared:
    """One statement as PostgreSQL prepares it and as psycopg2 then calls it."""

    name: str
    prepare: str  # PREPARE <name> AS <the statement, with $1, $2...>
    execute: str  # EXECUTE <name>(%(a)s, %(b)s...); of prepare_text: (:a, :b...)
    compiled: Any  # SQLAlchemy's compiled form: default values and bind processors (or None)


@functools.lru_cache(maxsize=256)
def _prepared(stmt: Statement, dialect: Dialect) -> _Prepared | None:
    """How to prepare ``stmt``, or None when it cannot be (an expanding IN list)."""
    compiled = stmt.compile(dialect=dialect)
    if any(bind.expanding for bind in compiled.binds.values()):
        return None
    numbers: dict[str, int] = {}

    def number(match: re.Match[str]) -> str:
        return f'${numbers.setdefault(match.group(1), len(numbers) + 1)}'

    body = _PARAMETER.sub(number, compiled.string)  # '%%' stays: psycopg2 sends '%'
    return _named(body, ', '.join(f'%({key})s' for key in numbers), compiled)


def _named(body: str, arguments: str, compiled: Any) -> _Prepared:
    """``body`` under its name (from its text), with its ``EXECUTE`` passing ``arguments``."""
    name = 'activitystream_' + hashlib.sha1(body.encode()).hexdigest()[:16]
    execute = f'EXECUTE {name}({arguments})' if arguments else f'EXECUTE {name}'
    found = _Prepared(name, f'PREPARE {name} AS {body}', execute, compiled)
    _by_name[name] = found
    return found


_by_name: dict[str, _Prepared] = {}


def definition(statement: str) -> str | None:
    """The ``PREPARE`` behind a statement ``EXECUTE <name>(...)`` this process sent, else None.

    For tools that replay captured statements on connections of their own (the bench).
    """
    name = statement.removeprefix('EXECUTE ').split('(', 1)[0]
    found = _by_name.get(name) if statement.startswith('EXECUTE ') else None
    return None if found is None else found.prepare


def _values(prepared: _Prepared, params: dict[str, Any]) -> dict[str, Any]:
    """``params`` with the statement's own bound values, as the driver must receive them."""
    compiled = prepared.compiled
    values = compiled.construct_params(params)
    processors = getattr(compiled, '_bind_processors', {})
    return {
        key: processors[key](value) if key in processors else value for key, value in values.items()
    }


def _prepare(connection: Connection, prepared: _Prepared) -> bool:
    """PREPARE it on this connection (in a savepoint: a failure leaves the transaction usable)."""
    known = connection.connection.info.setdefault(_INFO_KEY, set())
    if prepared.name in known:
        return True
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]  # open
    try:
        cursor.execute('SAVEPOINT activitystream_prepare')
        try:
            cursor.execute(prepared.prepare, {})
        except Exception as exc:  # noqa: BLE001 - any refusal: the statement runs unprepared
            cursor.execute('ROLLBACK TO SAVEPOINT activitystream_prepare')
            log.warning('could not prepare %s; running it unprepared', prepared.name, exc_info=True)
            # a lock wait or a cancelled statement passes (tried again at the next call);
            # a statement the server refuses would be refused again
            if not isinstance(exc, connection.dialect.loaded_dbapi.OperationalError):
                _refused.add(prepared.name)
            return False
        cursor.execute('RELEASE SAVEPOINT activitystream_prepare')
    finally:
        cursor.close()
    known.add(prepared.name)
    return True


_refused: set[str] = set()

LOSSES_BEFORE_OFF = 3
_LOST = '26000'  # invalid_sql_statement_name: the server has no statement of that name
_losses = [0]  # statements lost by the server in this process; at LOSSES_BEFORE_OFF, none


def usable(connection: Connection) -> bool:
    return (
        connection.dialect.name == 'postgresql'
        and connection.dialect.driver == 'psycopg2'
        and _losses[0] < LOSSES_BEFORE_OFF
    )


def check_lost(connection: Connection, error: DBAPIError) -> None:
    """After ``error`` from a statement on ``connection``: if the server said that one of
    ours does not exist, forget what was prepared on it (prepared again at the next call),
    and stop preparing once that has happened ``LOSSES_BEFORE_OFF`` times."""
    if getattr(error.orig, 'pgcode', None) != _LOST:
        return
    if not connection.invalidated:
        connection.connection.info.pop(_INFO_KEY, None)
    _losses[0] += 1
    if _losses[0] < LOSSES_BEFORE_OFF:
        log.warning(
            'PostgreSQL lost the statements activitystream prepared on a connection (a DISCARD '
            'ALL?): prepared again from the next transaction'
        )
    else:
        log.error(
            'PostgreSQL lost the statements activitystream prepared %d times: a pooler sharing '
            'server connections per transaction? They run unprepared from now on; set the plug '
            'option prepared_statements=False',
            _losses[0],
        )


def prepare_text(connection: Connection, body: str, names: tuple[str, ...]) -> str | None:
    """Prepare ``body`` (a SELECT numbering its parameters ``$1, $2...``, in the order of
    ``names``; ``%`` doubled) on this connection; its ``EXECUTE`` as SQLAlchemy text (``:name``
    parameters), or None where it does not pay or the server refused it.

    For statements SQLAlchemy runs as text, such as the ORM's ``from_statement``.
    """
    if not usable(connection):
        return None
    found = _text_prepared(body, names)
    if found.name in _refused or not _prepare(connection, found):
        return None
    return found.execute


@functools.lru_cache(maxsize=256)
def _text_prepared(body: str, names: tuple[str, ...]) -> _Prepared:
    return _named(body, ', '.join(f':{key}' for key in names), None)


def execute(connection: Connection, stmt: Statement, params: dict[str, Any]) -> Any:
    """Run the SELECT ``stmt`` prepared where that pays (see the module), else as usual.

    Its ``EXECUTE`` goes to psycopg2 directly while nothing watches SQLAlchemy's
    cursor events (see :mod:`.direct`).
    """
    prepared = _prepared(stmt, connection.dialect) if usable(connection) else None
    if prepared is None or prepared.name in _refused or not _prepare(connection, prepared):
        return connection.execute(stmt, params)
    values = _values(prepared, params)
    try:
        if direct.unwatched(connection):
            read = direct.reading(stmt, connection.dialect)
            return direct.run(connection, prepared.execute, values, read)
        return connection.exec_driver_sql(prepared.execute, values)
    except DBAPIError as exc:
        check_lost(connection, exc)
        raise
