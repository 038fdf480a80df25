"""Argument checks shared by the public API: errors that name the argument.

Databases refuse some strings on their own (PostgreSQL a NUL character, every
driver a lone surrogate) with an error that names nothing and, on
PostgreSQL, spoils the rest of the transaction: refuse them here, first.
"""

from typing import Any, Literal, overload

from .storage.base import REF_PART_MAX, Ref


@overload
def text(value: Any, argname: str, optional: Literal[False] = False) -> str: ...


@overload
def text(value: Any, argname: str, optional: bool) -> str | None: ...


def text(value: Any, argname: str, optional: bool = False) -> str | None:
    """``value`` when it is a string any database can store; TypeError/ValueError otherwise."""
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise TypeError(f'{argname} must be a string, got {type(value).__name__}')
    wrong = _unstorable(value)
    if wrong is not None:
        raise ValueError(f'{argname} {wrong}')
    return value


def _unstorable(value: str) -> str | None:
    """What no database takes in a string, or None."""
    if '\x00' in value:
        return 'must not contain a NUL character'
    try:
        value.encode('utf-8')
    except UnicodeEncodeError:
        return 'must not contain a lone surrogate'
    return None


def _ref_part(value: Any) -> str | None:
    """What is wrong with one half of a Ref, or None when any backend can store it."""
    if not isinstance(value, str):
        return f'must be a string, got {type(value).__name__}'
    if not value:
        return 'must not be empty'
    if len(value) > REF_PART_MAX:
        return f'is {len(value)} characters long; at most {REF_PART_MAX} fit'
    return _unstorable(value)


def _plain(part: Any) -> bool:
    """The common case, checked at C speed: a short non-empty ASCII string without NUL."""
    return (
        type(part) is str
        and 0 < len(part) <= REF_PART_MAX
        and part.isascii()
        and '\x00' not in part
    )


def ref(value: Ref, argname: str) -> Ref:
    """A stored reference given in place of an entity, unchanged when it can be stored.

    ``Ref('User', '42')``: the class name as the entities of that class are
    stored (``type(entity).__name__``) and the primary key as a string
    (``str(key)``). Nothing is loaded or looked up: a name no class has reads
    back as a deleted entity. A malformed one is a ValueError naming the argument.
    An import passes millions: the common case costs two calls.
    """
    if _plain(value.type) and _plain(value.id):
        return value
    for part in ('type', 'id'):
        wrong = _ref_part(getattr(value, part))
        if wrong is not None:
            raise ValueError(f'{argname} is a malformed Ref: its {part} {wrong}')
    return value
