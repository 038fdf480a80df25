"""Versioned steps of the MongoDB schema, recorded in a small collection.

``activitystream_migrations`` holds one document per step done: ``_id`` (the
step's number), ``name`` and ``applied`` (when). :func:`upgrade` runs the steps
after the highest one recorded, then ensures the current indexes. Every step
is idempotent, so a step interrupted before it was recorded is simply run
again. A new step is one more entry of :data:`STEPS`.
"""

from collections.abc import Callable
from typing import Any

from pymongo import ASCENDING as ASC
from pymongo import DESCENDING as DESC

from ...timeutil import utcnow
from .schema import (
    ACTIONS,
    DELIVERIES,
    DIGEST_ITEMS,
    DIGEST_MARKS,
    INDEXES,
    NEWEST_FIRST,
    PREFERENCES,
)

VERSIONS = 'activitystream_migrations'


def _drop_indexes(db: Any, collection: str, superseded: list[list[tuple[str, int]]]) -> None:
    """Drop the indexes on exactly these keys, whatever the server named them."""
    for index, info in db[collection].index_information().items():
        if [(field, int(way)) for field, way in info['key']] in superseded:
            db[collection].drop_index(index)


def _indexes_of_1_0(db: Any) -> None:
    """Stream indexes before ``public`` closed them; the deliveries' shorter action index."""
    _drop_indexes(
        db,
        ACTIONS,
        [
            [('actor_type', ASC), ('actor_id', ASC), *NEWEST_FIRST],
            [('target_type', ASC), ('target_id', ASC), *NEWEST_FIRST],
            [('action_obj_type', ASC), ('action_obj_id', ASC), *NEWEST_FIRST],
            [('verb', ASC), *NEWEST_FIRST],
            NEWEST_FIRST,
        ],
    )
    _drop_indexes(db, DELIVERIES, [[('action_id', ASC), ('recipient_type', ASC)]])


def _preferences_and_digests(db: Any) -> None:
    """Preferences, held digest items and digest marks: their indexes."""
    for collection in (PREFERENCES, DIGEST_ITEMS, DIGEST_MARKS):
        for keys, options in INDEXES[collection]:
            db[collection].create_index(keys, **options)


STEPS: list[tuple[int, str, Callable[[Any], None]]] = [
    (1, 'indexes of 1.0: superseded ones dropped', _indexes_of_1_0),
    (2, 'preferences and digests', _preferences_and_digests),
]
HEAD = STEPS[-1][0]


def current(db: Any) -> int:
    """The number of the last step done on ``db`` (0: none)."""
    done = list(db[VERSIONS].find({}, {'_id': 1}).sort('_id', DESC).limit(1))
    return done[0]['_id'] if done else 0


def ensure_indexes(db: Any) -> None:
    """Create the indexes of :data:`INDEXES` that are missing."""
    for collection, indexes in INDEXES.items():
        for keys, options in indexes:
            db[collection].create_index(keys, **options)


def upgrade(db: Any) -> list[int]:
    """Run the steps not done yet on ``db``, in order; return their numbers."""
    done = current(db)
    ran = []
    for number, title, step in STEPS:
        if number > done:
            step(db)
            db[VERSIONS].update_one(
                {'_id': number},
                {'$set': {'name': title, 'applied': utcnow()}},
                upsert=True,
            )
            ran.append(number)
    ensure_indexes(db)
    return ran
