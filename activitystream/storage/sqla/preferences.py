"""Preferences and digests on SQLAlchemy: the ``PreferenceStorage`` half of ``SQLAStorage``."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, delete, insert, or_, select, tuple_, update
from sqlalchemy.exc import IntegrityError

from ..base import DigestItem, NewDigestItem, PreferenceStorage, Ref
from .schema import DigestItem as DigestTable
from .schema import DigestMark, Preference
from .session import OnSession

if TYPE_CHECKING:
    from sqlalchemy import ColumnElement, Table

prefs = Preference.__table__
items = DigestTable.__table__
marks = DigestMark.__table__
NO_SYNC = {'synchronize_session': False}


def _of(table: Table, ref: Ref) -> ColumnElement[bool]:
    return and_(table.c.recipient_type == ref.type, table.c.recipient_id == ref.id)


def _among(table: Table, recipients: Iterable[Ref]) -> ColumnElement[bool]:
    return tuple_(table.c.recipient_type, table.c.recipient_id).in_(
        [(r.type, r.id) for r in recipients]
    )


def _ref(type_: str | None, id_: Any) -> Ref | None:
    return None if type_ is None else Ref(type_, id_)


class SQLAPreferences(OnSession, PreferenceStorage):
    """The :class:`PreferenceStorage` half of ``SQLAStorage``."""

    def preferences(self, recipient: Ref) -> dict[str, str]:
        stmt = select(prefs.c.kind, prefs.c.channels).where(_of(prefs, recipient))
        return dict(self._run(stmt).all())

    def preferences_of(self, kind: str, recipients: Sequence[Ref]) -> dict[Ref, str]:
        if not recipients:
            return {}
        columns = prefs.c.recipient_type, prefs.c.recipient_id, prefs.c.channels
        stmt = select(*columns).where(prefs.c.kind == kind, _among(prefs, recipients))
        return {Ref(type_, id_): channels for type_, id_, channels in self._run(stmt)}

    def set_preference(self, recipient: Ref, kind: str, channels: str, when: datetime) -> None:
        row = dict(
            recipient_type=recipient.type,
            recipient_id=recipient.id,
            kind=kind,
            channels=channels,
            updated=when,
        )
        upsert = self._insert_or(Preference)
        if upsert is not None:
            keys = ['recipient_type', 'recipient_id', 'kind']
            stmt = upsert.values(**row).on_conflict_do_update(
                index_elements=keys, set_=dict(channels=channels, updated=when)
            )
            self._run(stmt)
            return
        where = and_(_of(prefs, recipient), prefs.c.kind == kind)
        changed = update(Preference).where(where).values(channels=channels, updated=when)
        if self.session.execute(changed, execution_options=NO_SYNC).rowcount:
            return
        try:
            with self.session.begin_nested():
                self._run(insert(Preference).values(**row))
        except IntegrityError:  # a concurrent insert: ours is the later word
            self.session.execute(changed, execution_options=NO_SYNC)

    def add_digest_items(self, new: Sequence[NewDigestItem], now: datetime) -> None:
        rows = [item.fields(now) for item in new]
        if rows:
            self.session.execute(insert(DigestTable), rows)

    def digest_recipients(self, after: Ref | None, until: datetime, limit: int) -> list[Ref]:
        pair = tuple_(items.c.recipient_type, items.c.recipient_id)
        stmt = select(items.c.recipient_type, items.c.recipient_id).where(items.c.created <= until)
        if after is not None:
            stmt = stmt.where(pair > tuple_(after.type, after.id))
        stmt = stmt.distinct().order_by(items.c.recipient_type, items.c.recipient_id)
        return [Ref(*row) for row in self._run(stmt.limit(limit))]

    def digest_items(self, recipient: Ref, until: datetime, limit: int) -> list[DigestItem]:
        stmt = select(items).where(_of(items, recipient), items.c.created <= until)
        stmt = stmt.order_by(items.c.created, items.c.id).limit(limit)
        return [
            DigestItem(
                recipient=recipient,
                kind=row.kind,
                verb=row.verb,
                actor=_ref(row.actor_type, row.actor_id),
                target=_ref(row.target_type, row.target_id),
                text=row.text,
                timestamp=row.timestamp,
                id=row.id,
                created=row.created,
            )
            for row in self._run(stmt)
        ]

    def delete_digest_items(self, ids: Sequence) -> int:
        if not ids:
            return 0
        stmt = delete(DigestTable).where(items.c.id.in_(list(ids)))
        return self.session.execute(stmt, execution_options=NO_SYNC).rowcount

    def digest_marks(self, recipients: Sequence[Ref], period: str) -> dict[Ref, str]:
        if not recipients:
            return {}
        columns = marks.c.recipient_type, marks.c.recipient_id, marks.c.last_key
        stmt = select(*columns).where(marks.c.period == period, _among(marks, recipients))
        return {Ref(type_, id_): key for type_, id_, key in self._run(stmt)}

    def advance_digest_mark(
        self, recipient: Ref, period: str, key: str, expected: str | None, when: datetime
    ) -> bool:
        if expected is not None:
            where = and_(_of(marks, recipient), marks.c.period == period)
            stmt = update(DigestMark).where(where, marks.c.last_key == expected)
            stmt = stmt.values(last_key=key, sent=when)
            return self.session.execute(stmt, execution_options=NO_SYNC).rowcount == 1
        row = dict(
            recipient_type=recipient.type,
            recipient_id=recipient.id,
            period=period,
            last_key=key,
            sent=when,
        )
        upsert = self._insert_or(DigestMark)
        if upsert is not None:
            return self._run(upsert.values(**row).on_conflict_do_nothing()).rowcount == 1
        try:
            with self.session.begin_nested():
                self._run(insert(DigestMark).values(**row))
        except IntegrityError:
            return False
        return True

    def delete_preferences(self, recipient: Ref) -> int:
        stmt = delete(Preference).where(_of(prefs, recipient))
        return self.session.execute(stmt, execution_options=NO_SYNC).rowcount

    def delete_digests(self, entity: Ref) -> dict[str, int]:
        doing = and_(items.c.actor_type == entity.type, items.c.actor_id == entity.id)
        about = and_(items.c.target_type == entity.type, items.c.target_id == entity.id)
        gone_items = delete(DigestTable).where(or_(_of(items, entity), doing, about))
        gone_marks = delete(DigestMark).where(_of(marks, entity))
        return {
            'digest_items': self.session.execute(gone_items, execution_options=NO_SYNC).rowcount,
            'digest_marks': self.session.execute(gone_marks, execution_options=NO_SYNC).rowcount,
        }
