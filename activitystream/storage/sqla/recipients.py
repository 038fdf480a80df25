"""Recipients' integer keys, and writing deliveries by them.

The deliveries name a recipient by its key in ``activitystream_recipients``;
a fan-out passes (recipient, timestamp, action) rows and this module finds or
gives the keys:

- on PostgreSQL, one statement reads the keys of a page of recipients from
  two arrays (its text and plan do not grow with the page); those without a
  key are registered on a connection of their own (a pool of its own),
  committed at once (see ``_pg_keys``); the rows go by ``COPY`` (or a multi-row INSERT when few);
- on SQLite, one statement reads the keys of a page of recipients from one
  JSON text (``json_each``), each by a scalar subquery on the unique index:
  its plan cannot turn into a scan of the table, as a join's does when the
  statistics call the table small. Those without a key are registered
  (ON CONFLICT DO NOTHING) and read again, in the same transaction (SQLite's
  are serializable: no key read changes before the deliveries are written). The
  rows go as integers, in the primary key's order, by one executemany of
  the driver's text (SQLAlchemy's work per row of an executemany cost more
  than SQLite's insert);
- elsewhere (and on a SQLite built without JSON, or for a page naming a
  recipient whose type or id holds a NUL character), one statement registers
  the page's recipients and one executemany INSERT ... SELECT writes each
  delivery with its key found in the database.

A recipient that ends up without a key is an error, never a lost delivery;
nothing scans the recipients' table.

Reads never come here: they name the recipient by type and id and the
database finds the key inside the same statement (``storage._key_of``).

No key is cached between transactions: a key read in a transaction that
rolls back may not exist afterwards, and a database emptied or rebuilt under
a running process would hand one recipient's deliveries to another, so the
only safe cache would need to see every such change. A lookup is an index
probe per recipient inside the database.
"""

from __future__ import annotations

import json
import weakref
from collections.abc import Callable, Sequence
from datetime import datetime
from functools import cache, lru_cache
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    BigInteger,
    Engine,
    String,
    Text,
    bindparam,
    cast,
    create_engine,
    event,
    func,
    insert,
    literal_column,
    select,
    true,
    tuple_,
)
from sqlalchemy.engine import Dialect

from ..base import Ref
from .copy import copy_rows
from .schema import Delivery, Recipient

if TYPE_CHECKING:
    from sqlalchemy import Connection, Insert, Select

recipients = Recipient.__table__
deliveries = Delivery.__table__

# rows per statement (and per COPY)
PAGE = 5000
Row = tuple[Ref, datetime, Any]  # (recipient, timestamp, action id): one delivery
KeyReader = Callable[[list[Ref]], Any]  # recipients -> (1-based position, key or None) rows


def deliver(connection: Connection, rows: Sequence[Row], insert_or: Any) -> None:
    """Write the deliveries ``rows``, giving a key to each recipient that has none.

    ``insert_or`` is the dialect's INSERT ... ON CONFLICT on ``Recipient``
    (None where there is none: registering then reads first and inserts the
    missing, and two transactions registering one recipient at once make one
    fail on the unique constraint).
    """
    postgresql = connection.dialect.name == 'postgresql'
    pages = -(-len(rows) // PAGE)
    size = -(-len(rows) // pages) if pages else 0  # even pages: no short last page misses COPY
    for start in range(0, len(rows), size or 1):
        page = rows[start : start + size]
        if postgresql:
            _deliver_by_keys(connection, page)
        elif _has_json(connection):
            _deliver_by_json(connection, page, insert_or)
        else:
            _deliver_by_refs(connection, page, insert_or)


# -- PostgreSQL: keys read from arrays, rows by COPY -----------------------------------


def _deliver_by_keys(connection: Connection, page: Sequence[Row]) -> None:
    refs = list(dict.fromkeys(ref for ref, _, _ in page))
    key = dict(zip(refs, _pg_keys(connection, refs), strict=True))
    found = [
        {'recipient_key': key[ref], 'timestamp': ts, 'action_id': action}
        for ref, ts, action in page
    ]
    if not copy_rows(connection, deliveries, found, PAGE):
        connection.execute(insert(deliveries), found)


def _keys(refs: list[Ref], read: KeyReader, register: KeyReader) -> list[Any]:
    """The key of each of ``refs`` (distinct), in their order, registering the missing.

    ``read(some)`` gives (position in ``some``, 1-based; key or None) rows of
    the keys there are; ``register(some)`` registers ``some`` and gives the
    same rows. A recipient left without a key is an error, never a lost delivery.
    """
    keys: list[Any] = [None] * len(refs)
    wanted = list(range(len(refs)))
    _fill(keys, wanted, read(refs))
    wanted = [n for n in wanted if keys[n] is None]
    if wanted:
        _fill(keys, wanted, register([refs[n] for n in wanted]))
        if None in keys:
            lost = [ref for ref, key in zip(refs, keys, strict=True) if key is None][:3]
            raise RuntimeError(f'activitystream: recipients {lost} could not be registered')
    return keys


def _pg_keys(connection: Connection, refs: list[Ref]) -> list[Any]:
    """``_keys`` on PostgreSQL: the missing are registered on a connection of their own,
    committed at once: a key in an open transaction would make every other transaction
    delivering to that recipient wait for it to end (a long import would hold a whole
    site's new users), and a rollback would only leave a key unused.
    """

    def read(some: list[Ref]) -> Any:
        return connection.execute(_pg_read_keys(), _pg_arrays(some))

    def register(some: list[Ref]) -> Any:
        arrays = _pg_arrays(some)
        with _registrar(connection.engine).connect() as own:
            own = own.execution_options(isolation_level='AUTOCOMMIT')
            own.execute(_pg_register(), arrays)  # ON CONFLICT: waits for a racing one, skips it
            return own.execute(_pg_read_keys(), arrays).all()

    return _keys(refs, read, register)


_registrars: weakref.WeakKeyDictionary[Engine, Engine] = weakref.WeakKeyDictionary()


def _registrar(engine: Engine) -> Engine:
    """The engine registering keys for the host's ``engine``: a pool of its own.

    Registering takes a second connection while the request holds one; from
    the host's pool, requests all registering at once would wait on each other
    until its timeout. The pool has the host's settings (``Pool.recreate``: its
    connect arguments included) and is disposed of with the host's engine.
    """
    own = _registrars.get(engine)
    if own is None:
        own = _registrars[engine] = create_engine(engine.url, pool=engine.pool.recreate())
        event.listen(engine, 'engine_disposed', lambda _: own.dispose())
    return own


def _fill(keys: list[Any], wanted: list[int], found: Any) -> None:
    """Put the keys of ``found`` rows (position in ``wanted``, 1-based; key or None) in ``keys``."""
    for position, key in found:
        keys[wanted[position - 1]] = key


def _pg_pairs() -> Any:
    """(t, i, n): the recipients of the two array literals ``types`` and ``ids``, numbered."""
    from sqlalchemy.dialects.postgresql import ARRAY

    types, ids = (cast(bindparam(name, type_=Text), ARRAY(String)) for name in ('types', 'ids'))
    pairs = func.unnest(types, ids)
    return pairs.table_valued('t', 'i', with_ordinality='n').render_derived(name='wanted')


def _pg_arrays(refs: Sequence[Ref]) -> dict[str, str]:
    """The ``types`` and ``ids`` parameters: each one array literal, ``{"a","b"}``.

    One literal is parsed as one value; a list would go as ``ARRAY['a', 'b', ...]``,
    an expression of thousands of constants that took half the statement's time.
    """
    return {'types': _array([r.type for r in refs]), 'ids': _array([r.id for r in refs])}


def _array(values: list[str]) -> str:
    if not values:
        return '{}'
    quoted = (v.replace('\\', '\\\\').replace('"', '\\"') for v in values)
    return '{"' + '","'.join(quoted) + '"}'


@cache
def _pg_read_keys() -> Select:
    """(position in the arrays, key or NULL) of each recipient of two arrays.

    A subquery per recipient: an index probe each, so the cost follows the
    page, never the number of recipients registered. As a join, PostgreSQL
    hashed the whole table for every page (its estimate of the matches is far
    too low): 6.5 ms for 1,000 recipients among 60,000, where the probes took
    2.3, and ten times more with ten times the users.
    """
    wanted = _pg_pairs()
    key = select(recipients.c.id).where(_is_ref(wanted.c.t, wanted.c.i)).scalar_subquery()
    return select(wanted.c.n.cast(BigInteger), key)


@cache
def _pg_register() -> Insert:
    from sqlalchemy.dialects.postgresql import insert as pg_insert

    wanted = _pg_pairs()
    new = select(wanted.c.t, wanted.c.i)
    return (
        pg_insert(recipients)
        .from_select(['recipient_type', 'recipient_id'], new)
        .on_conflict_do_nothing()
    )


def _is_ref(type_: Any, id_: Any) -> Any:
    """Clause: a row of ``activitystream_recipients`` is (``type_``, ``id_``)."""
    return (recipients.c.recipient_type == type_) & (recipients.c.recipient_id == id_)


# -- SQLite: keys read from a JSON text, rows as integers ------------------------------


def _deliver_by_json(connection: Connection, page: Sequence[Row], insert_or: Any) -> None:
    refs = list(dict.fromkeys(ref for ref, _, _ in page))
    if any('\0' in ref.type or '\0' in ref.id for ref in refs):
        # SQLite's JSON functions end a string at a NUL character
        _deliver_by_refs(connection, page, insert_or)
        return
    key = dict(zip(refs, _sqlite_keys(connection, refs), strict=True))
    dialect = connection.dialect
    time = deliveries.c.timestamp.type.dialect_impl(dialect).bind_processor(dialect)  # to_millis
    times = {ts: time(ts) if time else ts for ts in dict.fromkeys(ts for _, ts, _ in page)}
    # in the primary key's order: each row lands beside the one before it in the index
    rows = sorted([(key[ref], times[ts], action) for ref, ts, action in page])
    connection.exec_driver_sql(_insert_keyed(dialect, deliveries.name), rows)


def _sqlite_keys(connection: Connection, refs: list[Ref]) -> list[Any]:
    """``_keys`` on SQLite, each step one statement on a JSON text of the recipients.

    Registered in the transaction that writes the deliveries: SQLite's
    transactions are serializable, so no key read changes before they are written.
    """

    def read(some: list[Ref]) -> Any:
        return connection.execute(_json_read_keys(), {'rows': _json(some)}).all()

    def register(some: list[Ref]) -> Any:
        rows = {'rows': _json(some)}
        connection.execute(_json_register(), rows)
        return connection.execute(_json_read_keys(), rows).all()

    return _keys(refs, read, register)


# a Ref is a tuple: [type, id]; characters as they are (a lone surrogate fails as before)
_json = json.JSONEncoder(separators=(',', ':'), ensure_ascii=False).encode
_json_dialects: weakref.WeakKeyDictionary[Dialect, bool] = weakref.WeakKeyDictionary()


def _has_json(connection: Connection) -> bool:
    """Whether ``connection`` is SQLite with its JSON functions (asked once per dialect).

    Asked on the driver's cursor: a question about the library, not a
    statement of the transaction's (nor one its statement events count).
    """
    dialect = connection.dialect
    if dialect.name != 'sqlite':
        return False
    found = _json_dialects.get(dialect)
    if found is None:
        cursor = connection.connection.cursor()
        try:
            cursor.execute("SELECT count(*) FROM json_each('[]')")
        except dialect.loaded_dbapi.Error:  # no such table: a prepare error, nothing ran
            found = False
        else:
            found = True
        finally:
            cursor.close()
        _json_dialects[dialect] = found
    return found


def _json_refs() -> tuple[Any, Any, Any]:
    """(n, type, id) of each [type, id] of the JSON array bound as ``rows``; n from 1."""
    each = func.json_each(bindparam('rows', type_=Text)).table_valued('key', 'value')
    type_, id_ = (func.json_extract(each.c.value, literal_column(f"'$[{n}]'")) for n in (0, 1))
    return each.c.key + literal_column('1'), type_, id_


@cache
def _json_read_keys() -> Select:
    """(n, key) of each [type, id] of ``rows``: the key None where there is none.

    A scalar subquery, not a join: a join's order is the planner's, which
    scans the recipients (reading the JSON once per recipient) when the
    statistics call the table small; the subquery probes the unique index
    once per [type, id] whatever the statistics say.
    """
    n, type_, id_ = _json_refs()
    return select(n, select(recipients.c.id).where(_is_ref(type_, id_)).scalar_subquery())


@cache
def _json_register() -> Insert:
    """Registers each [type, id] of ``rows`` that has no key, in their order."""
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    _, type_, id_ = _json_refs()
    new = select(type_, id_).where(true())  # a WHERE: else SQLite reads ON CONFLICT as a join's ON
    add = sqlite_insert(recipients).from_select(['recipient_type', 'recipient_id'], new)
    return add.on_conflict_do_nothing()


@lru_cache(maxsize=8)
def _insert_keyed(dialect: Dialect, table: str) -> str:
    """The INSERT of one delivery by its key, as the driver's text (for the renamed table too).

    An executemany of the driver's text: SQLAlchemy's own processes each
    row's parameters, which took longer than SQLite's insert.
    """
    columns = ['recipient_key', 'timestamp', 'action_id']  # the rows' order
    return str(insert(deliveries).compile(dialect=dialect, column_keys=columns))


# -- elsewhere: register, then each delivery with its key found by the database ---------


def _deliver_by_refs(connection: Connection, page: Sequence[Row], insert_or: Any) -> None:
    refs = list(dict.fromkeys(ref for ref, _, _ in page))
    if insert_or is None:
        known = _read(connection, refs)
        refs = [ref for ref in refs if ref not in known]
    if refs:
        add = insert(recipients) if insert_or is None else insert_or.on_conflict_do_nothing()
        connection.execute(add, [dict(recipient_type=t, recipient_id=i) for t, i in refs])
    params = [{'t': ref.type, 'i': ref.id, 'ts': ts, 'a': action} for ref, ts, action in page]
    written = connection.execute(_insert_by_ref(), params).rowcount
    if written != len(page):
        lost = len(page) - written
        raise RuntimeError(f'activitystream: {lost} deliveries found no recipient key')


@cache
def _insert_by_ref() -> Insert:
    """One delivery, its recipient given by (type, id) and its key found by the database."""
    keyed = select(
        recipients.c.id,
        bindparam('ts', type_=deliveries.c.timestamp.type),
        bindparam('a', type_=deliveries.c.action_id.type),
    ).where(_is_ref(bindparam('t'), bindparam('i')))
    return insert(deliveries).from_select(['recipient_key', 'timestamp', 'action_id'], keyed)


def _read(connection: Connection, refs: Sequence[Ref]) -> set[Ref]:
    """Which of ``refs`` have a key (for dialects without ON CONFLICT; it may scan)."""
    pair = tuple_(recipients.c.recipient_type, recipients.c.recipient_id)
    stmt = select(recipients.c.recipient_type, recipients.c.recipient_id).where(
        pair.in_(bindparam('refs', expanding=True))
    )
    return {Ref(t, i) for t, i in connection.execute(stmt, {'refs': [tuple(r) for r in refs]})}
