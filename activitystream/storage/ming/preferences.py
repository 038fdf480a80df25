"""Preferences and digests on Ming: the ``PreferenceStorage`` half of ``MingStorage``."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from pymongo import ASCENDING as ASC
from pymongo.errors import DuplicateKeyError

from ..base import DigestItem, NewDigestItem, PreferenceStorage, Ref
from .schema import DIGEST_ITEMS, DIGEST_MARKS, PREFERENCES, RECIPIENT
from .session import OnSession, optional_ref_in, ref_in


def _of(ref: Ref) -> dict[str, str]:
    return {'recipient_type': ref.type, 'recipient_id': ref.id}


def _among(recipients: Iterable[Ref]) -> dict[str, Any]:
    return {'$or': [_of(r) for r in recipients]}


class MingPreferences(OnSession, PreferenceStorage):
    """The :class:`PreferenceStorage` half of ``MingStorage``."""

    def preferences(self, recipient: Ref) -> dict[str, str]:
        found = self._c(PREFERENCES).find(_of(recipient), {'kind': 1, 'channels': 1})
        return {d['kind']: d['channels'] for d in found}

    def preferences_of(self, kind: str, recipients: Sequence[Ref]) -> dict[Ref, str]:
        if not recipients:
            return {}
        found = self._c(PREFERENCES).find(dict(_among(recipients), kind=kind))
        return {ref_in(d, 'recipient'): d['channels'] for d in found}

    def set_preference(self, recipient: Ref, kind: str, channels: str, when: datetime) -> None:
        spec = dict(_of(recipient), kind=kind)
        change = {'$set': {'channels': channels, 'updated': when}}
        try:
            self._c(PREFERENCES).update_one(spec, change, upsert=True)
        except DuplicateKeyError:  # a concurrent insert came first: ours is the later word
            self._c(PREFERENCES).update_one(spec, change)

    def add_digest_items(self, new: Sequence[NewDigestItem], now: datetime) -> None:
        docs = [item.fields(now) for item in new]
        if docs:
            self._c(DIGEST_ITEMS).insert_many(docs)

    def digest_recipients(self, after: Ref | None, until: datetime, limit: int) -> list[Ref]:
        """A skip scan of the index: one ``find`` per recipient (MongoDB has no DISTINCT page)."""
        found: list[Ref] = []
        while len(found) < limit:
            spec: dict[str, Any] = {'created': {'$lte': until}}
            if after is not None:
                spec['$or'] = [
                    {'recipient_type': {'$gt': after.type}},
                    {'recipient_type': after.type, 'recipient_id': {'$gt': after.id}},
                ]
            cursor = self._c(DIGEST_ITEMS).find(spec, {'recipient_type': 1, 'recipient_id': 1})
            docs = list(cursor.sort(RECIPIENT).limit(1))
            if not docs:
                break
            after = ref_in(docs[0], 'recipient')
            found.append(after)
        return found

    def digest_items(self, recipient: Ref, until: datetime, limit: int) -> list[DigestItem]:
        spec = dict(_of(recipient), created={'$lte': until})
        docs = self._c(DIGEST_ITEMS).find(spec).sort([('created', ASC), ('_id', ASC)])
        return [
            DigestItem(
                recipient=recipient,
                kind=d['kind'],
                verb=d['verb'],
                actor=optional_ref_in(d, 'actor'),
                target=optional_ref_in(d, 'target'),
                text=d['text'],
                timestamp=d['timestamp'],
                id=d['_id'],
                created=d['created'],
            )
            for d in docs.limit(limit)
        ]

    def delete_digest_items(self, ids: Sequence) -> int:
        if not ids:
            return 0
        return self._c(DIGEST_ITEMS).delete_many({'_id': {'$in': list(ids)}}).deleted_count

    def digest_marks(self, recipients: Sequence[Ref], period: str) -> dict[Ref, str]:
        if not recipients:
            return {}
        found = self._c(DIGEST_MARKS).find(dict(_among(recipients), period=period))
        return {ref_in(d, 'recipient'): d['last_key'] for d in found}

    def advance_digest_mark(
        self, recipient: Ref, period: str, key: str, expected: str | None, when: datetime
    ) -> bool:
        spec = dict(_of(recipient), period=period)
        if expected is not None:
            change = {'$set': {'last_key': key, 'sent': when}}
            done = self._c(DIGEST_MARKS).update_one(dict(spec, last_key=expected), change)
            return done.matched_count == 1
        try:
            self._c(DIGEST_MARKS).insert_one(dict(spec, last_key=key, sent=when))
        except DuplicateKeyError:
            return False
        return True

    def delete_preferences(self, recipient: Ref) -> int:
        return self._c(PREFERENCES).delete_many(_of(recipient)).deleted_count

    def delete_digests(self, entity: Ref) -> dict[str, int]:
        doing = {'actor_type': entity.type, 'actor_id': entity.id}
        about = {'target_type': entity.type, 'target_id': entity.id}
        gone = self._c(DIGEST_ITEMS).delete_many({'$or': [_of(entity), doing, about]})
        return {
            'digest_items': gone.deleted_count,
            'digest_marks': self._c(DIGEST_MARKS).delete_many(_of(entity)).deleted_count,
        }
