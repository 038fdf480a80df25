"""Argument checks shared by the public API: errors that name the argument.

Databases refuse some strings on their own (PostgreSQL a NUL character, every
driver a lone surrogate) with an error that names nothing and, on
PostgreSQL, spoils the rest of the transaction: refuse them here, first.
"""

from typing import Any, Literal, overload


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
    if '\x00' in value:
        raise ValueError(f'{argname} must not contain a NUL character')
    try:
        value.encode('utf-8')
    except UnicodeEncodeError:
        raise ValueError(f'{argname} must not contain a lone surrogate') from None
    return value
