"""Host entities as stored references, and back again in batches.

An entity is stored as ``Ref(class name, primary key as a string)``, so int,
string, UUID and ObjectId keys all fit one column. Resolving a page of
references costs one query per entity class, never one per row.
"""

import uuid
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from . import checks
from .storage.base import Ref, Storage

_classes: dict[str, type] = {}  # class name -> mapped class, learnt from entities we were given


_key_attributes: dict[type, Any] = {}  # mapped class -> the attribute holding its primary key
COMPOSITE = object()  # the key attribute of a class whose primary key has several columns


def _sqla_key_attribute(cls: type) -> Any:
    try:
        from sqlalchemy import inspect
    except ImportError:  # pragma: no cover - the package works without SQLAlchemy
        return None
    mapper: Any = inspect(cls, raiseerr=False)
    if not hasattr(mapper, 'primary_key'):
        return None
    if len(mapper.primary_key) != 1:
        return COMPOSITE
    return mapper.get_property_by_column(mapper.primary_key[0]).key


def _ming_key_attribute(cls: type) -> str | None:
    try:
        from ming.odm import mapper
    except ImportError:  # pragma: no cover - the package works without Ming
        return None
    try:
        mapper(cls)
    except (KeyError, AttributeError):
        return None
    return '_id'


def _key_attribute(cls: type) -> Any:
    """Where instances of ``cls`` keep their primary key; None if it is not mapped.

    Looked up once per class: ``ref_of`` is on every read path.
    """
    try:
        return _key_attributes[cls]
    except KeyError:
        found = _sqla_key_attribute(cls) or _ming_key_attribute(cls)
        _key_attributes[cls] = found
        return found


def _flushed_key(obj: Any, attribute: str) -> Any:
    """The key of a pending SQLAlchemy entity, which gets one when its session flushes."""
    try:
        from sqlalchemy.orm import object_session
    except ImportError:  # pragma: no cover
        return None
    session = object_session(obj)
    if session is None:
        return None
    session.flush()  # inside the host's transaction
    return getattr(obj, attribute)


def ref_of(obj: Any, argname: str) -> Ref:
    """The stored reference of host entity ``obj`` (a Ref stays one); errors name ``argname``."""
    if obj is None:
        raise ValueError(f'{argname} is required')
    if isinstance(obj, Ref):
        return checks.ref(obj, argname)
    cls = type(obj)
    if isinstance(obj, type):
        raise TypeError(f'{argname} must be a mapped entity instance, got the class {obj.__name__}')
    attribute = _key_attribute(cls)
    if attribute is None:
        raise TypeError(
            f'{argname} must be a mapped entity (SQLAlchemy or Ming), got {cls.__name__}'
        )
    if attribute is COMPOSITE:
        raise ValueError(f'{argname}: {cls.__name__} has a composite primary key')
    key = getattr(obj, attribute)
    if key is None:
        key = _flushed_key(obj, attribute)
    if key is None:
        raise ValueError(
            f'{argname}: {cls.__name__} has no primary key yet; add it to the session first'
        )
    if cls.__name__ not in _classes:
        _classes[cls.__name__] = cls
    return Ref(cls.__name__, str(key))


def forget_classes() -> None:
    """Drop learnt classes: a new application has its own (see model.configure_models)."""
    _classes.clear()


def ref_list(recipients: Any, argname: str) -> tuple[list[Ref], list[Any]] | tuple[None, None]:
    """Refs and entities of an entity or a list of them (None stays None), deduplicated."""
    if recipients is None:
        return None, None
    if isinstance(recipients, (str, bytes, Mapping)) or not isinstance(recipients, Iterable):
        try:  # a single entity is a list of one
            return [ref_of(recipients, argname)], [recipients]
        except TypeError:
            raise TypeError(
                f'{argname} must be a list of mapped entities or None, '
                f'got {type(recipients).__name__}'
            ) from None
    found: dict[Ref, Any] = {}
    entities: list[Any] = []
    for index, entity in enumerate(recipients):
        if entity is None:
            raise TypeError(f'{argname}[{index}] is None, not a mapped entity')
        ref = ref_of(entity, f'{argname}[{index}]')
        if ref not in found:
            found[ref] = entity
            entities.append(entity)
    return list(found), entities


def _app_model_class(name: str) -> Any:
    from tgext.pluggable import app_model

    try:
        return getattr(app_model, name, None)
    except Exception:  # app_model is not configured outside an application
        return None


def _mapped_classes() -> Iterator[type]:
    """Every mapped class we can find, for types never seen by this process."""
    try:
        from ming.odm import Mapper

        yield from (m.mapped_class for m in Mapper.all_mappers())
    except ImportError:  # pragma: no cover
        pass
    base = _app_model_class('DeclarativeBase')
    registry = getattr(base, 'registry', None)
    if registry is not None:
        yield from (m.class_ for m in registry.mappers)


def entity_class(type_name: str) -> type | None:
    """The mapped class stored as ``type_name``, or None when there is none (any more)."""
    cls = _app_model_class(type_name)
    if not (isinstance(cls, type) and _key_attribute(cls) not in (None, COMPOSITE)):
        cls = _classes.get(type_name)
    if cls is None:
        cls = next((c for c in _mapped_classes() if c.__name__ == type_name), None)
    if cls is not None:
        _classes[type_name] = cls
    return cls


_key_types: dict[type, Any] = {}  # mapped class -> the Python type of its primary key


def _key_type(cls: type) -> Any:
    """The Python type of ``cls``'s primary key, looked up once per class."""
    try:
        return _key_types[cls]
    except KeyError:
        found = _key_types[cls] = _mapped_key_type(cls)
        return found


def _mapped_key_type(cls: type) -> Any:
    try:
        from sqlalchemy import inspect

        mapper: Any = inspect(cls, raiseerr=False)
        if mapper is not None and hasattr(mapper, 'primary_key'):
            return mapper.primary_key[0].type.python_type
    except (ImportError, NotImplementedError):
        pass
    try:
        from bson import ObjectId
        from ming import schema
        from ming.odm import mapper

        field_type = mapper(cls).property_index['_id'].field.type
        return ObjectId if field_type in (schema.ObjectId, ObjectId) else field_type
    except (ImportError, KeyError, AttributeError):
        return str


def stored_key(cls: type, id_string: str) -> Any:
    """Turn a stored id string back into the primary key value of ``cls``."""
    key_type = _key_type(cls)
    if key_type in (str, None) or not isinstance(key_type, type):
        return id_string
    try:
        return uuid.UUID(id_string) if key_type is uuid.UUID else key_type(id_string)
    except (TypeError, ValueError):
        return id_string


INT64 = (-(2**63), 2**63 - 1)  # the keys databases store and compare


def _strict_key(cls: type, id_string: str) -> Any:
    """``id_string`` as a primary key of ``cls``, or None when it cannot be one."""
    try:
        key = stored_key(cls, id_string)
    except Exception:  # noqa: BLE001 - an ObjectId that is none raises bson's own error
        return None
    expected = _key_type(cls)
    if (
        isinstance(key, str)
        and isinstance(expected, type)
        and issubclass(expected, (int, float, uuid.UUID))
    ):
        return None  # stored_key gave the text back: it is not a number or a UUID
    return None if isinstance(key, int) and not INT64[0] <= key <= INT64[1] else key


def find(storage: Storage, type_name: str, id_string: str) -> Any:
    """The entity stored as ``Ref(type_name, id_string)``, or None when there is none.

    For names that come from outside (a URL): an unknown class, a key that
    cannot be one of that class or a missing row are all None, never an error.
    A class whose primary key has several columns is a ValueError: no
    reference can name one of its rows.
    """
    cls = entity_class(type_name)
    if cls is None:
        return None
    if _key_attribute(cls) is COMPOSITE:
        raise ValueError(f'{type_name} has a composite primary key: not supported')
    key = _strict_key(cls, id_string)
    found = [] if key is None else storage.load_entities(cls, [key])
    return found[0] if found else None


def primary_key_of(entity: Any) -> str:
    """The primary key value of a loaded entity, as stored (a string)."""
    return ref_of(entity, 'entity').id


def resolve(storage: Storage, refs: Iterable[Ref | None]) -> dict[Ref, Any]:
    """Load the entities behind ``refs``: one query per entity class.

    Returns {Ref: entity or None}; None stands for a deleted entity or class.
    """
    by_type: dict[str, set[str]] = {}
    for ref in refs:
        if ref is not None:
            by_type.setdefault(ref.type, set()).add(ref.id)
    found: dict[Ref, Any] = {}
    for type_name, ids in by_type.items():
        cls = entity_class(type_name)
        loaded = storage.load_entities(cls, [stored_key(cls, i) for i in ids]) if cls else []
        attribute = cls and _key_attribute(cls)
        for entity in loaded:
            key = getattr(entity, attribute) if isinstance(attribute, str) else None
            found[Ref(type_name, primary_key_of(entity) if key is None else str(key))] = entity
        for id_ in ids:
            found.setdefault(Ref(type_name, id_), None)
    return found


DISPLAY_ATTRIBUTES = ('display_name', 'user_name', 'name', 'title')
_LIBRARIES = ('builtins', 'sqlalchemy', 'ming')  # their __str__ is a repr: a record, a hash


def _own_str(cls: type) -> Any:
    """The ``__str__`` the host wrote for ``cls`` (or a base of its own), else None."""
    for klass in cls.__mro__:
        if '__str__' in vars(klass):
            return None if klass.__module__.split('.')[0] in _LIBRARIES else klass.__str__
    return None


def display(entity: Any) -> str | None:
    """How an entity is shown: never its ``repr``, which may hold an e-mail or a password hash.

    Its ``as_str`` (attribute or method), else a ``__str__`` its class defines,
    else its first non-empty ``display_name``, ``user_name``, ``name`` or
    ``title``, else ``'<Type> #<id>'``.
    """
    if entity is None:
        return None
    as_str = getattr(entity, 'as_str', None)
    if as_str is not None:
        return as_str() if callable(as_str) else as_str
    own_str = _own_str(type(entity))
    if own_str is not None:
        return own_str(entity)
    for name in DISPLAY_ATTRIBUTES:
        value = getattr(entity, name, None)
        if isinstance(value, str) and value:
            return value
    try:
        return f'{type(entity).__name__} #{ref_of(entity, "entity").id}'
    except (TypeError, ValueError):  # not mapped, or no single key: the class name alone
        return type(entity).__name__
