"""MongoDB collections of activitystream and their indexes.

Documents mirror the SQLAlchemy tables field by field (see ``storage/sqla/schema.py``):

- ``activitystream_actions``: ``_id`` (ObjectId), ``actor_type``, ``actor_id``, ``verb``,
  ``target_type``, ``target_id``, ``action_obj_type``, ``action_obj_id``, ``description``,
  ``extra`` (JSON text), ``timestamp``, ``broadcast``, ``public`` (shown in public
  streams; a document without it is public).
- ``activitystream_deliveries``: ``action_id``, ``recipient_type``, ``recipient_id``,
  ``timestamp`` and ``action`` (a copy of the action document), one per (action,
  recipient); a broadcast has one entry whose recipient is ``None``/``None``. With
  the copy, a page of a recipient's notifications, broadcasts included, is one
  index-ordered ``find`` (an ``$or`` of two ranges of the inbox index), like the
  single SQL statement of the SQLAlchemy backend; MongoDB has no join to do it
  otherwise. Actions are immutable, so the copies never go stale.
- ``activitystream_seen``: ``recipient_type``, ``recipient_id``, ``last_seen``, ``read_until``.
- ``activitystream_reads``: ``recipient_type``, ``recipient_id``, ``action_id``, ``timestamp``.
- ``activitystream_dismissals``: what one recipient took out of its inbox
  (``am.dismiss``): a dismissed delivery document moved here as it was, plus
  ``broadcast`` (False); a dismissed broadcast as ``recipient_type``,
  ``recipient_id``, ``action_id``, ``timestamp``, ``action`` (the copy) and
  ``broadcast`` (True).
- ``activitystream_subscriptions``: ``subscriber_type``, ``subscriber_id``, ``object_type``,
  ``object_id``, ``created``; unique per (subscriber, object).
- ``activitystream_outbox``: the columns of the SQL outbox table, ``payload`` as JSON
  text too; ``key`` is left out when there is none (its unique index is sparse).
- ``activitystream_preferences``: ``recipient_type``, ``recipient_id``, ``kind``,
  ``channels`` (``'email,web'``; ``''``: off), ``updated``; unique per (recipient, kind).
- ``activitystream_digest_items``: the columns of the SQL table, ``_id`` an ObjectId.
- ``activitystream_digest_marks``: ``recipient_type``, ``recipient_id``, ``period``,
  ``last_key``, ``sent``; unique per (recipient, period).
"""

from typing import Any

from pymongo import ASCENDING as ASC
from pymongo import DESCENDING as DESC

ACTIONS = 'activitystream_actions'
BROADCAST = {'recipient_type': None, 'recipient_id': None}
DELIVERIES = 'activitystream_deliveries'
SEEN = 'activitystream_seen'
READS = 'activitystream_reads'
DISMISSALS = 'activitystream_dismissals'
SUBSCRIPTIONS = 'activitystream_subscriptions'
OUTBOX = 'activitystream_outbox'
PREFERENCES = 'activitystream_preferences'
DIGEST_ITEMS = 'activitystream_digest_items'
DIGEST_MARKS = 'activitystream_digest_marks'
RECIPIENT = [('recipient_type', ASC), ('recipient_id', ASC)]

NEWEST_FIRST = [('timestamp', DESC), ('_id', DESC)]
# ``public`` closes each stream index, as on SQL: public streams skip private ones in the index
STREAM_ORDER = NEWEST_FIRST + [('public', ASC)]
INBOX_ORDER = [('timestamp', DESC), ('action_id', DESC)]
# the subscribers of an object, or the objects of a subscriber, newest first
NEWEST_OF_SIDE = {
    side: [('created', DESC), (side + '_type', DESC), (side + '_id', DESC)]
    for side in ('subscriber', 'object')
}
# claimable jobs, in the order they are claimed (one queue at a time)
CLAIM_ORDER = [('available_at', ASC), ('_id', ASC)]
CLAIMABLE = {'ready': True, 'dead': False}

# collection -> list of (keys, options)
INDEXES: dict[str, list[tuple[list[tuple[str, int]], dict[str, Any]]]] = {
    ACTIONS: [
        ([('actor_type', ASC), ('actor_id', ASC)] + STREAM_ORDER, {}),
        ([('target_type', ASC), ('target_id', ASC)] + STREAM_ORDER, {}),
        ([('action_obj_type', ASC), ('action_obj_id', ASC)] + STREAM_ORDER, {}),
        ([('verb', ASC)] + STREAM_ORDER, {}),
        (STREAM_ORDER, {}),
    ],
    DELIVERIES: [
        ([('recipient_type', ASC), ('recipient_id', ASC)] + INBOX_ORDER, {}),
        ([('action_id', ASC), ('recipient_type', ASC), ('recipient_id', ASC)], {}),
    ],
    SEEN: [
        ([('recipient_type', ASC), ('recipient_id', ASC)], {'unique': True}),
    ],
    READS: [
        ([('recipient_type', ASC), ('recipient_id', ASC), ('action_id', ASC)], {'unique': True}),
        ([('recipient_type', ASC), ('recipient_id', ASC), ('timestamp', DESC)], {}),
        ([('action_id', ASC)], {}),  # deleting actions deletes their marks by action
    ],
    DISMISSALS: [
        (
            [('recipient_type', ASC), ('recipient_id', ASC), ('broadcast', ASC)] + INBOX_ORDER,
            {},
        ),
        ([('action_id', ASC), ('recipient_type', ASC), ('recipient_id', ASC)], {'unique': True}),
    ],
    SUBSCRIPTIONS: [
        (
            [('subscriber_type', ASC), ('subscriber_id', ASC)]
            + [('object_type', ASC), ('object_id', ASC)],
            {'unique': True},
        ),
        ([('object_type', ASC), ('object_id', ASC)] + NEWEST_OF_SIDE['subscriber'], {}),
        ([('subscriber_type', ASC), ('subscriber_id', ASC)] + NEWEST_OF_SIDE['object'], {}),
    ],
    OUTBOX: [
        ([('key', ASC)], {'unique': True, 'sparse': True}),
        ([('priority', ASC), *CLAIM_ORDER], {'partialFilterExpression': CLAIMABLE}),
    ],
    PREFERENCES: [([*RECIPIENT, ('kind', ASC)], {'unique': True})],
    DIGEST_ITEMS: [([*RECIPIENT, ('created', ASC), ('_id', ASC)], {})],
    DIGEST_MARKS: [([*RECIPIENT, ('period', ASC)], {'unique': True})],
}
