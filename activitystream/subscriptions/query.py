"""A lazy, chainable query of entities: the subscribers of an object, or its subscriptions.

It answers like ``am.get_by_recipient``'s query: ``.limit(n)``, ``.offset(n)``,
``.all()``, ``.first()``, ``.count()``, slicing and iteration. A page costs
one query for the references plus one per entity class, never one per row.
"""

from .. import refs
from ..query import LazyQuery


class EntityQuery(LazyQuery):
    noun = 'entity'

    def __init__(self, storage, fetch, total, limit=None, offset=0):
        super().__init__(limit, offset)
        self._storage = storage
        self._fetch = fetch  # (limit, offset) -> [Ref]
        self._total = total  # () -> int

    def _copy(self, limit, offset):
        return EntityQuery(self._storage, self._fetch, self._total, limit, offset)

    def refs(self):
        """The stored references, without loading the entities."""
        return [] if self._limit == 0 else self._fetch(self._limit, self._offset)

    def all(self):
        """The entities, newest subscription first; deleted entities are left out."""
        found = self.refs()
        entities = refs.resolve(self._storage, found)
        return [entities[ref] for ref in found if entities[ref] is not None]
