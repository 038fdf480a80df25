"""Argument checks shared by the public API: errors that name the argument.

Databases refuse some strings on their own (PostgreSQL a NUL character, every
driver a lone surrogate) with an error that names nothing and, on
PostgreSQL, spoils the rest of the transaction: refuse them here, first.
"""

from typing import Any, Literal, overload

from .options import TYPE_NAME
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


def _ref_id(value: Any) -> str | None:
    """What is wrong with a Ref's id, or None when any backend can store it."""
    if not isinstance(value, str):
        return f'must be a string, got {type(value).__name__}'
    if not value:
        return 'must not be empty'
    if len(value) > REF_PART_MAX:
        return f'is {len(value)} characters long; at most {REF_PART_MAX} fit'
    return _unstorable(value)


def _ref_type(value: Any) -> str | None:
    """What is wrong with a Ref's type, or None when it can name a type (see entities)."""
    if not isinstance(value, str):
        return f'must be a string, got {type(value).__name__}'
    if not TYPE_NAME.match(value):
        return (
            f'must be 1 to {REF_PART_MAX} letters, digits or underscores, not starting '
            f'with a digit; got {value!r}'
        )
    return None


def ref(value: Ref, argname: str) -> Ref:
    """A stored reference given in place of an entity, unchanged when it can be stored.

    ``Ref('User', '42')``: the type name the entities of that class are stored
    under (the class name unless the host names it otherwise, see
    ``activitystream.entities``) and the primary key as a string (``str(key)``).
    Nothing is loaded or looked up: a name no class has reads back as a deleted
    entity. A malformed one is a ValueError naming the argument. An import
    passes millions: the common case costs a match and a few C calls.
    """
    id_ = value.id
    if (
        type(id_) is str
        and 0 < len(id_) <= REF_PART_MAX
        and id_.isascii()
        and '\x00' not in id_
        and type(value.type) is str
        and TYPE_NAME.match(value.type)
    ):
        return value
    for part, check in (('type', _ref_type), ('id', _ref_id)):
        wrong = check(getattr(value, part))
        if wrong is not None:
            raise ValueError(f'{argname} is a malformed Ref: its {part} {wrong}')
    return value
