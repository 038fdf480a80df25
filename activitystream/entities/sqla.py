"""SQLAlchemy entities: keys from the mapper; the host's classes from its declarative registry."""

from collections.abc import Iterator
from typing import Any

from sqlalchemy import inspect
from sqlalchemy.orm import Mapper, object_session

from .base import COMPOSITE, EntityAdapter, KeyAttribute


def _mapper(cls: type) -> Mapper[Any] | None:
    found: Any = inspect(cls, raiseerr=False)
    return found if isinstance(found, Mapper) else None


class SQLAEntities(EntityAdapter):
    label = 'SQLAlchemy'

    def key_attribute(self, cls: type) -> KeyAttribute:
        mapper = _mapper(cls)
        if mapper is None:
            return None
        if len(mapper.primary_key) != 1:
            return COMPOSITE
        return mapper.get_property_by_column(mapper.primary_key[0]).key

    def key_type(self, cls: type) -> Any:
        mapper = _mapper(cls)
        try:
            return str if mapper is None else mapper.primary_key[0].type.python_type
        except NotImplementedError:  # a column type that does not say
            return str

    def assign_key(self, entity: Any) -> None:
        """A pending entity's key comes from a flush of its session (the host's transaction)."""
        session = object_session(entity)
        if session is not None:
            session.flush()

    def column_names(self, cls: type) -> frozenset[str]:
        mapper: Any = _mapper(cls)
        return frozenset(mapper.column_attrs.keys())

    def mapped_names(self, cls: type) -> frozenset[str]:
        mapper: Any = _mapper(cls)
        return frozenset(mapper.attrs.keys())

    def host_classes(self, host_model: Any) -> Iterator[type]:
        registry = getattr(getattr(host_model, 'DeclarativeBase', None), 'registry', None)
        if registry is not None:
            yield from (m.class_ for m in registry.mappers)
