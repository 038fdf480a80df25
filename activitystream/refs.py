"""Host entities as stored references, and back again in batches.

An entity is stored as ``Ref(type name, primary key as a string)``, so int,
string, UUID and ObjectId keys all fit one column. The type name is the one
its class is registered under (:mod:`activitystream.entities`: the class name
unless the host names it otherwise). Resolving a page of references costs
one query on SQL (``storage.sqla.entities``; on Ming one per entity
type), never one per row.

Reading never flushes the host's session: only write paths pass
``flush=True``, which gives a pending SQLAlchemy entity its key.
"""

from collections.abc import Iterable, Mapping
from typing import Any

from . import checks, entities
from .entities import shown
from .storage.base import Ref, Storage


def ref_of(obj: Any, argname: str, flush: bool = False) -> Ref:
    """The stored reference of host entity ``obj`` (a Ref stays one); errors name ``argname``.

    ``flush``: a write path may flush the host's session to give a pending
    entity its key; a read refuses such an entity instead (ValueError).
    """
    if obj is None:
        raise ValueError(f'{argname} is required')
    if isinstance(obj, Ref):
        return checks.ref(obj, argname)
    if isinstance(obj, type):
        raise TypeError(f'{argname} must be a mapped entity instance, got the class {obj.__name__}')
    return entities.active().ref_of(obj, argname, flush)


def ref_list(
    recipients: Any, argname: str, flush: bool = False
) -> tuple[list[Ref], list[Any]] | tuple[None, None]:
    """Refs and entities of an entity or a list of them (None stays None), deduplicated."""
    if recipients is None:
        return None, None
    if isinstance(recipients, (str, bytes, Mapping)) or not isinstance(recipients, Iterable):
        try:  # a single entity is a list of one
            return [ref_of(recipients, argname, flush)], [recipients]
        except TypeError:
            raise TypeError(
                f'{argname} must be a list of mapped entities or None, '
                f'got {type(recipients).__name__}'
            ) from None
    found: dict[Ref, Any] = {}
    entities_given: list[Any] = []
    known_ref = entities.active().known_ref
    for index, entity in enumerate(recipients):
        ref = known_ref(entity)
        if ref is None:
            if entity is None:
                raise TypeError(f'{argname}[{index}] is None, not a mapped entity')
            ref = ref_of(entity, f'{argname}[{index}]', flush)
        if ref not in found:
            found[ref] = entity
            entities_given.append(entity)
    return list(found), entities_given


def entity_class(type_name: str) -> type | None:
    """The mapped class stored as ``type_name``, or None when there is none (any more)."""
    return entities.active().class_of(type_name)


def stored_key(cls: type, id_string: str) -> Any:
    """Turn a stored id string back into the primary key value of ``cls``."""
    return entities.active().stored_key(cls, id_string)


def find(storage: Storage, type_name: str, id_string: str) -> Any:
    """The entity stored as ``Ref(type_name, id_string)``, or None when there is none.

    For names that come from outside (a URL): an unknown type, a key that
    cannot be one of that class or a missing row are all None, never an error.
    A class whose primary key has several columns is a ValueError: no
    reference can name one of its rows.
    """
    return entities.active().load_many(storage, type_name, [id_string]).get(id_string)


def primary_key_of(entity: Any) -> str:
    """The primary key value of a loaded entity, as stored (a string)."""
    return ref_of(entity, 'entity').id


def resolve(storage: Storage, refs: Iterable[Ref | None], for_rows: bool = False) -> dict[Ref, Any]:
    """Load the entities behind ``refs``: one query for them all on SQL, one per type on Ming.

    Returns {Ref: entity or None}; None stands for a deleted entity or class.
    ``for_rows``: what rows show, where a class listing ``__activitystream_display__``
    comes as :class:`~.entities.shown.Shown` objects of those attributes alone.
    """
    wanted = {ref for ref in refs if ref is not None}
    by_type: dict[str, list[str]] = {}
    for ref in wanted:
        by_type.setdefault(ref.type, []).append(ref.id)
    types = entities.active()
    loaded = (types.load_shown if for_rows else types.load)(storage, by_type)
    return {ref: loaded[ref.type].get(ref.id) for ref in wanted}


def hook(entity: Any, name: str) -> Any:
    """The value of an entity's optional ``name`` (``as_link``...): a property's, or what
    the method returns; None when its class has none (or the entity is None)."""
    value = getattr(entity, name, None)
    return value() if callable(value) else value


DISPLAY_ATTRIBUTES = ('display_name', 'user_name', 'name', 'title')


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
    own_str = shown.own_str(type(entity))
    if own_str is not None:
        return own_str(entity)
    for name in DISPLAY_ATTRIBUTES:
        value = getattr(entity, name, None)
        if isinstance(value, str) and value:
            return value
    try:
        return f'{shown.entity_class(entity).__name__} #{ref_of(entity, "entity").id}'
    except (TypeError, ValueError):  # not mapped, or no single key: the class name alone
        return shown.entity_class(entity).__name__
