"""A lazy, chainable query of actions, newest first.

It answers the calls the seed README and its users make on a Ming or
SQLAlchemy query: ``.limit(n)``, ``.offset(n)``, ``.all()``, ``.first()``,
``.count()``, slicing and iteration. Nothing is read until one of the last
four is called. ``.before(cursor)`` pages by position instead of offset, at
the same cost on page 1 and page 1000: a cursor is ``action.cursor``.
"""

import base64
import binascii
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Generic, TypeVar, overload

from .storage.base import ActionRecord, Cursor
from .timeutil import to_utc

if TYPE_CHECKING:
    from .action import Action, Page

T = TypeVar('T')
Q = TypeVar('Q', bound='LazyQuery[Any]')


@dataclass(frozen=True)
class Source:
    """Where a query reads from: the storage calls of one stream."""

    fetch: Callable[[int | None, int, Cursor | None], list[ActionRecord]]
    total: Callable[[], int]  # number of records in the stream
    page: Callable[[list[ActionRecord]], 'Page']
    action_id: Callable[[str], Any]  # the storage's action id, ValueError if it is none


def encode_cursor(action: Any) -> str:
    """An opaque, URL-safe position: after it come the actions older than ``action``."""
    text = f'{action.timestamp.isoformat(timespec="milliseconds")}/{action.id}'
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip('=')


def decode_cursor(text: str, action_id: Callable[[str], Any]) -> Cursor:
    """The Cursor written by ``encode_cursor``; ValueError naming ``before`` otherwise."""
    try:
        padded = text + '=' * (-len(text) % 4)
        when, id_text = base64.urlsafe_b64decode(padded.encode()).decode().split('/')
        return Cursor(to_utc(datetime.fromisoformat(when), 'before'), action_id(id_text))
    except (AttributeError, TypeError, ValueError, UnicodeError, binascii.Error):
        raise ValueError(f'before is not a cursor of this stream: {text!r}') from None


# the largest limit, offset or index: every database (and MongoDB's 32-bit limit) takes it
MAX_WINDOW = 2**31 - 1


def _non_negative(value: Any, name: str) -> int:
    """``value`` as a window bound: an int from 0 to MAX_WINDOW, else an error naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f'{name} must be an integer, got {type(value).__name__}')
    if value < 0:
        raise ValueError(f'{name} must not be negative, got {value}')
    if value > MAX_WINDOW:
        raise ValueError(f'{name} must be at most {MAX_WINDOW}, got {value}')
    return value


class LazyQuery(Generic[T]):
    """Paging by limit and offset, slicing and iteration over ``all()``.

    Subclasses say how to copy themselves with another window (``_copy``),
    how to read it (``all``) and how many there are in all (``_total``).
    """

    noun = 'item'

    def __init__(self, limit: int | None = None, offset: int = 0) -> None:
        self._limit = limit
        self._offset = offset

    def _copy(self: Q, limit: int | None, offset: int) -> Q:
        raise NotImplementedError

    def _total(self) -> int:
        raise NotImplementedError

    def all(self) -> list[T]:
        """The items as a list."""
        raise NotImplementedError

    def limit(self: Q, n: int | None) -> Q:
        """At most ``n`` items (``None`` for no limit)."""
        return self._copy(None if n is None else _non_negative(n, 'limit'), self._offset)

    def offset(self: Q, n: int) -> Q:
        """Skip the newest ``n`` items."""
        return self._copy(self._limit, _non_negative(n, 'offset'))

    def first(self) -> T | None:
        """The newest item, or None."""
        found = self.limit(1).all()
        return found[0] if found else None

    def count(self) -> int:
        """How many items ``all()`` would return."""
        left = max(0, self._total() - self._offset)
        return left if self._limit is None else min(left, self._limit)

    def __iter__(self) -> Iterator[T]:
        return iter(self.all())

    def _window(self: Q, start: int, stop: int | None) -> Q:
        """This query's items [start:stop], as a query."""
        limit = None if stop is None else max(0, stop - start)
        if self._limit is not None:
            room = max(0, self._limit - start)
            limit = room if limit is None else min(limit, room)
        return self._copy(limit, _non_negative(self._offset + start, 'offset'))

    @overload
    def __getitem__(self, item: int) -> T: ...

    @overload
    def __getitem__(self, item: slice) -> list[T]: ...

    def __getitem__(self, item: int | slice) -> T | list[T]:
        if isinstance(item, slice):
            if item.step not in (None, 1):
                raise ValueError(f'slicing a query of {self.noun}s takes no step')
            start = _non_negative(item.start or 0, 'slice start')
            stop = None if item.stop is None else _non_negative(item.stop, 'slice stop')
            return self._window(start, stop).all()
        index = _non_negative(item, 'index')
        found = self._window(index, index + 1).all()
        if not found:
            raise IndexError(f'{self.noun} index out of range')
        return found[0]


class ActionQuery(LazyQuery['Action']):
    noun = 'action'

    def __init__(
        self,
        source: Source,
        limit: int | None = None,
        offset: int = 0,
        before: Cursor | None = None,
    ) -> None:
        super().__init__(limit, offset)
        self._source = source
        self._before = before

    def _copy(self, limit: int | None, offset: int, before: Cursor | None = None) -> 'ActionQuery':
        return ActionQuery(self._source, limit, offset, before or self._before)

    def _total(self) -> int:
        if self._before is not None:
            raise ValueError('count() of a page after a cursor: count the query without before()')
        return self._source.total()

    def before(self, cursor: Any) -> 'ActionQuery':
        """Only actions older than ``cursor`` (an ``action.cursor`` string, or the action)."""
        if hasattr(cursor, 'timestamp') and hasattr(cursor, 'id'):
            position = Cursor(cursor.timestamp, cursor.id)
        elif isinstance(cursor, str):
            position = decode_cursor(cursor, self._source.action_id)
        else:
            raise TypeError(f'before must be a cursor string or an action, got {cursor!r}')
        return self._copy(self._limit, self._offset, position)

    def all(self) -> list['Action']:
        """The actions as a list; their entities load together on first use."""
        if self._limit == 0:
            return []
        records = self._source.fetch(self._limit, self._offset, self._before)
        return self._source.page(records).actions
