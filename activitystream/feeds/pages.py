"""Reading a feed: its entries, then their actions from the database in one batch."""

from typing import TYPE_CHECKING, Any, TypeVar

from .. import model
from ..action import Action, Page
from ..query import LazyQuery, decode_cursor
from ..storage.base import ActionRecord, Storage
from .entries import Entry, entry_of

if TYPE_CHECKING:
    from typing_extensions import Self  # typing has it from Python 3.11

T = TypeVar('T')


def existing_records(storage: Storage, entries: list[Entry]) -> list[ActionRecord]:
    """The ActionRecords of ``entries``, in their order; deleted actions are left out.

    One query, whatever the number of entries.
    """
    ids = []
    for entry in entries:
        try:
            ids.append(storage.action_id(entry.member))
        except ValueError:  # not one of this storage's ids: nothing to show
            continue
    found = {record.id: record for record in storage.load_actions(ids)} if ids else {}
    return [found[id_] for id_ in ids if id_ in found]


class WindowQuery(LazyQuery[T]):
    """A window of a feed read lazily, newest first, from its top, an offset or a cursor.

    Subclasses say what a cursor is (``before``) and what an entry reads as (``all``).
    """

    def __init__(
        self,
        feed: Any,
        limit: int | None = None,
        offset: int = 0,
        before: Entry | None = None,
    ) -> None:
        super().__init__(limit, offset)
        self._feed = feed
        self._before = before

    def _copy(self, limit: int | None, offset: int, before: Entry | None = None) -> 'Self':
        return type(self)(self._feed, limit, offset, before or self._before)

    def _total(self) -> int:
        if self._before is not None:
            raise ValueError('count() of a page after a cursor: count the feed instead')
        return self._feed.count()


class FeedQuery(WindowQuery[Action]):
    """A window of a feed, read lazily as our Actions, newest first.

    A window that starts at the top of the feed or at a cursor is filled past
    deleted actions: ``feed.before(cursor)[:25]`` holds 25 actions while the
    feed has them. A window at an offset holds the actions of those entries,
    so it may hold fewer; page with ``before`` to never skip or repeat one.
    """

    noun = 'action'

    def before(self, cursor: Any) -> 'FeedQuery':
        """Only actions older than ``cursor`` (an ``action.cursor`` string, or the action)."""
        if isinstance(cursor, str):
            cursor = decode_cursor(cursor, model.storage().action_id)
        elif not (hasattr(cursor, 'timestamp') and hasattr(cursor, 'id')):
            raise TypeError(f'before must be a cursor string or an action, got {cursor!r}')
        return self._copy(self._limit, self._offset, entry_of(cursor, 'before'))

    def all(self) -> list[Action]:
        """The actions as a list; their entities load together on first use."""
        if self._limit == 0:
            return []
        storage = model.storage()
        entries = self._feed.entries(self._offset, self._limit, self._before)
        records = existing_records(storage, entries)
        fill = self._limit if self._offset == 0 else None  # fill up to a limit from the top
        while fill is not None and len(records) < fill and len(entries) == fill:
            entries = self._feed.entries(0, self._limit, entries[-1])
            records += existing_records(storage, entries)
        return Page(storage, records[: self._limit]).actions
