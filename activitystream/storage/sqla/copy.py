"""PostgreSQL's ``COPY ... FROM STDIN`` for large fan-outs.

A delivery to thousands of recipients is the one write whose size grows with
an audience. On PostgreSQL, ``COPY`` loads such rows about twice as fast as a
multi-row ``INSERT``: no statement to parse, no parameters to bind. Smaller
writes, other databases and drivers without a copy API keep the ``INSERT``.

``COPY`` goes to the driver's cursor directly, so SQLAlchemy's statement events
do not see it; it runs on the session's connection, inside the request's
transaction, like every other write.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Table

# below this many rows a multi-row INSERT costs about the same and is simpler to follow
COPY_FROM = 1000

# COPY's text format: these characters in a value are written as escapes
_ESCAPES = str.maketrans({'\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r'})


def _text(value: Any) -> str:
    if value is None:
        return '\\N'
    if isinstance(value, datetime):
        return value.isoformat(' ')
    if isinstance(value, bool):
        return 'true' if value else 'false'
    return str(value).translate(_ESCAPES)


def copy_text(rows: Iterable[dict[str, Any]], columns: Sequence[str]) -> str:
    """``rows`` (dicts by column name) as the lines ``COPY ... FROM STDIN`` reads.

    Integers (keys) need no escaping, and a fan-out repeats one time object in
    every row: it is written once (the same object, not an equal one, whose
    time zone could differ).
    """
    last: Any = None
    last_text = _text(None)

    def text(value: Any) -> str:
        nonlocal last, last_text
        if type(value) is int:
            return str(value)
        if value is not last:
            last, last_text = value, _text(value)
        return last_text

    return ''.join(['\t'.join([text(row[c]) for c in columns]) + '\n' for row in rows])


def copy_rows(connection: Connection, table: Table, rows: list[dict[str, Any]], page: int) -> bool:
    """Load ``rows`` into ``table`` with one COPY per ``page`` rows, when possible and worth it.

    Returns False, having written nothing, when it is not (too few rows, not
    PostgreSQL, or a driver without a copy API): the caller inserts them.
    """
    if len(rows) < COPY_FROM or connection.dialect.name != 'postgresql':
        return False
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]  # open
    try:
        if not hasattr(cursor, 'copy_expert') and not hasattr(cursor, 'copy'):
            return False
        preparer = connection.dialect.identifier_preparer
        columns = list(rows[0])
        names = ', '.join(preparer.quote(c) for c in columns)
        sql = f'COPY {preparer.format_table(table)} ({names}) FROM STDIN'
        for start in range(0, len(rows), page):
            text = copy_text(rows[start : start + page], columns)
            if hasattr(cursor, 'copy_expert'):  # psycopg2
                cursor.copy_expert(sql, io.StringIO(text))
            else:  # psycopg 3
                with cursor.copy(sql) as copy:
                    copy.write(text)
    finally:
        cursor.close()
    return True
