"""Entities as rows show them, read without the ORM where the class says what shows it.

A menu row needs three strings of an entity (its ``as_str``, ``as_link`` and
``as_avatar_url``), yet loading it through the ORM builds a mapped object of
every column: on SQLite that is most of a menu's time. A class that lists the
attributes those read::

    class User(DeclarativeBase):
        __activitystream_display__ = ('user_name', 'display_name')

is read as those columns alone (and its key), and each row's entity is a
:class:`Shown`: a plain object holding them, on which the class's own
``as_str``, ``as_link``, ``as_avatar_url``, ``__str__`` and other methods and
properties run (its ``__class__`` is the entity's class). Reading an
attribute the class maps but does not list is a ConfigurationError naming it,
never a silent None. Only rows use stand-ins: ``action.actor_entity`` and the
rest stay the ORM's objects.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Sequence
from typing import Any

from ..options import ConfigurationError

DISPLAY_ATTRIBUTE = '__activitystream_display__'


class Shown:
    """An entity as its class's ``__activitystream_display__`` shows it (see the module)."""

    __slots__ = ()
    _entity_class: type
    _mapped: frozenset[str]

    def __getattr__(self, name: str) -> Any:
        """A method or property of the entity's class, run on this object (found once)."""
        cls = type(self)
        entity_class = cls._entity_class
        found = (
            _MISSING
            if name.startswith('__')
            else inspect.getattr_static(entity_class, name, _MISSING)
        )
        if found is _MISSING:
            raise AttributeError(name)
        if name in cls._mapped:
            raise ConfigurationError(
                f'{entity_class.__module__}.{entity_class.__qualname__}.{name} is read to show '
                f'an entity, but its {DISPLAY_ATTRIBUTE} does not list it: add {name!r} to it'
            )
        setattr(cls, name, found)  # a method, a property, a constant: the class's own, from now on
        return getattr(self, name)

    def __repr__(self) -> str:
        return f'<{type(self).__name__}>'


_MISSING = object()
_LIBRARIES = ('builtins', 'sqlalchemy', 'ming')  # their __str__ is a repr: a record, a hash
_OWN_STR: dict[type, Any] = {}  # asked once per class: a menu shows a name per row


def own_str(cls: type) -> Any:
    """The ``__str__`` the host wrote for ``cls`` (or a base of its own), else None."""
    if cls not in _OWN_STR:
        _OWN_STR[cls] = next(
            (
                None if klass.__module__.split('.')[0] in _LIBRARIES else klass.__str__
                for klass in cls.__mro__
                if '__str__' in vars(klass)
            ),
            None,
        )
    return _OWN_STR[cls]


def entity_class(entity: Any) -> type:
    """The host class of ``entity``, a :class:`Shown` or the ORM's object."""
    return entity._entity_class if isinstance(entity, Shown) else type(entity)


def declared(cls: type) -> tuple[str, ...] | None:
    """The attributes ``cls`` lists in ``__activitystream_display__`` (a base's count), or None.

    A value that is not a list of attribute names is a ConfigurationError.
    """
    names = getattr(cls, DISPLAY_ATTRIBUTE, None)
    if names is None:
        return None
    if not isinstance(names, (tuple, list)) or not all(isinstance(n, str) and n for n in names):
        raise ConfigurationError(
            f'{cls.__module__}.{cls.__qualname__}.{DISPLAY_ATTRIBUTE} must be a tuple of '
            f'attribute names, got {names!r}'
        )
    return tuple(dict.fromkeys(names))


@functools.cache
def shown_class(cls: type, names: tuple[str, ...], mapped: frozenset[str]) -> type[Shown]:
    """The :class:`Shown` class of ``cls``: ``names`` (its key among them) as slots,
    ``mapped`` the attributes its ORM maps. Its own ``__str__`` is copied: Python looks
    dunder methods up on the class, never through ``__getattr__``. ``__class__`` answers
    ``cls`` (so does ``isinstance``), for methods that ask their class for its key, as
    tgext.pluggable's ``instance_primary_key(self)`` does."""
    namespace: dict[str, Any] = {
        '__slots__': names,
        '__class__': property(lambda self: cls),
        '_entity_class': cls,
        '_mapped': mapped,
        '__qualname__': f'{cls.__qualname__}Shown',
        '__module__': __name__,
    }
    if own_str(cls) is not None:
        namespace['__str__'] = own_str(cls)
    return type(f'{cls.__name__}Shown', (Shown,), namespace)


def make(shown: type[Shown], names: Sequence[str], values: Sequence[Any]) -> Shown:
    """A :class:`Shown` of ``shown`` holding ``values`` as ``names``."""
    found = shown.__new__(shown)
    for name, value in zip(names, values, strict=True):
        setattr(found, name, value)
    return found
