"""A lazy, chainable query of actions, newest first.

It answers the calls the seed README and its users make on a Ming or
SQLAlchemy query: ``.limit(n)``, ``.offset(n)``, ``.all()``, ``.first()``,
``.count()``, slicing and iteration. Nothing is read until one of the last
four is called.
"""


def _non_negative(value, name):
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f'{name} must be an integer, got {type(value).__name__}')
    if value < 0:
        raise ValueError(f'{name} must not be negative, got {value}')
    return value


class ActionQuery:
    def __init__(self, fetch, total, make_page, limit=None, offset=0):
        self._fetch = fetch  # (limit, offset) -> records
        self._total = total  # () -> number of records without limit/offset
        self._make_page = make_page  # records -> Page
        self._limit = limit
        self._offset = offset

    def _copy(self, limit, offset):
        return ActionQuery(self._fetch, self._total, self._make_page, limit, offset)

    def limit(self, n):
        """At most ``n`` actions (``None`` for no limit)."""
        return self._copy(None if n is None else _non_negative(n, 'limit'), self._offset)

    def offset(self, n):
        """Skip the newest ``n`` actions."""
        return self._copy(self._limit, _non_negative(n, 'offset'))

    def all(self):
        """The actions as a list; their entities load together on first use."""
        if self._limit == 0:
            return []
        return self._make_page(self._fetch(self._limit, self._offset)).actions

    def first(self):
        """The newest action, or None."""
        found = self.limit(1).all()
        return found[0] if found else None

    def count(self):
        """How many actions ``all()`` would return."""
        left = max(0, self._total() - self._offset)
        return left if self._limit is None else min(left, self._limit)

    def __iter__(self):
        return iter(self.all())

    def __getitem__(self, item):
        if isinstance(item, slice):
            if item.step not in (None, 1):
                raise ValueError('slicing an ActionQuery takes no step')
            start = _non_negative(item.start or 0, 'slice start')
            stop = item.stop
            limit = None if stop is None else max(0, _non_negative(stop, 'slice stop') - start)
            if self._limit is not None:
                room = max(0, self._limit - start)
                limit = room if limit is None else min(limit, room)
            return self._copy(limit, self._offset + start).all()
        index = _non_negative(item, 'index')
        if self._limit is not None and index >= self._limit:
            raise IndexError('ActionQuery index out of range')
        found = self._copy(1, self._offset + index).all()
        if not found:
            raise IndexError('ActionQuery index out of range')
        return found[0]
