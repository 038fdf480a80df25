"""The storage contract on Ming/MongoDB (also ``mim://``, Ming's in-memory MongoDB).

Queries go straight to the collections behind the host's Ming session: our
documents need no object mapping, and bulk writes stay one ``insert_many``.
"""

from itertools import islice

from bson import ObjectId
from ming.odm import session as odm_session
from pymongo.errors import BulkWriteError, DuplicateKeyError

from ..base import ActionRecord, FailedDelivery, Ref, SeenState, Storage, SubscriptionStorage
from .schema import (
    ACTIONS,
    BROADCAST,
    DELIVERIES,
    FAILED,
    INBOX_ORDER,
    INDEXES,
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
    )


def _is(prefix, ref):
    return {prefix + '_type': ref.type, prefix + '_id': ref.id}


def _newer(spec, after):
    if after is not None:
        spec['timestamp'] = {'$gt': after}
    return spec


def _page(collection, spec, order, id_field, limit, offset, before, projection=None):
    """A newest-first page of ``collection``, after the cursor ``before`` when given.

    The cursor is (timestamp, id). The index range is cut at the timestamp;
    the few entries sharing it to the millisecond are sorted out here, which
    spares an ``$and`` of two ``$or`` (mim, Ming's in-memory MongoDB, has none).
    """
    if before is not None:
        spec = dict(spec, timestamp={'$lte': before.timestamp})
    cursor = collection.find(spec, projection).sort(order)
    if before is None:
        cursor = cursor.skip(offset)
        return list(cursor if limit is None else cursor.limit(limit))
    older = (d for d in cursor if d['timestamp'] < before.timestamp or d[id_field] < before.id)
    return list(islice(older, offset, None if limit is None else offset + limit))


class MingStorage(Storage, SubscriptionStorage):
    name = 'ming'

    def __init__(self, session):
        self.session = session

    def _c(self, name):
        return self.session.impl.db[name]

    def ensure_schema(self):
        for name, indexes in INDEXES.items():
            for keys, options in indexes:
                self._c(name).create_index(keys, **options)

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
        return _newer({'$or': [_is('recipient', recipient), BROADCAST]}, after)

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

    def _stream_spec(self, where):
        spec = {}
        for name in ('actor', 'target', 'action_obj'):
            if getattr(where, name):
                spec.update(_is(name, getattr(where, name)))
        if where.verb is not None:
            spec['verb'] = where.verb
        return spec

    def stream(self, where, limit, offset, before=None):
        docs = _page(
            self._c(ACTIONS), self._stream_spec(where), NEWEST_FIRST, '_id', limit, offset, before
        )
        return [_record(doc) for doc in docs]

    def stream_count(self, where):
        return self._c(ACTIONS).count_documents(self._stream_spec(where))

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

    def save_seen_state(self, recipient, state):
        values = {'last_seen': state.last_seen, 'read_until': state.read_until}
        self._c(SEEN).update_one(_is('recipient', recipient), {'$set': values}, upsert=True)

    def read_marks(self, recipient, action_ids):
        spec = dict(_is('recipient', recipient), action_id={'$in': list(action_ids)})
        return {d['action_id'] for d in self._c(READS).find(spec, {'action_id': 1})}

    def add_read_marks(self, recipient, marks):
        if not marks:
            return
        key = _is('recipient', recipient)
        docs = [dict(key, action_id=id_, timestamp=ts) for id_, ts in marks.items()]
        try:
            self._c(READS).insert_many(docs, ordered=False)
        except (BulkWriteError, DuplicateKeyError):
            # a concurrent request marked some first: add the others one by one
            for doc in docs:
                try:
                    self._c(READS).insert_one(doc)
                except DuplicateKeyError:
                    pass

    def count_read_marks(self, recipient, after):
        return self._c(READS).count_documents(_newer(_is('recipient', recipient), after))

    def drop_read_marks(self, recipient, until):
        spec = dict(_is('recipient', recipient), timestamp={'$lte': until})
        self._c(READS).delete_many(spec)

    def newest_visible(self, recipient):
        newest = self._c(DELIVERIES).find_one(self._inbox_spec(recipient), sort=INBOX_ORDER)
        return None if newest is None else newest['timestamp']

    def action_id(self, text):
        if not (isinstance(text, str) and ObjectId.is_valid(text)):
            raise ValueError(f'not an action id: {text!r}')
        return ObjectId(text)

    def load_entities(self, cls, ids):
        return cls.query.find({'_id': {'$in': ids}}).all()

    def flush_entity(self, entity):
        odm_session(entity).flush(entity)

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

    def subscriber_count(self, obj):
        return self._c(SUBSCRIPTIONS).count_documents(_is('object', obj))

    def subscriptions(self, subscriber, limit, offset):
        return self._other_side('subscriber', subscriber, 'object', limit, offset)

    def subscription_count(self, subscriber):
        return self._c(SUBSCRIPTIONS).count_documents(_is('subscriber', subscriber))

    def add_failures(self, failures):
        if failures:
            self._c(FAILED).insert_many([f.fields() for f in failures])

    def failures(self, limit):
        found = self._c(FAILED).find().sort('_id')
        found = found if limit is None else found.limit(limit)
        return [FailedDelivery.from_fields(d, d['_id']) for d in found]

    def claim_failures(self, ids):
        return {id_ for id_ in ids if self._c(FAILED).delete_one({'_id': id_}).deleted_count}

    def after_commit(self, callback):
        """MongoDB writes are not transactional here: at once."""
        callback(self)

    def commit(self):
        """Every write went to MongoDB already."""
