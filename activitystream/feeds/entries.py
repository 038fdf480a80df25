"""How an action is written in a feed: an exact score and a member that breaks ties.

A feed is a Redis sorted set. Its score is the action's time in milliseconds
since 1970, an integer far below 2**53, so a double holds it exactly (never a
number built from time and id, which a double rounds). Its member is the
action id as fixed-width text: integer ids zero-padded to 19 digits, MongoDB
ObjectIds as their 24 hex digits. Redis orders equal scores by member, byte by
byte, so a feed is ordered exactly as the database orders actions: time, then
id, even for thousands of actions created in the same millisecond.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

EPOCH = datetime(1970, 1, 1)
MILLISECOND = timedelta(milliseconds=1)
INT_DIGITS = 19  # 2**63 - 1, the largest id of a BIGINT key, has 19


@dataclass(frozen=True, order=True)
class Entry:
    """One action in a feed: (score, member) orders entries oldest first."""

    score: int
    member: str


def member_of(action_id) -> str:
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


def entry_of(action, argname: str = 'action') -> Entry:
    """The entry of an action (anything with an ``id`` and a ``timestamp``)."""
    timestamp = getattr(action, 'timestamp', None)
    if not isinstance(timestamp, datetime) or getattr(action, 'id', None) is None:
        raise TypeError(f'{argname} must be an action, got {type(action).__name__}')
    return Entry(score_of(timestamp), member_of(action.id))
