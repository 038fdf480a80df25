"""The storage contract on Ming/MongoDB (also ``mim://``, Ming's in-memory MongoDB).

Queries go straight to the collections behind the host's Ming session: our
documents need no object mapping, and bulk writes stay one ``insert_many``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext, suppress
from datetime import datetime
from itertools import islice
from typing import TYPE_CHECKING, Any

from bson import ObjectId
from ming.odm import mapper, state
from pymongo.errors import DuplicateKeyError

from .. import keyset
from ..base import REMOVED, ActionRecord, Backend, Cursor, NewAction, Ref, SeenState, StreamFilter
from .migrations import ensure_indexes
from .outbox import MingOutbox
from .preferences import MingPreferences
from .schema import (
    ACTIONS,
    BROADCAST,
    DELIVERIES,
    DISMISSALS,
    INBOX_ORDER,
    NEWEST_FIRST,
    NEWEST_OF_SIDE,
    READS,
    SEEN,
    SUBSCRIPTIONS,
)
from .session import optional_ref_in, ref_in

if TYPE_CHECKING:
    from pymongo.collection import Collection

Doc = dict[str, Any]  # a MongoDB document, spec or projection
Keep = Callable[[list[Doc]], list[Doc]]  # what a page keeps of a batch of documents
Order = list[tuple[str, int]]


def _record(doc: Doc) -> ActionRecord:
    return ActionRecord(
        id=doc['_id'],
        actor=ref_in(doc, 'actor'),
        verb=doc['verb'],
        target=optional_ref_in(doc, 'target'),
        action_obj=optional_ref_in(doc, 'action_obj'),
        description=doc.get('description'),
        extra=doc.get('extra'),
        timestamp=doc['timestamp'],
        broadcast=doc.get('broadcast', False),
        public=doc.get('public', True),
    )


def _is(prefix: str, ref: Ref) -> Doc:
    return {prefix + '_type': ref.type, prefix + '_id': ref.id}


def _not_by(prefix: str, ref: Ref) -> Doc:
    """Spec: the (type, id) pair named ``prefix`` is not ``ref`` (mim has no working ``$nor``)."""
    return {'$or': [{prefix + '_type': {'$ne': ref.type}}, {prefix + '_id': {'$ne': ref.id}}]}


def _compare_and_set(
    collection: Collection[Doc], where: Doc, field: str, until: datetime, expected: Any
) -> bool:
    """Set ``field`` to ``until`` where it still is ``expected`` and is older: one document?"""
    older = {'$or': [{field: None}, {field: {'$lt': until}}]}
    where = dict(where, **{field: expected}, **older)
    return collection.update_one(where, {'$set': {field: until}}).modified_count == 1


def _newer(spec: Doc, after: datetime | None) -> Doc:
    if after is not None:
        spec['timestamp'] = {'$gt': after}
    return spec


PUBLIC = {'public': {'$ne': False}}  # documents written before visibility existed are public
TARGETED = {'recipient_type': {'$ne': None}}  # delivery documents, not a broadcast's entry
OLDEST_FIRST = [('timestamp', 1), ('_id', 1)]
CHECK_BATCH = 100


def _filtered(docs: Iterable[Doc], keep: Keep) -> Iterator[Doc]:
    """``docs`` in order, those ``keep(batch)`` keeps, asked a batch at a time."""
    batch = []
    for doc in docs:
        batch.append(doc)
        if len(batch) == CHECK_BATCH:
            yield from keep(batch)
            batch = []
    if batch:
        yield from keep(batch)


def _after(
    collection: Collection[Doc],
    spec: Doc,
    order: Order,
    id_field: str,
    before: Cursor,
    projection: Doc | None,
    wanted: int | None,
) -> Iterator[Doc]:
    """What comes after the cursor ``before`` (timestamp, id), newest first, read lazily.

    Two index ranges: the entries of its millisecond with a smaller id, then
    the older ones (mim, Ming's in-memory MongoDB, has no ``$or`` inside an
    ``$and`` to say it in one). Each is read only as far as the page needs.
    """
    same = dict(spec, timestamp=before.timestamp, **{id_field: {'$lt': before.id}})
    older = dict(spec, timestamp={'$lt': before.timestamp})
    for part in (same, older):
        cursor = collection.find(part, projection).sort(order)
        yield from cursor if wanted is None else cursor.limit(wanted)


def _page(
    collection: Collection[Doc],
    spec: Doc,
    order: Order,
    id_field: str,
    limit: int | None,
    offset: int,
    before: Cursor | None,
    projection: Doc | None = None,
    keep: Keep | None = None,
) -> list[Doc]:
    """A newest-first page of ``collection``, after the cursor ``before`` when given.

    ``keep`` filters what the query cannot (see :meth:`MingStorage.stream`);
    the page is then filled past what it drops, a batch at a time.
    """
    wanted = None if limit is None or keep is not None else offset + limit
    if before is None:
        cursor = collection.find(spec, projection).sort(order)
        if keep is None:
            cursor = cursor.skip(offset)
            return list(cursor if limit is None else cursor.limit(limit))
        found = iter(cursor)
    else:
        found = _after(collection, spec, order, id_field, before, projection, wanted)
    if keep is not None:
        found = _filtered(found, keep)
    return list(islice(found, offset, None if limit is None else offset + limit))


class MingStorage(Backend, MingOutbox, MingPreferences):
    name = 'ming'

    def ensure_schema(self) -> None:
        ensure_indexes(self.session.impl.db)

    def insert_actions(self, new_actions: Sequence[NewAction]) -> list:
        docs, delivered = [], []
        for a in new_actions:
            doc = dict(_id=ObjectId(), **_is('actor', a.actor), verb=a.verb)
            for name in ('target', 'action_obj'):
                ref = getattr(a, name)
                doc.update(_is(name, ref) if ref else {name + '_type': None, name + '_id': None})
            doc.update(
                description=a.description,
                extra=a.extra,
                timestamp=a.timestamp,
                broadcast=a.recipients is None,
                public=a.public,
            )
            docs.append(doc)
            entry = dict(action_id=doc['_id'], timestamp=a.timestamp, action=doc)
            if a.recipients is None:
                delivered.append(dict(entry, **BROADCAST))
            delivered += [dict(entry, **_is('recipient', r)) for r in a.recipients or ()]
        ids = [doc['_id'] for doc in docs]
        self._c(ACTIONS).insert_many(docs)
        try:
            self._c(DELIVERIES).insert_many(delivered)
        except Exception:
            # no transactions here: take back what was written
            self._c(DELIVERIES).delete_many({'action_id': {'$in': ids}})
            self._c(ACTIONS).delete_many({'_id': {'$in': ids}})
            raise
        return ids

    def _inbox_spec(self, recipient: Ref, after: datetime | None = None) -> Doc:
        broadcasts = dict(BROADCAST, **_not_by('action.actor', recipient))
        return _newer({'$or': [_is('recipient', recipient), broadcasts]}, after)

    def _dismissed_broadcasts(self, recipient: Ref, ids: Iterable[Any]) -> set[Any]:
        """Of broadcasts ``ids``, those ``recipient`` dismissed (one query)."""
        spec = dict(_is('recipient', recipient), broadcast=True, action_id={'$in': list(ids)})
        return {d['action_id'] for d in self._c(DISMISSALS).find(spec, {'action_id': 1})}

    def _undismissed(self, recipient: Ref) -> Keep | None:
        """A ``keep`` for :func:`_page`, or None when ``recipient`` dismissed no broadcast.

        The inbox entries of broadcasts are shared by every reader: those this
        reader dismissed are skipped a batch at a time, and the page filled past them.
        """
        spec = dict(_is('recipient', recipient), broadcast=True)
        if self._c(DISMISSALS).find_one(spec, {'_id': 1}) is None:
            return None

        def keep(batch: list[Doc]) -> list[Doc]:
            shared = [d['action_id'] for d in batch if d.get('recipient_type') is None]
            gone = self._dismissed_broadcasts(recipient, shared) if shared else set()
            return [d for d in batch if d['action_id'] not in gone]

        return keep

    def inbox(
        self, recipient: Ref, limit: int | None, offset: int, before: Cursor | None = None
    ) -> list[ActionRecord]:
        entries = _page(
            self._c(DELIVERIES),
            self._inbox_spec(recipient),
            INBOX_ORDER,
            'action_id',
            limit,
            offset,
            before,
            {'action': 1, 'action_id': 1, 'timestamp': 1, 'recipient_type': 1},
            keep=self._undismissed(recipient),
        )
        return [_record(entry['action']) for entry in entries]

    def delivered(self, recipient: Ref, limit: int) -> list[ActionRecord]:
        found = self._c(DELIVERIES).find(_is('recipient', recipient), {'action': 1})
        return [_record(entry['action']) for entry in found.sort(INBOX_ORDER).limit(limit)]

    def inbox_count(self, recipient: Ref, after: datetime | None = None) -> int:
        dismissed = _newer(dict(_is('recipient', recipient), broadcast=True), after)
        return self._c(DELIVERIES).count_documents(self._inbox_spec(recipient, after)) - self._c(
            DISMISSALS
        ).count_documents(dismissed)

    def _stream_spec(self, where: StreamFilter, prefix: str = '') -> Doc:
        """What ``where`` asks of the actions (of the ``action.`` copies with ``prefix``)."""
        spec = {}
        for name in ('actor', 'target', 'action_obj'):
            if getattr(where, name):
                spec.update(_is(prefix + name, getattr(where, name)))
        if where.verb is not None:
            spec[prefix + 'verb'] = where.verb
        return spec

    def _visible_to(self, viewer: Ref) -> Keep:
        """A ``keep`` for :func:`_page`: what ``viewer`` may see of a batch of actions.

        Public ones and the viewer's own pass as they are; the other private ones
        pass when delivered to the viewer, asked for the whole batch at once.
        """

        def keep(batch: list[Doc]) -> list[Doc]:
            private = [
                d['_id'] for d in batch if d.get('public') is False and ref_in(d, 'actor') != viewer
            ]
            delivered = set()
            if private:  # delivered to the viewer, or dismissed by it: still its to see
                spec = dict(_is('recipient', viewer), action_id={'$in': private})
                for name in (DELIVERIES, DISMISSALS):
                    found = self._c(name).find(spec, {'action_id': 1})
                    delivered |= {d['action_id'] for d in found}
            return [d for d in batch if d['_id'] not in set(private) - delivered]

        return keep

    def stream(
        self, where: StreamFilter, limit: int | None, offset: int, before: Cursor | None = None
    ) -> list[ActionRecord]:
        spec, keep = self._stream_spec(where), None
        if where.viewer is not None and not where.everything:
            keep = self._visible_to(where.viewer)
        elif not where.everything:
            spec.update(PUBLIC)
        docs = _page(self._c(ACTIONS), spec, NEWEST_FIRST, '_id', limit, offset, before, keep=keep)
        return [_record(doc) for doc in docs]

    def newest_public_by_actors(self, actors: Sequence[Ref], limit: int) -> list[ActionRecord]:
        if not actors:
            return []
        ids_by_type: dict[str, list[str]] = {}
        for actor in actors:
            ids_by_type.setdefault(actor.type, []).append(actor.id)
        each = [{'actor_type': t, 'actor_id': {'$in': ids}} for t, ids in ids_by_type.items()]
        spec = dict(PUBLIC, **(each[0] if len(each) == 1 else {'$or': each}))
        found = self._c(ACTIONS).find(spec).sort(NEWEST_FIRST).limit(limit)
        return [_record(doc) for doc in found]

    def stream_count(self, where: StreamFilter) -> int:
        spec = self._stream_spec(where)
        if where.everything:
            return self._c(ACTIONS).count_documents(spec)
        if where.viewer is None:
            return self._c(ACTIONS).count_documents(dict(spec, **PUBLIC))
        own = _is('actor', where.viewer)
        shown = self._c(ACTIONS).count_documents(dict(spec, **{'$or': [PUBLIC, own]}))
        # the private actions of others delivered to the viewer: its inbox copies know them
        delivered = dict(self._stream_spec(where, 'action.'), **_is('recipient', where.viewer))
        delivered.update({'action.public': False, **_not_by('action.actor', where.viewer)})
        dismissed = dict(delivered, broadcast=False)
        count = self._c(DELIVERIES).count_documents(delivered)
        return shown + count + self._c(DISMISSALS).count_documents(dismissed)

    def load_actions(self, action_ids: Iterable) -> list[ActionRecord]:
        return [_record(doc) for doc in self._c(ACTIONS).find({'_id': {'$in': list(action_ids)}})]

    def recipients_of(self, action_ids: Iterable) -> dict[Any, list[Ref]]:
        found: dict[Any, list[Ref]] = {}
        spec = dict(TARGETED, action_id={'$in': list(action_ids)})
        for name, extra in ((DELIVERIES, {}), (DISMISSALS, {'broadcast': False})):
            for d in self._c(name).find(dict(spec, **extra), {'action': 0}):
                found.setdefault(d['action_id'], []).append(ref_in(d, 'recipient'))
        return found

    def _visible_entries(
        self, recipient: Ref, action_ids: Iterable[Any], projection: Doc | None
    ) -> list[Doc]:
        """The inbox entries of ``recipient`` among ``action_ids`` (dismissed ones left out)."""
        spec = dict(self._inbox_spec(recipient), action_id={'$in': list(action_ids)})
        entries = list(self._c(DELIVERIES).find(spec, projection))
        shared = [d['action_id'] for d in entries if d['recipient_type'] is None]
        gone = self._dismissed_broadcasts(recipient, shared) if shared else set()
        return [d for d in entries if d['action_id'] not in gone]

    def visible(self, recipient: Ref, action_ids: Iterable) -> dict[Any, datetime]:
        projection = {'action_id': 1, 'timestamp': 1, 'recipient_type': 1}
        entries = self._visible_entries(recipient, action_ids, projection)
        return {d['action_id']: d['timestamp'] for d in entries}

    def dismiss(self, recipient: Ref, action_ids: Iterable) -> set:
        """Dismissals first, then the deliveries they replace: a crash in between leaves
        the action in the inbox (and counted), and dismissing it again ends the move."""
        taken, moved = set(), []
        for entry in self._visible_entries(recipient, list(action_ids), None):
            doc = dict(entry, **_is('recipient', recipient))
            doc.pop('_id')
            doc['broadcast'] = entry['recipient_type'] is None
            with suppress(DuplicateKeyError):  # a concurrent dismissal, or a crash's half
                self._c(DISMISSALS).insert_one(doc)
                taken.add(entry['action_id'])
            if not doc['broadcast']:
                moved.append(entry['action_id'])
        if moved:
            spec = dict(_is('recipient', recipient), action_id={'$in': moved})
            self._c(DELIVERIES).delete_many(spec)
        return taken

    def delete_read_marks(self, recipient: Ref, action_ids: Iterable) -> int:
        spec = dict(_is('recipient', recipient), action_id={'$in': list(action_ids)})
        return self._c(READS).delete_many(spec).deleted_count

    def rewind_read_until(self, recipient: Ref, until: datetime | None, expected: datetime) -> bool:
        where = dict(_is('recipient', recipient), read_until=expected)
        return self._c(SEEN).update_one(where, {'$set': {'read_until': until}}).modified_count == 1

    def oldest_actions(self, before: datetime, after: Cursor | None, limit: int) -> list:
        spec = {'timestamp': {'$lt': before}}
        if after is not None:
            spec['timestamp']['$gte'] = after.timestamp
        found = iter(self._c(ACTIONS).find(spec).sort(OLDEST_FIRST))
        if after is not None:  # those sharing the cursor's millisecond, sorted out here
            found = (d for d in found if d['timestamp'] > after.timestamp or d['_id'] > after.id)
        return [_record(doc) for doc in islice(found, limit)]

    def _of_actions(self, ids: list[Any]) -> dict[str, tuple[str, Doc]]:
        """{kind: (collection, spec)} of what hangs from actions ``ids``, actions last."""
        among = {'action_id': {'$in': ids}}
        return {
            'read_marks': (READS, among),
            'dismissals': (DISMISSALS, among),
            'deliveries': (DELIVERIES, dict(among, **TARGETED)),
            'actions': (ACTIONS, {'_id': {'$in': ids}}),
        }

    def hanging(self, action_ids: Sequence) -> dict[str, int]:
        found = self._of_actions(list(action_ids))
        return {kind: self._c(found[kind][0]).count_documents(found[kind][1]) for kind in REMOVED}

    def delete_actions(self, action_ids: Sequence) -> dict[str, int]:
        ids = list(action_ids)
        counts = {}
        for kind, (name, spec) in self._of_actions(ids).items():
            if name == ACTIONS:  # the broadcasts' inbox entries go with the deliveries
                self._c(DELIVERIES).delete_many(dict(BROADCAST, action_id={'$in': ids}))
            counts[kind] = self._c(name).delete_many(spec).deleted_count
        return counts

    def delete_recipient(self, recipient: Ref) -> dict[str, int]:
        key = _is('recipient', recipient)
        kinds = (('deliveries', DELIVERIES), ('dismissals', DISMISSALS), ('read_marks', READS))
        counts = {kind: self._c(name).delete_many(key).deleted_count for kind, name in kinds}
        counts['seen'] = self._c(SEEN).delete_many(key).deleted_count
        return counts

    def seen_state(self, recipient: Ref) -> SeenState:
        doc = self._c(SEEN).find_one(_is('recipient', recipient))
        return (
            SeenState() if doc is None else SeenState(doc.get('last_seen'), doc.get('read_until'))
        )

    def advance_seen_state(
        self, recipient: Ref, field: str, until: datetime, expected: datetime | None
    ) -> bool:
        key = _is('recipient', recipient)
        if _compare_and_set(self._c(SEEN), key, field, until, expected):
            return True
        if expected is not None:
            return False
        try:  # no document yet: a new one, unless one came meanwhile (the unique index)
            empty = dict(key, last_seen=None, read_until=None)
            self._c(SEEN).insert_one({**empty, field: until})
        except DuplicateKeyError:
            return False
        return True

    def _entity_collection(self, entity: Any) -> Collection[Doc]:
        collection: Any = mapper(entity).collection  # a Ming document class, its manager in .m
        return self._c(collection.m.collection_name)

    def entity_attribute(self, entity: Any, attribute: str) -> Any:
        doc = self._entity_collection(entity).find_one({'_id': entity._id}, {attribute: 1})
        return None if doc is None else doc.get(attribute)

    def advance_entity_attribute(
        self, entity: Any, attribute: str, until: datetime, expected: Any
    ) -> bool:
        where = {'_id': entity._id}
        moved = _compare_and_set(self._entity_collection(entity), where, attribute, until, expected)
        if moved:
            state(entity).set(attribute, until)  # shown, without dirtying the entity
        return moved

    def read_marks(self, recipient: Ref, action_ids: Iterable) -> set:
        spec = dict(_is('recipient', recipient), action_id={'$in': list(action_ids)})
        return {d['action_id'] for d in self._c(READS).find(spec, {'action_id': 1})}

    def add_read_marks(self, recipient: Ref, marks: dict[Any, datetime]) -> set:
        """One upsert per mark: exactly those this call wrote are counted (marks are few)."""
        added = set()
        for id_, ts in marks.items():
            mark = dict(_is('recipient', recipient), action_id=id_)
            try:
                done = self._c(READS).update_one(
                    mark, {'$setOnInsert': {'timestamp': ts}}, upsert=True
                )
            except DuplicateKeyError:  # a concurrent request upserted it first
                continue
            if done.upserted_id is not None:
                added.add(id_)
        return added

    def count_read_marks(self, recipient: Ref, after: datetime | None) -> int:
        return self._c(READS).count_documents(_newer(_is('recipient', recipient), after))

    def drop_read_marks(self, recipient: Ref, until: datetime) -> None:
        spec = dict(_is('recipient', recipient), timestamp={'$lte': until})
        self._c(READS).delete_many(spec)

    def newest_visible(self, recipient: Ref) -> datetime | None:
        newest = self._c(DELIVERIES).find_one(self._inbox_spec(recipient), sort=INBOX_ORDER)
        return None if newest is None else newest['timestamp']

    def action_id(self, value: Any) -> Any:
        if isinstance(value, ObjectId):
            return value
        if not (isinstance(value, str) and ObjectId.is_valid(value)):
            raise ValueError(f'not an action id: {value!r}')
        return ObjectId(value)

    def load_entities(self, cls: Any, ids: list) -> list:  # a class Ming maps: its .query
        return cls.query.find({'_id': {'$in': ids}}).all()

    def read_shown(
        self, wanted: Mapping[type, tuple[tuple[str, ...], list]]
    ) -> dict[type, list[tuple]] | None:
        """The listed fields alone, one ``find`` per class: no Ming object is validated."""
        found: dict[type, list[tuple]] = {}
        for cls, (names, ids) in wanted.items():
            if not ids:
                found[cls] = []
                continue
            collection: Any = mapper(cls).collection  # a Ming document class
            docs = self._c(collection.m.collection_name).find(
                {'_id': {'$in': list(ids)}}, dict.fromkeys(names, 1)
            )
            found[cls] = [tuple(doc.get(name) for name in names) for doc in docs]
        return found

    def held_entities(self, cls: type, keys: Iterable, names: Sequence[str]) -> dict[Any, Any]:
        imap = self.session.imap
        held = ((key, imap.get(cls, key)) for key in keys)
        return {key: entity for key, entity in held if entity is not None}

    def forget(self) -> None:
        self.session.clear()

    # -- subscriptions -----------------------------------------------------

    def subscribe(self, subscriber: Ref, obj: Ref, when: datetime) -> bool:
        pair = dict(_is('subscriber', subscriber), **_is('object', obj))
        try:
            done = self._c(SUBSCRIPTIONS).update_one(
                pair, {'$setOnInsert': {'created': when}}, upsert=True
            )
        except DuplicateKeyError:  # a concurrent subscribe inserted it first
            return False
        return done.upserted_id is not None

    def unsubscribe(self, subscriber: Ref, obj: Ref) -> bool:
        pair = dict(_is('subscriber', subscriber), **_is('object', obj))
        return self._c(SUBSCRIPTIONS).delete_one(pair).deleted_count == 1

    def delete_subscriptions(self, ref: Ref) -> int:
        return sum(
            self._c(SUBSCRIPTIONS).delete_many(_is(side, ref)).deleted_count
            for side in ('subscriber', 'object')
        )

    def subscribed(self, subscriber: Ref, objs: Sequence[Ref]) -> set[Ref]:
        wanted = [_is('object', o) for o in objs]
        if not wanted:
            return set()
        spec = dict(_is('subscriber', subscriber), **{'$or': wanted})
        found = self._c(SUBSCRIPTIONS).find(spec, {'object_type': 1, 'object_id': 1})
        return {ref_in(d, 'object') for d in found}

    def _other_side(
        self, side: str, ref: Ref, other: str, limit: int | None, offset: int
    ) -> list[Ref]:
        """The ``other`` side of the subscriptions whose ``side`` is ``ref``, newest first."""
        projection = {other + '_type': 1, other + '_id': 1}
        found = self._c(SUBSCRIPTIONS).find(_is(side, ref), projection)
        found = found.sort(NEWEST_OF_SIDE[other]).skip(offset)
        return [ref_in(d, other) for d in (found if limit is None else found.limit(limit))]

    def subscribers(self, obj: Ref, limit: int | None, offset: int) -> list[Ref]:
        return self._other_side('object', obj, 'subscriber', limit, offset)

    def subscriber_page(self, obj: Ref, after: tuple | None, limit: int) -> list:
        """Keyset: what sorts after ``after``, one ``$or`` clause per column of the order."""
        spec = _is('object', obj)
        if after is not None:
            created, type_, id_ = keyset.parse(after)
            spec['$or'] = [
                {'created': {'$lt': created}},
                {'created': created, 'subscriber_type': {'$lt': type_}},
                {'created': created, 'subscriber_type': type_, 'subscriber_id': {'$lt': id_}},
            ]
        projection = {'created': 1, 'subscriber_type': 1, 'subscriber_id': 1}
        found = self._c(SUBSCRIPTIONS).find(spec, projection).sort(NEWEST_OF_SIDE['subscriber'])
        refs = [(d['created'], ref_in(d, 'subscriber')) for d in found.limit(limit)]
        return [(ref, keyset.position(created, ref)) for created, ref in refs]

    def subscriber_count(self, obj: Ref) -> int:
        return self._c(SUBSCRIPTIONS).count_documents(_is('object', obj))

    def subscriptions(self, subscriber: Ref, limit: int | None, offset: int) -> list[Ref]:
        return self._other_side('subscriber', subscriber, 'object', limit, offset)

    def subscription_count(self, subscriber: Ref) -> int:
        return self._c(SUBSCRIPTIONS).count_documents(_is('subscriber', subscriber))

    def after_commit(self, callback: Callable[[], None]) -> None:
        """MongoDB writes are not transactional here: at once."""
        callback()

    def commit(self) -> None:
        """Every write went to MongoDB already."""

    def unit_of_work(self) -> AbstractContextManager[Backend]:
        """This storage: MongoDB writes at once."""
        return nullcontext(self)
