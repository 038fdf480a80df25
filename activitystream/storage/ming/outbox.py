"""The outbox on Ming/MongoDB: jobs leased one atomic ``find_one_and_update`` at a time.

No transaction spans the caller's writes here (``transactional = False``): the
caller adds jobs not ready, writes, then marks them ready.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from contextlib import suppress
from datetime import datetime
from typing import Any

from bson import ObjectId
from pymongo import ReturnDocument
from pymongo.errors import (
    BulkWriteError,
    ConnectionFailure,
    DuplicateKeyError,
    ExecutionTimeout,
    WTimeoutError,
)

from ..base import Job, NewJob, OutboxStorage
from .schema import CLAIM_ORDER, CLAIMABLE, OUTBOX
from .session import OnSession

DUPLICATE_KEY = 11000


def _job(doc: dict) -> Job:
    return Job(
        id=doc['_id'],
        kind=doc['kind'],
        payload=json.loads(doc['payload']),
        key=doc.get('key'),
        attempts=doc['attempts'],
        available_at=doc['available_at'],
        dead=doc['dead'],
        error=doc.get('error'),
        created=doc['created'],
        owner=doc.get('owner'),
        priority=doc.get('priority', 'high'),
    )


def _dead(ids: Sequence | None) -> dict:
    """Spec: dead jobs, those of ``ids`` when given."""
    return {'dead': True} if ids is None else {'dead': True, '_id': {'$in': list(ids)}}


class MingOutbox(OnSession, OutboxStorage):
    """The :class:`OutboxStorage` half of ``MingStorage``."""

    transactional = False

    def transient(self, error: BaseException) -> bool:
        # no server reachable, a lost connection, maxTimeMS or a write concern's timeout
        return isinstance(error, (ConnectionFailure, ExecutionTimeout, WTimeoutError))

    def add_jobs(self, jobs: Sequence[NewJob], now: datetime, ready: bool = True) -> list:
        docs = []
        for job in jobs:
            doc = dict(job.fields(now, ready), _id=ObjectId())
            if job.key is None:
                del doc['key']  # the sparse unique index skips documents without one
            docs.append(doc)
        if not docs:
            return []
        collection = self._c(OUTBOX)
        ids = [doc['_id'] for doc in docs]
        try:
            collection.insert_many(docs, ordered=False)
        except BulkWriteError as exc:  # the others are written: skip those whose key exists
            errors = exc.details['writeErrors']
            if any(e['code'] != DUPLICATE_KEY for e in errors):
                raise
            taken = {e['index'] for e in errors}
            return [id_ for index, id_ in enumerate(ids) if index not in taken]
        except DuplicateKeyError:  # mim stops at the first: the rest one by one
            written = {d['_id'] for d in collection.find({'_id': {'$in': ids}}, {'_id': 1})}
            for doc in docs:
                if doc['_id'] not in written:
                    with suppress(DuplicateKeyError):
                        collection.insert_one(doc)
                        written.add(doc['_id'])
            return [id_ for id_ in ids if id_ in written]
        return ids

    def mark_jobs_ready(self, ids: Sequence) -> None:
        if ids:
            self._c(OUTBOX).update_many({'_id': {'$in': list(ids)}}, {'$set': {'ready': True}})

    def claim_jobs(
        self, owner: str, limit: int, now: datetime, lease_until: datetime, priority: str = 'high'
    ) -> list:
        due = dict(CLAIMABLE, priority=priority, available_at={'$lte': now})
        lease = {'$set': {'available_at': lease_until, 'owner': owner}, '$inc': {'attempts': 1}}
        claimed = []
        for _ in range(limit):
            doc = self._c(OUTBOX).find_one_and_update(
                due, lease, sort=CLAIM_ORDER, return_document=ReturnDocument.AFTER
            )
            if doc is None:
                break
            claimed.append(_job(doc))
        return sorted(claimed, key=lambda job: job.id)  # as on SQL, where RETURNING has no order

    def finish_job(self, job_id: Any, owner: str) -> bool:
        return self._c(OUTBOX).delete_one({'_id': job_id, 'owner': owner}).deleted_count == 1

    def _update_held(self, job_id: Any, owner: str, values: dict) -> bool:
        """``$set`` ``values`` on job ``job_id`` if ``owner`` holds it; True if it did."""
        held = {'_id': job_id, 'owner': owner}
        return self._c(OUTBOX).update_one(held, {'$set': values}).matched_count == 1

    def jobs(
        self, dead: bool | None, limit: int | None, kind: str | None = None, failed: bool = False
    ) -> list:
        spec: dict[str, Any] = {} if dead is None else {'dead': dead}
        if kind is not None:
            spec['kind'] = kind
        if failed:
            spec['error'] = {'$ne': None}
        found = self._c(OUTBOX).find(spec)
        found = found.sort([('created', 1), ('_id', 1)])
        return [_job(doc) for doc in (found if limit is None else found.limit(limit))]

    def job_counts(self) -> dict:
        count = self._c(OUTBOX).count_documents
        return {'pending': count({'dead': False}), 'dead': count({'dead': True})}

    def revive_jobs(self, ids: Sequence | None, now: datetime) -> int:
        again = {'dead': False, 'available_at': now, 'attempts': 0, 'owner': None}
        return self._c(OUTBOX).update_many(_dead(ids), {'$set': again}).modified_count

    def hasten_jobs(self, ids: Sequence | None, now: datetime) -> int:
        spec = {'dead': False, 'error': {'$ne': None}, 'owner': None, 'available_at': {'$gt': now}}
        if ids is not None:
            spec['_id'] = {'$in': list(ids)}
        return self._c(OUTBOX).update_many(spec, {'$set': {'available_at': now}}).modified_count

    def purge_jobs(self, ids: Sequence | None) -> int:
        return self._c(OUTBOX).delete_many(_dead(ids)).deleted_count

    def job_page(self, after: Any, limit: int) -> list:
        spec = {} if after is None else {'_id': {'$gt': after}}
        return [_job(doc) for doc in self._c(OUTBOX).find(spec).sort('_id', 1).limit(limit)]

    def delete_jobs(self, ids: Sequence) -> int:
        ids = list(ids)
        return self._c(OUTBOX).delete_many({'_id': {'$in': ids}}).deleted_count if ids else 0
