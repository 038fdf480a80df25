"""A lazy, chainable query of entities: the subscribers of an object, or its subscriptions.

It answers like ``am.get_by_recipient``'s query: ``.limit(n)``, ``.offset(n)``,
``.all()``, ``.first()``, ``.count()``, slicing and iteration. A page costs
one query for the references plus one for their entities, never one per row.
"""

from collections.abc import Callable
from typing import Any

from .. import refs
from ..query import LazyQuery
from ..storage.base import Ref, Storage


class EntityQuery(LazyQuery[Any]):
    noun = 'entity'

    def __init__(
        self,
        storage: Storage,
        fetch: Callable[[int | None, int], list[Ref]],
        total: Callable[[], int],
        limit: int | None = None,
        offset: int = 0,
    ) -> None:
        super().__init__(limit, offset)
        self._storage = storage
        self._fetch = fetch
        self._count_all = total

    def _copy(self, limit: int | None, offset: int) -> 'EntityQuery':
        return EntityQuery(self._storage, self._fetch, self._count_all, limit, offset)

    def _total(self) -> int:
        return self._count_all()

    def refs(self) -> list[Ref]:
        """The stored references, without loading the entities."""
        return [] if self._limit == 0 else self._fetch(self._limit, self._offset)

    def all(self) -> list[Any]:
        """The entities, newest subscription first; deleted entities are left out."""
        found = self.refs()
        entities = refs.resolve(self._storage, found)
        return [entities[ref] for ref in found if entities[ref] is not None]
