"""Ming entities: every key is ``_id``; the host's classes are the ones on its session."""

from collections.abc import Iterator
from typing import Any

from bson import ObjectId
from ming import schema
from ming.odm import FieldProperty, Mapper

from .base import EntityAdapter, KeyAttribute


def _mapper(cls: type) -> Mapper | None:
    try:
        return Mapper.by_class(cls)
    except KeyError:
        return None


class MingEntities(EntityAdapter):
    label = 'Ming'

    def key_attribute(self, cls: type) -> KeyAttribute:
        return None if _mapper(cls) is None else '_id'

    def key_type(self, cls: type) -> Any:
        mapper = _mapper(cls)
        key: Any = mapper.property_index.get('_id') if mapper else None
        field_type = getattr(getattr(key, 'field', None), 'type', str)  # not mapped: text
        return ObjectId if field_type in (schema.ObjectId, ObjectId) else field_type

    def assign_key(self, entity: Any) -> None:
        """Nothing to do: a Ming entity has its ``_id`` from construction, or never."""

    def column_names(self, cls: type) -> frozenset[str]:
        mapper: Any = _mapper(cls)
        return frozenset(
            name for name, prop in mapper.property_index.items() if isinstance(prop, FieldProperty)
        )

    def mapped_names(self, cls: type) -> frozenset[str]:
        mapper: Any = _mapper(cls)
        return frozenset(mapper.property_index)

    def host_classes(self, host_model: Any) -> Iterator[type]:
        """Classes on the host's session: other applications' in this process are not the host's."""
        session = getattr(host_model, 'DBSession', None)
        yield from (m.mapped_class for m in Mapper.all_mappers() if m.session is session)

    def other_classes(self) -> Iterator[type]:
        yield from (m.mapped_class for m in Mapper.all_mappers())
