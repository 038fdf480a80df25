"""A lazy, chainable query of entities: the subscribers of an object, or its subscriptions.

It answers like ``am.get_by_recipient``'s query: ``.limit(n)``, ``.offset(n)``,
``.all()``, ``.first()``, ``.count()``, slicing and iteration. A page costs
one query for the references plus one per entity class, never one per row.
"""

from .. import refs
from ..query import _non_negative


class EntityQuery:
    def __init__(self, storage, fetch, total, limit=None, offset=0):
        self._storage = storage
        self._fetch = fetch  # (limit, offset) -> [Ref]
        self._total = total  # () -> int
        self._limit = limit
        self._offset = offset

    def _copy(self, limit, offset):
        return EntityQuery(self._storage, self._fetch, self._total, limit, offset)

    def limit(self, n):
        """At most ``n`` entities (``None`` for no limit)."""
        return self._copy(None if n is None else _non_negative(n, 'limit'), self._offset)

    def offset(self, n):
        """Skip the newest ``n``."""
        return self._copy(self._limit, _non_negative(n, 'offset'))

    def refs(self):
        """The stored references, without loading the entities."""
        return [] if self._limit == 0 else self._fetch(self._limit, self._offset)

    def all(self):
        """The entities, newest subscription first; deleted entities are left out."""
        found = self.refs()
        entities = refs.resolve(self._storage, found)
        return [entities[ref] for ref in found if entities[ref] is not None]

    def first(self):
        found = self.limit(1).all()
        return found[0] if found else None

    def count(self):
        """How many subscriptions ``refs()`` would return."""
        left = max(0, self._total() - self._offset)
        return left if self._limit is None else min(left, self._limit)

    def __iter__(self):
        return iter(self.all())

    def __getitem__(self, item):
        if isinstance(item, slice):
            if item.step not in (None, 1):
                raise ValueError('slicing a subscription query takes no step')
            start = _non_negative(item.start or 0, 'slice start')
            stop = None if item.stop is None else _non_negative(item.stop, 'slice stop')
            return self._window(start, stop).all()
        index = _non_negative(item, 'index')
        found = self._window(index, index + 1).all()
        if not found:
            raise IndexError('subscription query index out of range')
        return found[0]

    def _window(self, start, stop):
        """This query's items [start:stop], as a query."""
        limit = None if stop is None else max(0, stop - start)
        if self._limit is not None:
            room = max(0, self._limit - start)
            limit = room if limit is None else min(limit, room)
        return self._copy(limit, self._offset + start)
