"""Registered entity type names <-> host classes, for the running application.

A reference stores the registered name of its entity's class: the name the
``entity_types`` plug option gives it, else the class's own
``__activitystream_type__``, else its class name (what every stored
reference holds so far). Two classes under one name would make references
ambiguous: the application refuses to start, naming both (or, for a class
mapped later, the first reference to it fails the same way).
"""

import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from ..options import TYPE_NAME, ConfigurationError
from ..storage.base import Ref, Storage
from . import shown
from .base import EntityAdapter, KeyAttribute

TYPE_ATTRIBUTE = '__activitystream_type__'
INT64 = (-(2**63), 2**63 - 1)  # the keys databases store and compare


def qualified(cls: type) -> str:
    return f'{cls.__module__}.{cls.__qualname__}'


def _declared_name(cls: type) -> Any:
    """The class's own ``__activitystream_type__`` (not a base's), else its name."""
    return vars(cls).get(TYPE_ATTRIBUTE) or cls.__name__


def _collision(name: str, kept: type, other: type) -> str:
    return (
        f'activitystream: {qualified(kept)} and {qualified(other)} are both entity type '
        f'{name!r}. Give one of them another name: {TYPE_ATTRIBUTE} = "NewName" in its '
        f"class, or plug(..., entity_types={{'NewName': '{qualified(other)}'}}). "
        f'References stored under {name!r} keep meaning the class that keeps the name'
    )


class EntityTypes:
    """The names references store, for one application and its ORM's adapter.

    Built when the application is configured, from the ``entity_types``
    option and every class the host maps; a class met later (a model module
    imported on demand) is registered when first referenced or looked up.
    """

    def __init__(self, adapter: EntityAdapter, named: Mapping[str, type], host_model: Any):
        self.adapter = adapter
        self._host_model = host_model
        self._given = {cls: name for name, cls in named.items()}
        self._classes: dict[str, type] = {}
        self._names: dict[type, str] = {}
        self._keys: dict[type, tuple[KeyAttribute, Any]] = {}
        self._simple: dict[type, tuple[str, str]] = {}  # class -> (name, key attribute)
        self._shown: dict[type, tuple[str, ...] | None] = {}  # class -> shown_names
        self._stand_ins: dict[type, type[shown.Shown]] = {}
        for name, cls in named.items():
            if self.key_attribute(cls) is None:
                raise ConfigurationError(
                    f'activitystream option entity_types[{name!r}]: {qualified(cls)} is not '
                    f'a class {adapter.label} maps'
                )
        self._learn(named.values())
        self._learn(adapter.host_classes(host_model))

    def _learn(self, classes: Iterable[type]) -> None:
        for cls in sorted(classes, key=qualified):  # in an order that names collisions alike
            self.name_of(cls)

    def _key(self, cls: type) -> tuple[KeyAttribute, Any]:
        """(key attribute, key type) of ``cls``, asked of the adapter once per class."""
        try:
            return self._keys[cls]
        except KeyError:
            found = self._keys[cls] = self.adapter.key_attribute(cls), self.adapter.key_type(cls)
            return found

    def key_attribute(self, cls: type) -> KeyAttribute:
        """Where instances of ``cls`` keep their key (every read asks)."""
        return self._key(cls)[0]

    def key_type(self, cls: type) -> Any:
        return self._key(cls)[1]

    def name_of(self, cls: type) -> str:
        """The registered name of mapped class ``cls``, registering it when first met."""
        try:
            return self._names[cls]
        except KeyError:
            pass
        own = vars(cls).get(TYPE_ATTRIBUTE)
        if own is not None and not (isinstance(own, str) and TYPE_NAME.match(own)):
            raise ConfigurationError(
                f'{qualified(cls)}.{TYPE_ATTRIBUTE} must be 1 to 128 letters, digits or '
                f'underscores, not starting with a digit; got {own!r}'
            )
        name = self._given.get(cls) or own or cls.__name__
        kept = self._classes.setdefault(name, cls)
        if kept is not cls:
            raise ConfigurationError(_collision(name, kept, cls))
        self._names[cls] = name
        return name

    def class_of(self, name: str) -> type | None:
        """The class registered as ``name``, or None when no class is (any more)."""
        found = self._classes.get(name)
        if found is None:
            self._learn(self.adapter.host_classes(self._host_model))  # mapped since the start
            found = self._classes.get(name) or self._elsewhere(name)
        return found

    def _elsewhere(self, name: str) -> type | None:
        """The one class named ``name`` on the host's model or mapped in the process, if one."""
        exposed = getattr(self._host_model, name, None)
        candidates = {
            cls
            for cls in (exposed, *self.adapter.other_classes())
            if isinstance(cls, type)
            and cls not in self._names
            and self.key_attribute(cls) is not None
            and _declared_name(cls) == name
        }
        if len(candidates) != 1:
            return None
        [cls] = candidates
        self.name_of(cls)
        return cls

    def ref_of(self, entity: Any, argname: str, flush: bool) -> Ref:
        """The reference of a host entity; a pending one is flushed only when ``flush``."""
        cls = shown.entity_class(entity)
        attribute = self.key_attribute(cls)
        if attribute is None:
            raise TypeError(
                f'{argname} must be a mapped entity ({self.adapter.label}), got {cls.__name__}'
            )
        if not isinstance(attribute, str):
            raise ValueError(f'{argname}: {cls.__name__} has a composite primary key')
        key = getattr(entity, attribute)
        if key is None and flush:
            self.adapter.assign_key(entity)
            key = getattr(entity, attribute)
        if key is None:
            hint = 'add it to the session first' if flush else 'flush its session first'
            raise ValueError(f'{argname}: {cls.__name__} has no primary key yet; {hint}')
        name = self._simple.setdefault(cls, (self.name_of(cls), attribute))[0]
        return Ref(name, str(key))

    def known_ref(self, entity: Any) -> Ref | None:
        """``ref_of`` for an entity of a class ``ref_of`` has already accepted, whose key
        is set; None otherwise (then ask ``ref_of``): a fan-out's thousands of recipients."""
        simple = self._simple.get(type(entity))
        if simple is None:
            return None
        key = getattr(entity, simple[1])
        return None if key is None else Ref(simple[0], str(key))

    def stored_key(self, cls: type, id_string: str) -> Any:
        """A stored id string as a primary key value of ``cls`` (the text when it is not one)."""
        key_type = self.key_type(cls)
        if key_type in (str, None) or not isinstance(key_type, type):
            return id_string
        try:
            return uuid.UUID(id_string) if key_type is uuid.UUID else key_type(id_string)
        except (TypeError, ValueError):
            return id_string

    def _strict_key(self, cls: type, id_string: str) -> Any:
        """``id_string`` as a primary key of ``cls``, or None when it cannot be one."""
        try:
            key = self.stored_key(cls, id_string)
        except Exception:  # noqa: BLE001 - an ObjectId that is none raises bson's own error
            return None
        expected = self.key_type(cls)
        if (
            isinstance(key, str)
            and isinstance(expected, type)
            and issubclass(expected, (int, float, uuid.UUID))
        ):
            return None  # stored_key gave the text back: it is not a number or a UUID
        return None if isinstance(key, int) and not INT64[0] <= key <= INT64[1] else key

    def _primary_keys(self, cls: type, ids: Iterable[str]) -> dict[Any, str]:
        """{primary key: id} of the ``ids`` that can be keys of ``cls`` (``_strict_key``)."""
        if self.key_type(cls) is not int:
            return {key: id_ for id_ in ids if (key := self._strict_key(cls, id_)) is not None}
        keys = {}  # most keys, and a page has one per entity: the same, inline
        for id_ in ids:
            try:
                key = int(id_)
            except (TypeError, ValueError):
                continue
            if INT64[0] <= key <= INT64[1]:
                keys[key] = id_
        return keys

    def load_many(self, storage: Storage, type_name: str, ids: Iterable[str]) -> dict[str, Any]:
        """{id: entity} of the entities stored as ``type_name`` with ``ids`` (see :meth:`load`)."""
        return self.load(storage, {type_name: ids})[type_name]

    def load(
        self, storage: Storage, wanted: Mapping[str, Iterable[str]]
    ) -> dict[str, dict[str, Any]]:
        """{type name: {id: entity}} of the entities stored under those names with those ids.

        Every class at once: ``storage.load_entities_of``, one query on SQL
        whatever the number of classes. Ids of no entity (deleted, of a class
        gone, or not a key of the class) are left out. A class whose key has
        several columns is a ValueError: no reference can name one of its rows.
        """
        asked = self._asked(wanted)
        loaded = storage.load_entities_of({cls: list(keys) for cls, (*_, keys) in asked.items()})
        found: dict[str, dict[str, Any]] = {type_name: {} for type_name in wanted}
        self._sort(found, asked, loaded)
        return found

    def load_shown(
        self, storage: Storage, wanted: Mapping[str, Iterable[str]]
    ) -> dict[str, dict[str, Any]]:
        """:meth:`load` for rows: when every class asked lists ``__activitystream_display__``,
        :class:`~.shown.Shown` objects of those attributes (as many queries as :meth:`load`
        takes, or fewer), but for the entities the host's session holds already."""
        asked = self._asked(wanted)
        listed = {}
        for cls in asked:
            names = self.shown_names(cls)
            if names is None:
                return self.load(storage, wanted)
            listed[cls] = names
        found: dict[str, dict[str, Any]] = {type_name: {} for type_name in wanted}
        held = {cls: storage.held_entities(cls, asked[cls][2], listed[cls]) for cls in asked}
        read = storage.read_shown(
            {cls: (names, [k for k in asked[cls][2] if k not in held[cls]])
             for cls, names in listed.items()}
        )  # fmt: skip
        if read is None:
            return self.load(storage, wanted)
        self._sort(found, asked, {cls: list(entities.values()) for cls, entities in held.items()})
        for cls, rows in read.items():
            type_name, _, keys = asked[cls]
            into, stand_in, names = found[type_name], self._stand_ins[cls], listed[cls]
            for row in rows:
                into[keys.get(row[0], str(row[0]))] = shown.make(stand_in, names, row)
        return found

    def shown_names(self, cls: type) -> tuple[str, ...] | None:
        """The attributes a :class:`~.shown.Shown` of ``cls`` holds (its key first), or None
        when its class lists none. A name it does not map is a ConfigurationError."""
        try:
            return self._shown[cls]
        except KeyError:
            pass
        declared = shown.declared(cls)
        names = None
        if declared is not None:
            key = self.key_attribute(cls)
            assert isinstance(key, str)  # _asked refused the others
            names = (key, *(name for name in declared if name != key))
            columns = self.adapter.column_names(cls)
            unknown = [name for name in names if name not in columns]
            if unknown:
                raise ConfigurationError(
                    f'{qualified(cls)}.{shown.DISPLAY_ATTRIBUTE} lists {unknown[0]!r}, which is '
                    f'not a column {self.adapter.label} maps on it'
                )
            mapped = self.adapter.mapped_names(cls)
            self._stand_ins[cls] = shown.shown_class(cls, names, mapped)
        self._shown[cls] = names
        return names

    def _asked(self, wanted: Mapping[str, Iterable[str]]) -> dict[type, tuple[str, str, dict]]:
        """class -> (its type name, its key attribute, {key: id asked}) of ``wanted``."""
        asked: dict[type, tuple[str, str, dict[Any, str]]] = {}
        for type_name, ids in wanted.items():
            cls = self.class_of(type_name)
            if cls is None:
                continue
            attribute = self.key_attribute(cls)
            if not isinstance(attribute, str):
                raise ValueError(f'{type_name} has a composite primary key: not supported')
            asked[cls] = type_name, attribute, self._primary_keys(cls, ids)  # one class per name
        return asked

    @staticmethod
    def _sort(
        found: dict[str, dict[str, Any]],
        asked: Mapping[type, tuple[str, str, dict]],
        loaded: Mapping[type, list],
    ) -> None:
        """Put the ``loaded`` entities of each class under their type name and asked id."""
        for cls, entities in loaded.items():
            type_name, attribute, keys = asked[cls]
            into = found[type_name]
            for entity in entities:
                key = getattr(entity, attribute)
                into[keys.get(key, str(key))] = entity
