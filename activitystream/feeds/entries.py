"""How an action is written in a feed: an exact score and a member that breaks ties.

A feed is a Redis sorted set. Its score is the action's time in milliseconds
since 1970, an integer far below 2**53, so a double holds it exactly (never a
number built from time and id, which a double rounds). Its member is the
action id as fixed-width text: integer ids zero-padded to 19 digits, MongoDB
ObjectIds as their 24 hex digits. Redis orders equal scores by member, byte by
byte, so a feed is ordered exactly as the database orders actions: time, then
id, even for thousands of actions created in the same millisecond.

An entry may also carry what aggregated feeds group by: the action's verb and
its actor and target as stored references (``Type:id``). They ride along in
fan-out chunks so a follower's feed can group without asking the database,
and take no part in order or equality: the same action is the same entry.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from ..storage.base import Ref

EPOCH = datetime(1970, 1, 1)
MILLISECOND = timedelta(milliseconds=1)
INT_DIGITS = 19  # 2**63 - 1, the largest id of a BIGINT key, has 19


@dataclass(frozen=True, order=True)
class Entry:
    """One action in a feed: (score, member) orders entries oldest first.

    ``verb``, ``actor`` and ``target`` (``Type:id``, None when unknown) are
    for aggregation only: plain feeds ignore them.
    """

    score: int
    member: str
    verb: str | None = field(default=None, compare=False)
    actor: str | None = field(default=None, compare=False)
    target: str | None = field(default=None, compare=False)


def member_of(action_id: Any) -> str:
    """The member naming ``action_id`` in a feed (fixed width, so ordered as the ids)."""
    if isinstance(action_id, bool):
        raise TypeError(f'not an action id: {action_id!r}')
    if isinstance(action_id, int):
        if action_id < 0:
            raise ValueError(f'not an action id: {action_id!r}')
        return f'{action_id:0{INT_DIGITS}d}'
    return str(action_id)


def score_of(timestamp: datetime) -> int:
    """Milliseconds since 1970 of a naive UTC timestamp (as actions are stored)."""
    return (timestamp - EPOCH) // MILLISECOND


def ref_text(ref: Ref | None) -> str | None:
    """A stored reference as one short string, ``Type:id`` (None stays None)."""
    return None if ref is None else f'{ref.type}:{ref.id}'


def _ref_field(action: Any, name: str) -> str | None:
    """``Type:id`` of an Action's ``<name>_ref`` or an ActionRecord's ``<name>`` (a Ref)."""
    value = getattr(action, f'{name}_ref', None)
    if value is None:
        value = getattr(action, name, None)
    return ref_text(value) if isinstance(value, Ref) else None


def entry_of(action: Any, argname: str = 'action') -> Entry:
    """The entry of an action (anything with an ``id`` and a ``timestamp``).

    An Action or an ActionRecord also gives its verb, actor and target.
    """
    timestamp = getattr(action, 'timestamp', None)
    if not isinstance(timestamp, datetime) or getattr(action, 'id', None) is None:
        raise TypeError(f'{argname} must be an action, got {type(action).__name__}')
    verb = getattr(action, 'verb', None)
    return Entry(
        score_of(timestamp),
        member_of(action.id),
        verb if isinstance(verb, str) else None,
        _ref_field(action, 'actor'),
        _ref_field(action, 'target'),
    )
