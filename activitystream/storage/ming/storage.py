"""The storage contract on Ming/MongoDB (also ``mim://``, Ming's in-memory MongoDB).

Queries go straight to the collections behind the host's Ming session: our
documents need no object mapping, and bulk writes stay one ``insert_many``.
"""

from contextlib import nullcontext
from itertools import islice

from bson import ObjectId
from ming.odm import mapper, state
from pymongo.errors import DuplicateKeyError

from .. import keyset
from ..base import ActionRecord, Ref, SeenState, Storage, SubscriptionStorage
from .migrations import ensure_indexes
from .outbox import MingOutbox
from .schema import (
    ACTIONS,
    BROADCAST,
    DELIVERIES,
    INBOX_ORDER,
    NEWEST_FIRST,
    NEWEST_OF_SIDE,
    READS,
    SEEN,
    SUBSCRIPTIONS,
)


def _ref(doc, prefix):
    type_ = doc.get(prefix + '_type')
    return None if type_ is None else Ref(type_, doc[prefix + '_id'])


def _record(doc):
    return ActionRecord(
        id=doc['_id'],
        actor=_ref(doc, 'actor'),
        verb=doc['verb'],
        target=_ref(doc, 'target'),
        action_obj=_ref(doc, 'action_obj'),
        description=doc.get('description'),
        extra=doc.get('extra'),
        timestamp=doc['timestamp'],
        broadcast=doc.get('broadcast', False),
        public=doc.get('public', True),
    )


def _is(prefix, ref):
    return {prefix + '_type': ref.type, prefix + '_id': ref.id}


def _not_by(prefix, ref):
    """Spec: the (type, id) pair named ``prefix`` is not ``ref`` (mim has no working ``$nor``)."""
    return {'$or': [{prefix + '_type': {'$ne': ref.type}}, {prefix + '_id': {'$ne': ref.id}}]}


def _compare_and_set(collection, where, field, until, expected):
    """Set ``field`` to ``until`` where it still is ``expected`` and is older: one document?"""
    older = {'$or': [{field: None}, {field: {'$lt': until}}]}
    where = dict(where, **{field: expected}, **older)
    return collection.update_one(where, {'$set': {field: until}}).modified_count == 1


def _newer(spec, after):
    if after is not None:
        spec['timestamp'] = {'$gt': after}
    return spec


PUBLIC = {'public': {'$ne': False}}  # documents written before visibility existed are public
CHECK_BATCH = 100


def _filtered(docs, keep):
    """``docs`` in order, those ``keep(batch)`` keeps, asked a batch at a time."""
    batch = []
    for doc in docs:
        batch.append(doc)
        if len(batch) == CHECK_BATCH:
            yield from keep(batch)
            batch = []
    if batch:
        yield from keep(batch)


def _page(collection, spec, order, id_field, limit, offset, before, projection=None, keep=None):
    """A newest-first page of ``collection``, after the cursor ``before`` when given.

    The cursor is (timestamp, id). The index range is cut at the timestamp;
    the few entries sharing it to the millisecond are sorted out here, which
    spares an ``$and`` of two ``$or`` (mim, Ming's in-memory MongoDB, has none).
    ``keep`` filters what the query cannot (see :meth:`MingStorage.stream`).
    """
    if before is not None:
        spec = dict(spec, timestamp={'$lte': before.timestamp})
    cursor = collection.find(spec, projection).sort(order)
    if before is None and keep is None:
        cursor = cursor.skip(offset)
        return list(cursor if limit is None else cursor.limit(limit))
    found = iter(cursor)
    if before is not None:
        found = (d for d in found if d['timestamp'] < before.timestamp or d[id_field] < before.id)
    if keep is not None:
        found = _filtered(found, keep)
    return list(islice(found, offset, None if limit is None else offset + limit))


class MingStorage(Storage, SubscriptionStorage, MingOutbox):
    name = 'ming'

    def __init__(self, session):
        self.session = session

    def _c(self, name):
        return self.session.impl.db[name]

    def ensure_schema(self):
        ensure_indexes(self.session.impl.db)

    def insert_actions(self, new_actions):
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

    def _inbox_spec(self, recipient, after=None):
        broadcasts = dict(BROADCAST, **_not_by('action.actor', recipient))
        return _newer({'$or': [_is('recipient', recipient), broadcasts]}, after)

    def inbox(self, recipient, limit, offset, before=None):
        entries = _page(
            self._c(DELIVERIES),
            self._inbox_spec(recipient),
            INBOX_ORDER,
            'action_id',
            limit,
            offset,
            before,
            {'action': 1, 'action_id': 1, 'timestamp': 1},
        )
        return [_record(entry['action']) for entry in entries]

    def inbox_count(self, recipient, after=None):
        return self._c(DELIVERIES).count_documents(self._inbox_spec(recipient, after))

    def _stream_spec(self, where, prefix=''):
        """What ``where`` asks of the actions (of the ``action.`` copies with ``prefix``)."""
        spec = {}
        for name in ('actor', 'target', 'action_obj'):
            if getattr(where, name):
                spec.update(_is(prefix + name, getattr(where, name)))
        if where.verb is not None:
            spec[prefix + 'verb'] = where.verb
        return spec

    def _visible_to(self, viewer):
        """A ``keep`` for :func:`_page`: what ``viewer`` may see of a batch of actions.

        Public ones and the viewer's own pass as they are; the other private ones
        pass when delivered to the viewer, asked for the whole batch at once.
        """

        def keep(batch):
            private = [
                d['_id'] for d in batch if d.get('public') is False and _ref(d, 'actor') != viewer
            ]
            spec = dict(_is('recipient', viewer), action_id={'$in': private})
            found = self._c(DELIVERIES).find(spec, {'action_id': 1}) if private else ()
            delivered = {d['action_id'] for d in found}
            return [d for d in batch if d['_id'] not in set(private) - delivered]

        return keep

    def stream(self, where, limit, offset, before=None):
        spec, keep = self._stream_spec(where), None
        if where.viewer is not None and not where.everything:
            keep = self._visible_to(where.viewer)
        elif not where.everything:
            spec.update(PUBLIC)
        docs = _page(self._c(ACTIONS), spec, NEWEST_FIRST, '_id', limit, offset, before, keep=keep)
        return [_record(doc) for doc in docs]

    def stream_count(self, where):
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
        return shown + self._c(DELIVERIES).count_documents(delivered)

    def load_actions(self, action_ids):
        return [_record(doc) for doc in self._c(ACTIONS).find({'_id': {'$in': list(action_ids)}})]

    def recipients_of(self, action_ids):
        found = {}
        spec = {'action_id': {'$in': list(action_ids)}, 'recipient_type': {'$ne': None}}
        for d in self._c(DELIVERIES).find(spec, {'action': 0}):
            found.setdefault(d['action_id'], []).append(_ref(d, 'recipient'))
        return found

    def visible(self, recipient, action_ids):
        spec = dict(self._inbox_spec(recipient), action_id={'$in': list(action_ids)})
        return {
            d['action_id']: d['timestamp']
            for d in self._c(DELIVERIES).find(spec, {'action_id': 1, 'timestamp': 1})
        }

    def seen_state(self, recipient):
        doc = self._c(SEEN).find_one(_is('recipient', recipient))
        return (
            SeenState() if doc is None else SeenState(doc.get('last_seen'), doc.get('read_until'))
        )

    def advance_seen_state(self, recipient, field, until, expected):
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

    def _entity_collection(self, entity):
        return self._c(mapper(entity).collection.m.collection_name)

    def entity_attribute(self, entity, attribute):
        doc = self._entity_collection(entity).find_one({'_id': entity._id}, {attribute: 1})
        return None if doc is None else doc.get(attribute)

    def advance_entity_attribute(self, entity, attribute, until, expected):
        where = {'_id': entity._id}
        moved = _compare_and_set(self._entity_collection(entity), where, attribute, until, expected)
        if moved:
            state(entity).set(attribute, until)  # shown, without dirtying the entity
        return moved

    def read_marks(self, recipient, action_ids):
        spec = dict(_is('recipient', recipient), action_id={'$in': list(action_ids)})
        return {d['action_id'] for d in self._c(READS).find(spec, {'action_id': 1})}

    def add_read_marks(self, recipient, marks):
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

    def count_read_marks(self, recipient, after):
        return self._c(READS).count_documents(_newer(_is('recipient', recipient), after))

    def drop_read_marks(self, recipient, until):
        spec = dict(_is('recipient', recipient), timestamp={'$lte': until})
        self._c(READS).delete_many(spec)

    def newest_visible(self, recipient):
        newest = self._c(DELIVERIES).find_one(self._inbox_spec(recipient), sort=INBOX_ORDER)
        return None if newest is None else newest['timestamp']

    def action_id(self, value):
        if isinstance(value, ObjectId):
            return value
        if not (isinstance(value, str) and ObjectId.is_valid(value)):
            raise ValueError(f'not an action id: {value!r}')
        return ObjectId(value)

    def load_entities(self, cls, ids):
        return cls.query.find({'_id': {'$in': ids}}).all()

    def forget(self):
        self.session.clear()

    # -- subscriptions -----------------------------------------------------

    def subscribe(self, subscriber, obj, when):
        pair = dict(_is('subscriber', subscriber), **_is('object', obj))
        try:
            done = self._c(SUBSCRIPTIONS).update_one(
                pair, {'$setOnInsert': {'created': when}}, upsert=True
            )
        except DuplicateKeyError:  # a concurrent subscribe inserted it first
            return False
        return done.upserted_id is not None

    def unsubscribe(self, subscriber, obj):
        pair = dict(_is('subscriber', subscriber), **_is('object', obj))
        return self._c(SUBSCRIPTIONS).delete_one(pair).deleted_count == 1

    def subscribed(self, subscriber, objs):
        wanted = [_is('object', o) for o in objs]
        if not wanted:
            return set()
        spec = dict(_is('subscriber', subscriber), **{'$or': wanted})
        found = self._c(SUBSCRIPTIONS).find(spec, {'object_type': 1, 'object_id': 1})
        return {_ref(d, 'object') for d in found}

    def _other_side(self, side, ref, other, limit, offset):
        """The ``other`` side of the subscriptions whose ``side`` is ``ref``, newest first."""
        projection = {other + '_type': 1, other + '_id': 1}
        found = self._c(SUBSCRIPTIONS).find(_is(side, ref), projection)
        found = found.sort(NEWEST_OF_SIDE[other]).skip(offset)
        return [_ref(d, other) for d in (found if limit is None else found.limit(limit))]

    def subscribers(self, obj, limit, offset):
        return self._other_side('object', obj, 'subscriber', limit, offset)

    def subscriber_page(self, obj, after, limit):
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
        refs = [(d['created'], _ref(d, 'subscriber')) for d in found.limit(limit)]
        return [(ref, keyset.position(created, ref)) for created, ref in refs]

    def subscriber_count(self, obj):
        return self._c(SUBSCRIPTIONS).count_documents(_is('object', obj))

    def subscriptions(self, subscriber, limit, offset):
        return self._other_side('subscriber', subscriber, 'object', limit, offset)

    def subscription_count(self, subscriber):
        return self._c(SUBSCRIPTIONS).count_documents(_is('subscriber', subscriber))

    def after_commit(self, callback):
        """MongoDB writes are not transactional here: at once."""
        callback()

    def commit(self):
        """Every write went to MongoDB already."""

    def unit_of_work(self):
        """This storage: MongoDB writes at once."""
        return nullcontext(self)
