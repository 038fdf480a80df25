"""The storage contract on SQLAlchemy: bulk statements on the host's session.

Everything runs inside the host's transaction, so an action is committed or
rolled back together with the request. Writes are ORM-enabled statements
(``insert(Action)``, not ``insert(actions_table)``): zope.sqlalchemy, which TG
uses to commit, only notices DML sent through the session when it names a
mapped class, and would otherwise roll a request that only wrote actions back.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from functools import cache
from typing import TYPE_CHECKING, Any

import transaction
from sqlalchemy import (
    Integer,
    String,
    and_,
    bindparam,
    cast,
    delete,
    false,
    func,
    insert,
    inspect,
    literal_column,
    or_,
    select,
    true,
    tuple_,
    union_all,
    update,
)
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from .. import keyset
from ..base import REMOVED, ActionRecord, Backend, Cursor, NewAction, Ref, SeenState, StreamFilter
from . import direct, prepared, recipients
from .entities import shared, shown_for, shown_statement, statement_for
from .outbox import SQLAOutbox
from .preferences import SQLAPreferences
from .schema import Action, ActionId, Delivery, Dismissal, ReadMark, Recipient, Subscription
from .schema import SeenState as SeenTable
from .types import Timestamp

if TYPE_CHECKING:
    from sqlalchemy import (
        BindParameter,
        ColumnElement,
        CompoundSelect,
        Connection,
        Result,
        Select,
        Table,
    )

actions = Action.__table__
deliveries = Delivery.__table__
reads = ReadMark.__table__
dismissals = Dismissal.__table__
seen = SeenTable.__table__
subs = Subscription.__table__
registered = Recipient.__table__

# insertmanyvalues page size: one multi-row INSERT for a few thousand recipients
BULK_PAGE = 5000


def _numbers_after(connection: Connection) -> bool:
    """Whether the actions after a batch's first can be numbered here: SQLite, in a transaction.

    SQLAlchemy inserts one statement a row on SQLite when RETURNING must
    follow the rows' order (SQLite does not promise the order of a multi-row
    INSERT's RETURNING). But the first row, just inserted, took SQLite's one
    write lock until the transaction ends, and was numbered one past the
    largest id (SQLite's rule for a rowid not given): the next rows would get
    first + 1, first + 2, ... one at a time, and nobody else can take them.
    Not in autocommit (the driver out of a transaction): another writer could.
    """
    return bool(getattr(connection.connection.dbapi_connection, 'in_transaction', False))


def _insert_numbered(connection: Connection, first: int, rows: list[dict[str, Any]]) -> range:
    """Insert ``rows`` numbered ``first + 1`` on, by one executemany of the driver's text.

    Each value goes through its column's processor for the dialect, as
    SQLAlchemy's own executemany would send it (times as integers on SQLite).
    A number already taken fails on the primary key: never a row under another's id.
    """
    dialect = connection.dialect
    ids = range(first + 1, first + 1 + len(rows))
    compiled = insert(actions).compile(dialect=dialect, column_keys=['id', *rows[0]])
    names = list(compiled.positiontup or ())  # the parameters, in the text's order
    processors = [
        actions.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in names
    ]
    processed = [(n, process) for n, process in enumerate(processors) if process is not None]
    params = []
    for id_, row in zip(ids, rows, strict=True):
        values = [id_ if name == 'id' else row[name] for name in names]
        for n, process in processed:
            values[n] = process(values[n])
        params.append(tuple(values))
    connection.exec_driver_sql(compiled.string, params)
    return ids


def _ref(type_: str | None, id_: Any) -> Ref | None:
    return None if type_ is None else Ref(type_, id_)


def _records(result: Result) -> list[ActionRecord]:
    """ActionRecords of rows of ``select(actions)``: unpacked by position, the fast way."""
    return [
        ActionRecord(id_, Ref(a_type, a_id), verb, _ref(t_type, t_id), _ref(o_type, o_id),
                     description, extra, timestamp, broadcast, public)
        for (id_, a_type, a_id, verb, t_type, t_id, o_type, o_id, description, extra,
             timestamp, broadcast, public) in result.all()
    ]  # fmt: skip


def _is(table: Table, prefix: str, ref: Ref) -> ColumnElement[bool]:
    """Clause: the (type, id) column pair named ``prefix`` equals ``ref``."""
    return and_(table.c[prefix + '_type'] == ref.type, table.c[prefix + '_id'] == ref.id)


def _newest_first(stmt: Select, table: Table, id_col: ColumnElement[Any]) -> Select:
    return stmt.order_by(table.c.timestamp.desc(), id_col.desc())


# The hot reads are built once per shape, with bound parameters, so a call
# costs a cache lookup instead of building and compiling a statement.


def _params(prefix: str, ref: Ref) -> dict[str, str]:
    return {prefix + '_type': ref.type, prefix + '_id': ref.id}


def _matches(table: Table, prefix: str, param: str | None = None) -> ColumnElement[bool]:
    """Clause: the (type, id) pair named ``prefix`` equals the bound ``param_type/_id``.

    ``param`` defaults to ``prefix``.
    """
    param = param or prefix
    return and_(
        table.c[prefix + '_type'] == bindparam(param + '_type'),
        table.c[prefix + '_id'] == bindparam(param + '_id'),
    )


def _key_of(param: str = 'recipient') -> ColumnElement[Any]:
    """The integer key of the bound recipient ``param_type/_id``, found inside the statement.

    A recipient nothing was ever delivered to has no key: NULL, equal to no delivery.
    """
    return select(registered.c.id).where(_matches(registered, 'recipient', param)).scalar_subquery()


def _delivered_to(param: str = 'recipient') -> ColumnElement[bool]:
    """Clause: a delivery to the bound recipient ``param``."""
    return deliveries.c.recipient_key == _key_of(param)


def _delivered_to_ref(ref: Ref) -> ColumnElement[bool]:
    """Clause: a delivery to ``ref``, given as values (for the writes, built per call)."""
    key = select(registered.c.id).where(_is(registered, 'recipient', ref)).scalar_subquery()
    return deliveries.c.recipient_key == key


def _dismissed(param: str, broadcast: ColumnElement[bool]) -> ColumnElement[bool]:
    """Clause: the bound ``param`` dismissed the action (a probe of the dismissals' key)."""
    return (
        select(dismissals.c.action_id)
        .where(
            dismissals.c.recipient_type == bindparam(param + '_type'),
            dismissals.c.recipient_id == bindparam(param + '_id'),
            dismissals.c.broadcast == broadcast,
            dismissals.c.timestamp == actions.c.timestamp,
            dismissals.c.action_id == actions.c.id,
        )
        .exists()
    )


def _broadcasts() -> ColumnElement[bool]:
    """Clause: broadcasts, but not the bound recipient's own (nobody is notified of those)
    nor those it dismissed."""
    mine = _matches(actions, 'actor', 'recipient')
    return and_(actions.c.broadcast == true(), ~mine, ~_dismissed('recipient', true()))


def _cursor_params(before: Cursor | None) -> dict[str, Any]:
    return {} if before is None else {'before_ts': before.timestamp, 'before_id': before.id}


def _bound_int(name: str) -> BindParameter[int]:
    return bindparam(name, type_=Integer)


def _older(table: Table, id_col: ColumnElement[Any]) -> ColumnElement[bool]:
    """Clause: (timestamp, id) comes after the bound cursor in newest-first order."""
    cursor = tuple_(bindparam('before_ts', type_=Timestamp), bindparam('before_id', type_=ActionId))
    return tuple_(table.c.timestamp, id_col) < cursor


# up to this many keys, one statement per count with a parameter per key: an expanding
# IN list is rewritten on every execution, which costs a menu's entities about a third
FIXED_IN = 64


@functools.lru_cache(maxsize=1024)
def _entities_statement(cls: type, count: int | None) -> Select:
    """Host entities of ``cls`` by primary key, built once per class (and count of keys)."""
    pk: Any = inspect(cls).primary_key[0]
    if count is None:
        return select(cls).where(pk.in_(bindparam('k', expanding=True)))
    return select(cls).where(pk.in_([bindparam(f'k{i}', type_=pk.type) for i in range(count)]))


def _entities(cls: type, ids: list[Any]) -> tuple[Select, dict[str, Any]]:
    """(statement, parameters) loading the entities of ``cls`` with keys ``ids``."""
    if len(ids) > FIXED_IN:
        return _entities_statement(cls, None), {'k': ids}
    return _entities_statement(cls, len(ids)), {f'k{i}': key for i, key in enumerate(ids)}


# A first page of at most this many rows (the menu's, a cursor's) names its LIMIT as a
# number, not a parameter: PostgreSQL estimates a LIMIT parameter at a tenth of the rows,
# finds its one plan for every call (the generic plan) dearer than planning each call and
# so plans every call (0.28 ms, where running took 0.07). One statement per such size.
LITERAL_LIMIT = 50


def _inbox_statement(limit: int | None, offset: int, paged: bool) -> Select:
    """The inbox page for ``limit``/``offset``: literal when small and first (see above)."""
    if limit is not None and offset == 0 and limit <= LITERAL_LIMIT:
        return _inbox_statement_of(True, paged, limit)
    return _inbox_statement_of(limit is not None, paged, None)


@functools.lru_cache(maxsize=2 * LITERAL_LIMIT + 4)
def _inbox_statement_of(limited: bool, paged: bool, literal: int | None) -> Select:
    """Deliveries to R and broadcasts, each an index-ordered top-(offset+limit), merged.

    ``literal``: the limit written in the statement, with no offset; else parameters.
    """
    direct = select(deliveries.c.action_id.label('id'), deliveries.c.timestamp.label('ts'))
    direct = direct.where(_delivered_to())
    bcast = select(actions.c.id.label('id'), actions.c.timestamp.label('ts')).where(_broadcasts())
    if paged:
        direct = direct.where(_older(deliveries, deliveries.c.action_id))
        bcast = bcast.where(_older(actions, actions.c.id))
    direct = _newest_first(direct, deliveries, deliveries.c.action_id)
    bcast = _newest_first(bcast, actions, actions.c.id)
    top: Any = _bound_int('top') if literal is None else literal_column(str(int(literal)))
    if limited:
        direct, bcast = direct.limit(top), bcast.limit(top)
    page = union_all(direct.subquery().select(), bcast.subquery().select()).subquery('page')
    stmt = select(actions).join(page, actions.c.id == page.c.id)
    stmt = stmt.order_by(page.c.ts.desc(), page.c.id.desc())
    if literal is not None:
        return stmt.limit(top)
    stmt = stmt.offset(_bound_int('offset'))
    return stmt.limit(_bound_int('limit')) if limited else stmt


@cache
def _inbox_count_statement(since: bool) -> Select:
    """Index range counts: deliveries, every broadcast less the reader's own, less the
    broadcasts dismissed.

    The start time is read through a one-row subquery, so no plan knows its
    value: PostgreSQL, which estimates a bare parameter's range at a third of
    the rows in its one plan for every call (the generic plan) and its value's
    own range in a per-call plan, then finds the generic plan dearer and plans
    every call (0.31 ms a count, where the generic plan takes 0.20 at the seed
    size). Each count is the same index range scan either way. The reader's own
    broadcasts name the reader the same way, or a per-call plan would know that
    most readers broadcast nothing.

    The broadcasts are counted from the partial index alone (it holds every
    column the count names), and the reader's own apart through the actor
    index: testing the actor's two text columns on every broadcast in the range
    took SQLite four times as long as counting them (0.061 against 0.013 ms for
    776 broadcasts at the seed size), and PostgreSQL 1.86x the strict floor's
    time for readers who never opened the menu (10,000 broadcasts), 1.3x with
    the subtraction (sixth run of 2026-12-06).
    """
    after = select(cast(bindparam('after', type_=Timestamp), Timestamp)).scalar_subquery()

    def newer(stmt: Select, table: Table) -> Select:
        return stmt.where(table.c.timestamp > after) if since else stmt

    direct = newer(select(func.count()).select_from(deliveries).where(_delivered_to()), deliveries)
    gone = select(func.count()).select_from(dismissals).where(_matches(dismissals, 'recipient'))
    gone = newer(gone.where(dismissals.c.broadcast == true()), dismissals)
    every = select(func.count()).select_from(actions).where(actions.c.broadcast == true())
    own = every.where(  # the reader through subqueries too: no plan knows who broadcasts much
        actions.c.actor_type == select(bindparam('recipient_type')).scalar_subquery(),
        actions.c.actor_id == select(bindparam('recipient_id')).scalar_subquery(),
    )
    broadcasts = newer(every, actions).scalar_subquery() - newer(own, actions).scalar_subquery()
    return select(direct.scalar_subquery() + broadcasts - gone.scalar_subquery())


def _ids() -> BindParameter[Any]:
    return bindparam('ids', expanding=True)


LOAD_ACTIONS = select(actions).where(actions.c.id.in_(_ids()))
RECIPIENTS_OF = union_all(
    select(deliveries.c.action_id, registered.c.recipient_type, registered.c.recipient_id)
    .join(registered, registered.c.id == deliveries.c.recipient_key)
    .where(deliveries.c.action_id.in_(_ids())),
    # a recipient who dismissed the action was one of its recipients all the same
    select(dismissals.c.action_id, dismissals.c.recipient_type, dismissals.c.recipient_id).where(
        dismissals.c.action_id.in_(_ids()), dismissals.c.broadcast == false()
    ),
)
SEEN_STATE = select(seen.c.last_seen, seen.c.read_until).where(_matches(seen, 'recipient'))
READ_MARKS = select(reads.c.action_id).where(
    _matches(reads, 'recipient'), reads.c.action_id.in_(_ids())
)
DELIVERED = select(deliveries.c.action_id, deliveries.c.timestamp).where(
    _delivered_to(), deliveries.c.action_id.in_(_ids())
)
BROADCASTS = select(actions.c.id, actions.c.timestamp).where(
    _broadcasts(), actions.c.id.in_(_ids())
)
VISIBLE = union_all(DELIVERED, BROADCASTS)
_newest_delivered = (
    _newest_first(
        select(deliveries.c.action_id.label('id')).where(_delivered_to()),
        deliveries,
        deliveries.c.action_id,
    )
    .limit(_bound_int('limit'))
    .subquery('newest')
)
DELIVERED_NEWEST = (
    select(actions)
    .join(_newest_delivered, actions.c.id == _newest_delivered.c.id)
    .order_by(actions.c.timestamp.desc(), actions.c.id.desc())
)
NEWEST_VISIBLE = (
    select(func.max(deliveries.c.timestamp)).where(_delivered_to()),
    select(func.max(actions.c.timestamp)).where(_broadcasts()),
)


@cache
def _read_mark_count_statement(since: bool) -> Select:
    stmt = select(func.count()).select_from(reads).where(_matches(reads, 'recipient'))
    return stmt.where(reads.c.timestamp > bindparam('after')) if since else stmt


def _visible_to_viewer() -> ColumnElement[bool]:
    """Clause: public, or done by the bound viewer, or delivered to it (primary-key probes)."""
    delivered = select(deliveries.c.action_id).where(
        _delivered_to('viewer'),
        deliveries.c.timestamp == actions.c.timestamp,
        deliveries.c.action_id == actions.c.id,
    )
    return or_(
        actions.c.public == true(),
        _matches(actions, 'actor', 'viewer'),
        delivered.exists(),
        _dismissed('viewer', false()),  # dismissed from its inbox, still its to see
    )


VISIBILITY = {
    'everything': (),
    'public': (actions.c.public == true(),),
    'viewer': (_visible_to_viewer(),),
}


def _stream_where(
    present: tuple[str, ...], verb: bool, visibility: str
) -> list[ColumnElement[bool]]:
    clauses = [_matches(actions, name) for name in present] + list(VISIBILITY[visibility])
    return clauses + [actions.c.verb == bindparam('verb')] if verb else clauses


@cache
def _stream_statement(
    present: tuple[str, ...], verb: bool, visibility: str, limited: bool, paged: bool
) -> Select:
    stmt = select(actions).where(*_stream_where(present, verb, visibility))
    if paged:
        stmt = stmt.where(_older(actions, actions.c.id))
    stmt = _newest_first(stmt, actions, actions.c.id).offset(_bound_int('offset'))
    return stmt.limit(_bound_int('limit')) if limited else stmt


@cache
def _stream_count_statement(present: tuple[str, ...], verb: bool, visibility: str) -> Select:
    where = _stream_where(present, verb, visibility)
    return select(func.count()).select_from(actions).where(*where)


NOBODY = Ref('', '')  # no class is named ''


def _newest_public_of(actor_type: ColumnElement[Any], actor_id: ColumnElement[Any]) -> Select:
    """The public actions of one actor, newest first, at most the bound ``limit``."""
    return (
        select(actions)
        .where(actions.c.actor_type == actor_type, actions.c.actor_id == actor_id)
        .where(*VISIBILITY['public'])
        .order_by(actions.c.timestamp.desc(), actions.c.id.desc())
        .limit(_bound_int('limit'))
    )


def _newest_of_merged(merged: Any) -> Select:
    return select(*merged.c).order_by(merged.c.timestamp.desc(), merged.c.id.desc())


@cache
def _by_actors_statement(count: int) -> Select:
    """The newest public actions of ``count`` actors: one index range each, merged.

    A UNION ALL of one subquery per actor (SQLite takes ORDER BY and LIMIT
    in a compound's parts only as subqueries).
    """
    each = [
        _newest_public_of(bindparam(f'type{n}'), bindparam(f'id{n}')).subquery()
        for n in range(count)
    ]
    merged = union_all(*(select(*part.c) for part in each)).subquery()
    return _newest_of_merged(merged).limit(_bound_int('limit'))


@cache
def _by_actors_lateral() -> Select:
    """PostgreSQL: the same as one small statement whatever the number of actors.

    The actors come as two arrays, each read through the actor index by a
    LATERAL subquery: planned in well under a millisecond, where a UNION ALL
    of a hundred parts takes tens of milliseconds to plan on every call.
    """
    from sqlalchemy.dialects.postgresql import ARRAY

    pairs = func.unnest(
        bindparam('types', type_=ARRAY(String)), bindparam('ids', type_=ARRAY(String))
    )
    wanted = pairs.table_valued('actor_type', 'actor_id').render_derived(name='wanted')
    each = _newest_public_of(wanted.c.actor_type, wanted.c.actor_id).lateral('each')
    stmt = select(*each.c).select_from(wanted).join(each, true())
    return stmt.order_by(each.c.timestamp.desc(), each.c.id.desc()).limit(_bound_int('limit'))


def _joins_transaction(listener: Any) -> bool:
    """Whether an ORM event listener is zope.sqlalchemy's, which TG sites all have."""
    return getattr(listener, '__module__', '').startswith('zope.sqlalchemy.')


class SQLAStorage(Backend, SQLAOutbox, SQLAPreferences):
    name = 'sqlalchemy'
    prepare_reads = True  # the plug option prepared_statements (see .prepared)

    def _read(self, stmt: Select | CompoundSelect, params: dict[str, Any]) -> Any:
        """Run a prebuilt SELECT on the session's connection: no ORM layer on the hot path."""
        return self.session.connection().execute(stmt, params)

    def _hot_read(self, stmt: prepared.Statement, params: dict[str, Any]) -> Any:
        """``_read`` for the inbox page and its counts: prepared once on PostgreSQL
        (psycopg2), handed to sqlite3 directly on SQLite (see ``.direct``)."""
        connection = self.session.connection()
        if connection.dialect.name == 'sqlite':
            return direct.execute(connection, stmt, params)
        if not self.prepare_reads:
            return connection.execute(stmt, params)
        return prepared.execute(connection, stmt, params)

    def ensure_schema(self) -> None:
        """Tables are created by the host (setup-app / create_all)."""

    def insert_actions(self, new_actions: Sequence[NewAction]) -> list:
        rows = [
            dict(
                actor_type=a.actor.type,
                actor_id=a.actor.id,
                verb=a.verb,
                target_type=a.target and a.target.type,
                target_id=a.target and a.target.id,
                action_obj_type=a.action_obj and a.action_obj.type,
                action_obj_id=a.action_obj and a.action_obj.id,
                description=a.description,
                extra=a.extra,
                timestamp=a.timestamp,
                broadcast=a.recipients is None,
                public=a.public,
            )
            for a in new_actions
        ]
        opts = {'insertmanyvalues_page_size': BULK_PAGE}
        # render_nulls: every row names every column, so the ORM sends one multi-row
        # INSERT per page; it otherwise splits the rows wherever their None columns differ
        returning = {**opts, 'render_nulls': True}
        stmt: Any = insert(Action).returning(Action.id, sort_by_parameter_order=True)
        if len(rows) > 1 and self.session.get_bind().dialect.name == 'sqlite':
            # SQLite: one row by the ORM (zope.sqlalchemy sees the write), the rest
            # numbered after it in one executemany (see _numbers_after)
            ids = list(self.session.execute(stmt, rows[:1], execution_options=returning).scalars())
            connection = self.session.connection()
            if _numbers_after(connection):
                ids += _insert_numbered(connection, ids[0], rows[1:])
            else:
                ids += self.session.execute(stmt, rows[1:], execution_options=returning).scalars()
        else:
            ids = list(self.session.execute(stmt, rows, execution_options=returning).scalars())
        delivered = [
            (r, a.timestamp, id_)
            for id_, a in zip(ids, new_actions, strict=True)
            for r in a.recipients or ()
        ]
        if delivered:  # Core (or COPY) on the same connection: the ORM insert above
            # already told zope.sqlalchemy this transaction writes
            recipients.deliver(self.session.connection(), delivered, self._insert_or(Recipient))
        return ids

    def inbox(
        self, recipient: Ref, limit: int | None, offset: int, before: Cursor | None = None
    ) -> list[ActionRecord]:
        params = dict(_params('recipient', recipient), offset=offset, **_cursor_params(before))
        if limit is not None:
            params.update(limit=limit, top=offset + limit)
        stmt = _inbox_statement(limit, offset, before is not None)
        return _records(self._hot_read(stmt, params))

    def delivered(self, recipient: Ref, limit: int) -> list[ActionRecord]:
        params = dict(_params('recipient', recipient), limit=limit)
        return _records(self._read(DELIVERED_NEWEST, params))

    def inbox_count(self, recipient: Ref, after: datetime | None = None) -> int:
        params = dict(_params('recipient', recipient), after=after)
        return self._hot_read(_inbox_count_statement(after is not None), params).scalar_one()

    def _stream_params(
        self, where: StreamFilter
    ) -> tuple[tuple[tuple[str, ...], bool, str], dict[str, Any]]:
        """(the statement's shape, its parameters) for a stream filter."""
        present = tuple(n for n in ('actor', 'target', 'action_obj') if getattr(where, n))
        params = {}
        for name in present:
            params.update(_params(name, getattr(where, name)))
        if where.verb is not None:
            params['verb'] = where.verb
        visibility = 'everything' if where.everything else 'public'
        if visibility == 'public' and where.viewer is not None:
            visibility = 'viewer'
            params.update(_params('viewer', where.viewer))
        return (present, where.verb is not None, visibility), params

    def stream(
        self, where: StreamFilter, limit: int | None, offset: int, before: Cursor | None = None
    ) -> list[ActionRecord]:
        shape, params = self._stream_params(where)
        params.update(offset=offset, limit=limit, **_cursor_params(before))
        stmt = _stream_statement(*shape, limit is not None, before is not None)
        return _records(self._read(stmt, params))

    def newest_public_by_actors(self, actors: Sequence[Ref], limit: int) -> list[ActionRecord]:
        if not actors:
            return []
        if self.session.get_bind().dialect.name == 'postgresql':
            params = dict(limit=limit, types=[a.type for a in actors], ids=[a.id for a in actors])
            return _records(self._read(_by_actors_lateral(), params))
        # a few statement sizes (powers of two), each built once: the rest is padding
        # with an actor no action has
        size = max(8, 1 << (len(actors) - 1).bit_length())
        params = {'limit': limit}
        for n in range(size):
            actor = actors[n] if n < len(actors) else NOBODY
            params.update({f'type{n}': actor.type, f'id{n}': actor.id})
        return _records(self._read(_by_actors_statement(size), params))

    def stream_count(self, where: StreamFilter) -> int:
        shape, params = self._stream_params(where)
        return self._read(_stream_count_statement(*shape), params).scalar_one()

    def load_actions(self, action_ids: Iterable) -> list[ActionRecord]:
        return _records(self._read(LOAD_ACTIONS, {'ids': list(action_ids)}))

    def recipients_of(self, action_ids: Iterable) -> dict[Any, list[Ref]]:
        found: dict[Any, list[Ref]] = {}
        for row in self._read(RECIPIENTS_OF, {'ids': list(action_ids)}):
            found.setdefault(row.action_id, []).append(Ref(row.recipient_type, row.recipient_id))
        return found

    def visible(self, recipient: Ref, action_ids: Iterable) -> dict[Any, datetime]:
        params = dict(_params('recipient', recipient), ids=list(action_ids))
        return {row[0]: row[1] for row in self._read(VISIBLE, params)}

    def seen_state(self, recipient: Ref) -> SeenState:
        row = self._hot_read(SEEN_STATE, _params('recipient', recipient)).first()
        return SeenState() if row is None else SeenState(*row)  # (last_seen, read_until)

    def _compare_and_set(
        self,
        model: type,
        where: ColumnElement[bool],
        column: Any,
        until: datetime,
        expected: Any,
    ) -> bool:
        """UPDATE ``column`` to ``until`` where it still is ``expected`` and is older: one row?"""
        still = column.is_(None) if expected is None else column == expected
        stmt = update(model).where(where, still, or_(column.is_(None), column < until))
        stmt = stmt.values({column: until})
        options = {'synchronize_session': False}
        return self.session.execute(stmt, execution_options=options).rowcount == 1

    def advance_seen_state(
        self, recipient: Ref, field: str, until: datetime, expected: datetime | None
    ) -> bool:
        where = _is(seen, 'recipient', recipient)
        if self._compare_and_set(SeenTable, where, seen.c[field], until, expected):
            return True
        if expected is not None:
            return False
        # no row yet, or one whose value was null: a new row, unless one came meanwhile
        row = dict(recipient_type=recipient.type, recipient_id=recipient.id, **{field: until})
        upsert = self._insert_or(SeenTable)
        if upsert is not None:
            return self._run(upsert.values(**row).on_conflict_do_nothing()).rowcount == 1
        try:
            with self.session.begin_nested():
                self._run(insert(SeenTable).values(**row))
        except IntegrityError:
            return False
        return True

    def _entity_column(self, entity: Any, attribute: str) -> tuple[type, Any, ColumnElement[bool]]:
        """(mapped class, its table's column behind ``attribute``, the key clause of ``entity``)."""
        mapper = inspect(type(entity))
        column = mapper.get_property(attribute).columns[0]
        key = mapper.primary_key[0] == mapper.primary_key_from_instance(entity)[0]
        return mapper.class_, column, key

    def entity_attribute(self, entity: Any, attribute: str) -> Any:
        _, column, key = self._entity_column(entity, attribute)
        return self._run(select(column).where(key)).scalar()

    def advance_entity_attribute(
        self, entity: Any, attribute: str, until: datetime, expected: Any
    ) -> bool:
        cls, column, key = self._entity_column(entity, attribute)
        if getattr(column.type, 'timezone', False):
            until = until.replace(tzinfo=timezone.utc)  # what the column holds: an aware time
        moved = self._compare_and_set(cls, key, column, until, expected)
        if moved:
            set_committed_value(entity, attribute, until)
        return moved

    def read_marks(self, recipient: Ref, action_ids: Iterable) -> set:
        params = dict(_params('recipient', recipient), ids=list(action_ids))
        return set(self._read(READ_MARKS, params).scalars())

    def add_read_marks(self, recipient: Ref, marks: dict[Any, datetime]) -> set:
        if not marks:
            return set()
        key = dict(recipient_type=recipient.type, recipient_id=recipient.id)
        rows = [dict(key, action_id=id_, timestamp=ts) for id_, ts in marks.items()]
        upsert = self._insert_or(ReadMark)
        if upsert is None:  # no ON CONFLICT here: the transaction fails on a duplicate
            self._run(insert(ReadMark), rows)
            return set(marks)
        stmt = upsert.on_conflict_do_nothing().returning(ReadMark.action_id)
        return set(self._run(stmt, rows).scalars())

    def count_read_marks(self, recipient: Ref, after: datetime | None) -> int:
        stmt = _read_mark_count_statement(after is not None)
        params = dict(_params('recipient', recipient), after=after)
        return self._hot_read(stmt, params).scalar_one()

    def drop_read_marks(self, recipient: Ref, until: datetime) -> None:
        old = reads.c.timestamp <= until
        stmt = delete(ReadMark).where(_is(reads, 'recipient', recipient), old)
        self.session.execute(stmt, execution_options={'synchronize_session': False})

    def delete_read_marks(self, recipient: Ref, action_ids: Iterable) -> int:
        ids = list(action_ids)
        if not ids:
            return 0
        marks = and_(_is(reads, 'recipient', recipient), reads.c.action_id.in_(ids))
        return self._write(delete(ReadMark).where(marks))

    def rewind_read_until(self, recipient: Ref, until: datetime | None, expected: datetime) -> bool:
        still = and_(_is(seen, 'recipient', recipient), seen.c.read_until == expected)
        return self._write(update(SeenTable).where(still).values(read_until=until)) == 1

    def dismiss(self, recipient: Ref, action_ids: Iterable) -> set:
        params = dict(_params('recipient', recipient), ids=list(action_ids))
        if not params['ids']:
            return set()
        key = dict(recipient_type=recipient.type, recipient_id=recipient.id)
        rows = [
            dict(key, broadcast=broadcast, timestamp=ts, action_id=id_)
            for stmt, broadcast in ((DELIVERED, False), (BROADCASTS, True))
            for id_, ts in self._read(stmt, params)
        ]
        if not rows:
            return set()
        upsert = self._insert_or(Dismissal)
        if upsert is None:  # no ON CONFLICT here: the transaction fails on a duplicate
            self._run(insert(Dismissal), rows)
            taken = {row['action_id'] for row in rows}
        else:
            stmt = upsert.on_conflict_do_nothing().returning(Dismissal.action_id)
            taken = set(self._run(stmt, rows).scalars())
        moved = [row['action_id'] for row in rows if not row['broadcast']]
        if moved:
            gone = and_(_delivered_to_ref(recipient), deliveries.c.action_id.in_(moved))
            self._write(delete(Delivery).where(gone))
        return taken

    def oldest_actions(self, before: datetime, after: Cursor | None, limit: int) -> list:
        stmt = select(actions).where(actions.c.timestamp < before)
        if after is not None:
            # a plain tuple takes the columns' types (tuple_ of values would type them itself)
            position = tuple_(actions.c.timestamp, actions.c.id)
            stmt = stmt.where(position > (after.timestamp, after.id))
        stmt = stmt.order_by(actions.c.timestamp, actions.c.id).limit(limit)
        return _records(self._run(stmt))

    def _of_actions(self, ids: list[Any]) -> dict[str, tuple[Table, ColumnElement[bool]]]:
        """(table, its clause on ``ids``) of each kind of REMOVED, actions last."""
        return {
            'read_marks': (reads, reads.c.action_id.in_(ids)),
            'dismissals': (dismissals, dismissals.c.action_id.in_(ids)),
            'deliveries': (deliveries, deliveries.c.action_id.in_(ids)),
            'actions': (actions, actions.c.id.in_(ids)),
        }

    def hanging(self, action_ids: Sequence) -> dict[str, int]:
        found = self._of_actions(list(action_ids))
        count = lambda table, where: select(func.count()).select_from(table).where(where)  # noqa: E731
        return {kind: self._run(count(*found[kind])).scalar_one() for kind in REMOVED}

    def delete_actions(self, action_ids: Sequence) -> dict[str, int]:
        found = self._of_actions(list(action_ids))
        models = {reads: ReadMark, dismissals: Dismissal, deliveries: Delivery, actions: Action}
        return {
            kind: self._write(delete(models[table]).where(where))
            for kind, (table, where) in found.items()
        }

    def delete_recipient(self, recipient: Ref) -> dict[str, int]:
        # its key stays in activitystream_recipients: a bare reference, and the
        # key that a running fan-out may have just read (see .recipients)
        kinds = (
            ('deliveries', Delivery, _delivered_to_ref(recipient)),
            ('dismissals', Dismissal, _is(dismissals, 'recipient', recipient)),
            ('read_marks', ReadMark, _is(reads, 'recipient', recipient)),
            ('seen', SeenTable, _is(seen, 'recipient', recipient)),
        )
        return {kind: self._write(delete(model).where(where)) for kind, model, where in kinds}

    def newest_visible(self, recipient: Ref) -> datetime | None:
        params = _params('recipient', recipient)
        found = [self._read(stmt, params).scalar() for stmt in NEWEST_VISIBLE]
        found = [ts for ts in found if ts is not None]
        return max(found) if found else None

    def action_id(self, value: Any) -> Any:
        if isinstance(value, str) and value.isascii() and value.isdigit():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 2**63:
            raise ValueError(f'not an action id: {value!r}')
        return value

    def load_entities(self, cls: type, ids: list) -> list:
        ids = list(ids)
        return list(self._run(*_entities(cls, ids)).scalars()) if ids else []

    def load_entities_of(self, wanted: Mapping[type, list]) -> dict[type, list]:
        wanted = {cls: list(ids) for cls, ids in wanted.items() if ids}
        together = {} if self._rewrites_queries() else shared(wanted)
        found = super().load_entities_of({c: ids for c, ids in wanted.items() if c not in together})
        if together:
            connection = self.session.connection()
            classes, stmt, params = statement_for(together, connection, self.prepare_reads)
            try:
                rows = self._run(stmt, params).all()  # an entity a row, None for the others
            except DBAPIError as exc:
                prepared.check_lost(connection, exc)
                raise
            for n, cls in enumerate(classes):
                found[cls] = [row[n] for row in rows if row[n] is not None]
        return found

    def read_shown(
        self, wanted: Mapping[type, tuple[tuple[str, ...], list]]
    ) -> dict[type, list[tuple]] | None:
        """One statement of the listed columns, when every class would load in the shared
        statement and the host's session does not rewrite queries (its criteria apply)."""
        asked = {cls: (names, list(ids)) for cls, (names, ids) in wanted.items() if ids}
        if not asked:
            return {cls: [] for cls in wanted}
        together = shared({cls: ids for cls, (_, ids) in asked.items()})
        if self._rewrites_queries() or len(together) < len(asked):
            return None
        listed, params = shown_for(asked)
        stmt = shown_statement(listed, self.session.connection().dialect)
        rows = self._hot_read(stmt, params).all()
        found: dict[type, list[tuple]] = {cls: [] for cls in wanted}
        start = 0
        for cls, _, names in listed:
            end = start + len(names)
            found[cls] = [row[start:end] for row in rows if row[start] is not None]
            start = end
        return found

    def held_entities(self, cls: type, keys: Iterable, names: Sequence[str]) -> dict[Any, Any]:
        identity_map = self.session.identity_map
        if not identity_map:
            return {}
        held = ((key, identity_map.get((cls, (key,), None))) for key in keys)
        return {
            key: entity
            for key, entity in held
            if entity is not None and inspect(entity).unloaded.isdisjoint(names)
        }

    def _rewrites_queries(self) -> bool:
        """Whether the host's session may rewrite ORM queries (``do_orm_execute``: loader
        criteria for tenants or soft deletes, say), which the shared entity statement's text
        cannot take. zope.sqlalchemy's listener only joins the transaction."""
        session = self.session.registry() if hasattr(self.session, 'registry') else self.session
        listeners = session.dispatch.do_orm_execute
        return any(not _joins_transaction(listener) for listener in listeners)

    def forget(self) -> None:
        import transaction

        transaction.abort()
        self.session.remove()

    # -- subscriptions -----------------------------------------------------

    def subscribe(self, subscriber: Ref, obj: Ref, when: datetime) -> bool:
        row = dict(_params('subscriber', subscriber), **_params('object', obj), created=when)
        upsert = self._insert_or(Subscription)
        if upsert is not None:
            return self._run(upsert.values(**row).on_conflict_do_nothing()).rowcount == 1
        try:
            with self.session.begin_nested():
                self._run(insert(Subscription).values(**row))
        except IntegrityError:
            return False
        return True

    def unsubscribe(self, subscriber: Ref, obj: Ref) -> bool:
        stmt = delete(Subscription).where(
            _is(subs, 'subscriber', subscriber), _is(subs, 'object', obj)
        )
        options = {'synchronize_session': False}
        return self.session.execute(stmt, execution_options=options).rowcount == 1

    def delete_subscriptions(self, ref: Ref) -> int:
        return sum(
            self._write(delete(Subscription).where(_is(subs, side, ref)))
            for side in ('subscriber', 'object')
        )

    def subscribed(self, subscriber: Ref, objs: Sequence[Ref]) -> set[Ref]:
        pairs = [(o.type, o.id) for o in objs]
        if not pairs:
            return set()
        stmt = select(subs.c.object_type, subs.c.object_id).where(
            _is(subs, 'subscriber', subscriber),
            tuple_(subs.c.object_type, subs.c.object_id).in_(pairs),
        )
        return {Ref(*row) for row in self._run(stmt)}

    def _other_side(
        self, side: str, ref: Ref, other: str, limit: int | None, offset: int
    ) -> list[Ref]:
        """The ``other`` side of the subscriptions whose ``side`` is ``ref``, newest first."""
        columns = subs.c[other + '_type'], subs.c[other + '_id']
        stmt = select(*columns).where(_is(subs, side, ref))
        stmt = stmt.order_by(subs.c.created.desc(), *(c.desc() for c in columns))
        return [Ref(*row) for row in self._run(stmt.offset(offset).limit(limit))]

    def _count_side(self, side: str, ref: Ref) -> int:
        stmt = select(func.count()).select_from(subs)
        return self._run(stmt.where(_is(subs, side, ref))).scalar_one()

    def subscribers(self, obj: Ref, limit: int | None, offset: int) -> list[Ref]:
        return self._other_side('object', obj, 'subscriber', limit, offset)

    def subscriber_page(self, obj: Ref, after: tuple | None, limit: int) -> list:
        """Keyset: a range of the object index, read backwards from ``after``."""
        columns = subs.c.created, subs.c.subscriber_type, subs.c.subscriber_id
        stmt = select(*columns).where(_is(subs, 'object', obj))
        if after is not None:
            stmt = stmt.where(tuple_(*columns) < keyset.parse(after))
        stmt = stmt.order_by(*(c.desc() for c in columns)).limit(limit)
        found = [(created, Ref(type_, id_)) for created, type_, id_ in self._run(stmt)]
        return [(ref, keyset.position(created, ref)) for created, ref in found]

    def subscriber_count(self, obj: Ref) -> int:
        return self._count_side('object', obj)

    def subscriptions(self, subscriber: Ref, limit: int | None, offset: int) -> list[Ref]:
        return self._other_side('subscriber', subscriber, 'object', limit, offset)

    def subscription_count(self, subscriber: Ref) -> int:
        return self._count_side('subscriber', subscriber)

    def after_commit(self, callback: Callable[[], None]) -> None:
        """A zope ``transaction`` after-commit hook, once per transaction and callback."""
        current = transaction.get()
        if any(
            getattr(hook, 'callback', None) is callback
            for hook, _, _ in current.getAfterCommitHooks()
        ):
            return  # say, a runner's kick: one after the commit is enough

        def run(committed: bool) -> None:
            if committed:
                callback()

        run.callback = callback  # type: ignore[attr-defined]  # found again by the check above
        current.addAfterCommitHook(run)

    def commit(self) -> None:
        transaction.commit()

    @contextmanager
    def unit_of_work(self) -> Iterator[SQLAStorage]:
        """A session of its own: committed on success, rolled back on error, closed always."""
        with Session(self.session.get_bind(), expire_on_commit=False) as own, own.begin():
            storage = SQLAStorage(own)
            storage.prepare_reads = self.prepare_reads
            yield storage
