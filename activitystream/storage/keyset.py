"""Keyset positions in a list of subscribers, as JSON can carry them between workers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .base import Ref


def position(created: datetime, subscriber: Ref) -> tuple[str, str, str]:
    """Where ``subscriber``, subscribed at ``created``, stands: (ISO time, type, id)."""
    return created.isoformat(), subscriber.type, subscriber.id


def parse(after: Any) -> tuple[datetime, str, str]:
    """(created, type, id) of a :func:`position`, also as JSON gave it back (a list).

    ValueError when it is not one.
    """
    try:
        created, type_, id_ = after
        if not (isinstance(type_, str) and isinstance(id_, str)):
            raise TypeError
        return datetime.fromisoformat(created), type_, id_
    except (TypeError, ValueError):
        raise ValueError(f'after is not a subscriber position: {after!r}') from None
