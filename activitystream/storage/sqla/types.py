"""Column types of our tables that differ per database.

:class:`Timestamp` is ``DateTime`` everywhere (PostgreSQL's ``timestamp
without time zone``, naive UTC) except on SQLite, which has no time type:
there SQLAlchemy's ``DateTime`` writes 26 characters of text
(``'2026-12-06 09:57:31.123000'``), while integer milliseconds since the Unix
epoch take 6 bytes. The inbox key (recipient, timestamp, action) and every
index holding a time shrink with it, and a range of times compares integers.
Times are truncated to milliseconds on every backend already
(:mod:`activitystream.timeutil`), so nothing is lost.

The columns keep their declared type ``DATETIME`` on SQLite (NUMERIC
affinity, which stores an integer as an integer): a migrated database then
needs no table rebuilt, and it declares what ``create_all`` makes today.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

EPOCH = datetime(1970, 1, 1)
MILLISECOND = timedelta(milliseconds=1)


def to_millis(value: datetime | None) -> int | None:
    """A naive UTC datetime as integer milliseconds since the epoch (floored, like to_utc)."""
    return None if value is None else (value - EPOCH) // MILLISECOND


def from_millis(
    value: int | None, _epoch: datetime = EPOCH, _ms: timedelta = MILLISECOND
) -> datetime | None:
    """Integer milliseconds since the epoch as a naive UTC datetime: per row, kept short."""
    return None if value is None else _epoch + _ms * value


def _literal(value: datetime) -> str:
    return str(to_millis(value))


class _SQLiteMillis(TypeEngine[datetime]):
    """SQLite's side of :class:`Timestamp`: declared DATETIME, bound and read as integers.

    A TypeEngine of its own (not a DateTime, which SQLite's dialect would swap
    for its text type), whose processors are plain functions: no wrapper per row.
    """

    __visit_name__ = 'DATETIME'

    @property
    def python_type(self) -> type[datetime]:
        return datetime

    def bind_processor(self, dialect: Dialect) -> Any:
        return to_millis

    def result_processor(self, dialect: Dialect, coltype: object) -> Any:
        return from_millis

    def literal_processor(self, dialect: Dialect) -> Any:
        return _literal


class Timestamp(TypeDecorator[datetime]):
    """A naive UTC time: ``DateTime`` on every database, integer milliseconds on SQLite.

    Only the dialect's implementation differs (``load_dialect_impl``): other
    databases get exactly ``DateTime``, its DDL and its processors.
    """

    impl = DateTime
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        return _SQLiteMillis() if dialect.name == 'sqlite' else self.impl_instance
