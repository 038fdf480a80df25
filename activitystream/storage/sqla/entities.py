"""Host entities of several classes in one statement.

A page of notifications names entities of a few classes (users, posts, ...),
and every query the ORM runs costs a fixed part (about as much as loading
twenty rows) and, on PostgreSQL, a round trip. So one statement reads them
all: a UNION ALL of one SELECT per class, each filling its own class's columns
and leaving the others' NULL. The ORM reads the entities of each row by
position (``text().columns()``): a row holds one entity, None for the other
classes. On PostgreSQL through psycopg2 it runs prepared (:mod:`.prepared`),
as the inbox page does: parsing and planning it cost more than running it.

Only classes that load nothing but columns of their own table go in it (no
inheritance, no SQL expression or deferred column, no eager relationship);
the others load with ``select(cls)``, a query each, as do classes asked for
more keys than ``COUNTS`` ends with. Keys are padded to those counts (the last
key repeated), so that few statements are built and prepared.

Rows need less: of a class listing ``__activitystream_display__``
(:mod:`activitystream.entities.shown`), only those columns. ``shown_statement``
is the same union of those columns alone, run as the storage's other hot reads
(straight to sqlite3, prepared on PostgreSQL): no ORM object is built.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import Column, Table, bindparam, inspect, select, text

from . import prepared

if TYPE_CHECKING:
    from sqlalchemy import BindParameter, Connection, Dialect, Executable
    from sqlalchemy.sql.selectable import TextualSelect

COUNTS = (1, 2, 4, 8, 16, 32, 64)
# relationship loading that adds nothing to the statement loading the entity
LAZY = frozenset({'select', 'raise', 'raise_on_sql', 'noload', 'dynamic', 'write_only'})

Shape = tuple[tuple[type, int, tuple[Column[Any], ...]], ...]  # (class, key count, columns)


@functools.cache
def columns_of(cls: type) -> tuple[Column[Any], ...] | None:
    """The columns ``cls`` loads, when they are all plain columns of its own table; else None."""
    mapper: Any = inspect(cls)
    table = mapper.local_table
    if mapper.inherits is not None or mapper.polymorphic_on is not None:
        return None
    if len(mapper.primary_key) != 1:  # no reference names such a row anyway
        return None
    if not isinstance(table, Table) or any(r.lazy not in LAZY for r in mapper.relationships):
        return None
    found = []
    for prop in mapper.column_attrs:
        if prop.deferred or len(prop.columns) != 1:
            return None
        column = prop.columns[0]
        if not isinstance(column, Column) or column.table is not table:
            return None
        found.append(column)
    return tuple(found)


def shared(wanted: Mapping[type, list]) -> dict[type, list]:
    """What of ``wanted`` ({class: [key]}) loads in the shared statement: classes loading
    columns of their own table only (of two classes on one table, the first), at most
    ``COUNTS[-1]`` keys each."""
    found: dict[type, list] = {}
    tables = set()
    for cls, ids in wanted.items():
        columns = columns_of(cls)
        if columns is not None and len(ids) <= COUNTS[-1] and columns[0].table not in tables:
            tables.add(columns[0].table)
            found[cls] = ids
    return found


@dataclass(frozen=True, eq=False)  # built once per shape: cached by identity
class _Union:
    """One shape's statement: as SQLAlchemy text (``:name`` parameters) and as PostgreSQL
    prepares it (``$1, $2...``), its parameters in that order, and its result columns."""

    sql: str
    body: str
    names: tuple[str, ...]
    binds: tuple[BindParameter[Any], ...]
    columns: tuple[Column[Any], ...]


@functools.cache
def _names(n: int, count: int) -> tuple[str, ...]:
    """The parameters of the ``n``-th class's ``count`` keys."""
    return tuple(f'k{n}_{i}' for i in range(count))


@functools.lru_cache(maxsize=512)
def _union(shape: Shape, dialect: Dialect) -> _Union:
    """The statement of ``shape`` ((class, key count, its columns read), ...) in
    ``dialect``, built once."""
    quote = dialect.identifier_preparer
    every = [columns for _, _, columns in shape]
    nulls = {column: _null(column, dialect) for columns in every for column in columns}
    parts: list[str] = []
    body: list[str] = []
    binds: list[BindParameter[Any]] = []
    for n, (cls, count, _) in enumerate(shape):
        table = quote.format_table(inspect(cls).local_table)
        listed = [
            f'{table}.{quote.quote(column.name)}' if m == n else nulls[column]
            for m, columns in enumerate(every)
            for column in columns
        ]
        key: Any = inspect(cls).primary_key[0]
        head = f'SELECT {", ".join(listed)} FROM {table} WHERE {table}.{quote.quote(key.name)} IN '
        mine = _names(n, count)
        parts.append(head.replace(':', '\\:') + f'({", ".join(":" + name for name in mine)})')
        numbers = range(len(binds) + 1, len(binds) + count + 1)
        body.append(head.replace('%', '%%') + f'({", ".join(f"${i}" for i in numbers)})')
        binds += [bindparam(name, type_=key.type) for name in mine]
    columns = tuple(column for columns in every for column in columns)
    names = tuple(bind.key for bind in binds)
    return _Union(' UNION ALL '.join(parts), ' UNION ALL '.join(body), names, tuple(binds), columns)


def _null(column: Column[Any], dialect: Dialect) -> str:
    """A NULL in place of ``column``: typed on PostgreSQL, which would take two of them in
    a row of a UNION for text, then refuse another type below; others take it as it is."""
    if dialect.name != 'postgresql':
        return 'NULL'
    return f'CAST(NULL AS {dialect.type_compiler_instance.process(column.type)})'


@functools.lru_cache(maxsize=1024)
def _orm(classes: tuple[type, ...], sql: str, union: _Union) -> Executable:
    """The ORM statement of ``union`` run as ``sql`` (itself, or its ``EXECUTE``)."""
    textual = text(sql).bindparams(*union.binds).columns(*union.columns)
    return select(*classes).from_statement(textual)


def statement_for(
    wanted: Mapping[type, list], connection: Connection, prepare: bool
) -> tuple[list[type], Executable, dict[str, Any]]:
    """(the classes in the order of a row's entities, the statement, its parameters) loading
    ``wanted`` ({class: [key]}, all ``shared``) in one query, on ``connection``.

    ``prepare``: as a prepared statement where that pays (see the module).
    """
    classes = sorted(wanted, key=_order)
    counts, params = _parameters([wanted[cls] for cls in classes])
    columns = [columns_of(cls) or () for cls in classes]
    union = _union(tuple(zip(classes, counts, columns, strict=True)), connection.dialect)
    sql = prepared.prepare_text(connection, union.body, union.names) if prepare else None
    return classes, _orm(tuple(classes), sql or union.sql, union), params


def _order(cls: type) -> str:
    """The classes' order in the statement: the same whatever order a page names them in."""
    return f'{cls.__module__}.{cls.__qualname__}'


def _parameters(keys: list[list]) -> tuple[list[int], dict[str, Any]]:
    """(the padded count of each class's keys, the parameters ``k<class>_<i>`` holding them)."""
    params: dict[str, Any] = {}
    counts = []
    for n, ids in enumerate(keys):
        count = _padded(len(ids))
        params.update(zip(_names(n, count), ids + ids[-1:] * (count - len(ids)), strict=True))
        counts.append(count)
    return counts, params


@functools.cache
def _padded(count: int) -> int:
    """The number of keys ``count`` keys are padded to."""
    return next(c for c in COUNTS if c >= count)


# -- the columns that show an entity (``entities.shown``) ---------------------

Listed = tuple[tuple[type, int, tuple[str, ...]], ...]  # (class, key count, attributes)


def _listed_columns(cls: type, names: tuple[str, ...]) -> tuple[Column[Any], ...]:
    """The columns of attributes ``names`` of ``cls``."""
    attributes: Any = inspect(cls).column_attrs
    return tuple(attributes[name].columns[0] for name in names)


@functools.lru_cache(maxsize=512)
def shown_statement(listed: Listed, dialect: Dialect) -> TextualSelect:
    """The columns of ``listed`` in one statement, the entities' statement's union of
    those columns alone, as a Core statement (no entity is built from its rows)."""
    shape = tuple((cls, count, _listed_columns(cls, names)) for cls, count, names in listed)
    union = _union(shape, dialect)
    return text(union.sql).bindparams(*union.binds).columns(*union.columns)


def shown_for(wanted: Mapping[type, tuple[tuple[str, ...], list]]) -> tuple[Listed, dict[str, Any]]:
    """(the shape, the parameters) reading ``wanted`` ({class: (attributes, keys)}, all
    ``shared``) with ``shown_statement``."""
    classes = sorted(wanted, key=_order)
    counts, params = _parameters([wanted[cls][1] for cls in classes])
    listed = zip(classes, counts, (wanted[cls][0] for cls in classes), strict=True)
    return tuple(listed), params
