"""A fan-out chunk: writes to many feeds as one round trip, described in plain JSON.

A chunk names its users, their feeds and the entries to add or remove. It is
everything a worker needs, with no pickled manager or action in it, so it can
wait in a queue (the outbox) as a JSON payload; running it twice leaves the
same feeds as running it once (ZADD and ZREM of the same members).
An entry travels as ``[score, member]`` or, when it carries what aggregated
feeds group by, ``[score, member, verb, actor, target]``; both are read.
"""

from dataclasses import dataclass
from enum import Enum
from typing import Any

from .entries import Entry
from .redis_feed import feed_user_id


class FanoutPriority(str, Enum):
    """Which followers are written first: say HIGH for active users, LOW for the others."""

    HIGH = 'high'
    LOW = 'low'


def _entry(item: Any) -> Entry | None:
    """The entry of ``[score, member]`` or ``[score, member, verb, actor, target]``, else None."""
    if not isinstance(item, list) or len(item) not in (2, 5):
        return None
    score, member, *extra = item
    if isinstance(score, bool) or not isinstance(score, int) or not isinstance(member, str):
        return None
    if not all(value is None or isinstance(value, str) for value in extra):
        return None
    return Entry(score, member, *extra)


def _entries(value: Any) -> tuple[Entry, ...]:
    parsed = [_entry(item) for item in value] if isinstance(value, list) else [None]
    entries = tuple(entry for entry in parsed if entry is not None)
    if len(entries) != len(parsed):
        raise ValueError(
            'add must be a list of [score, member] or [score, member, verb, actor, target]'
        )
    return entries


def _entry_payload(entry: Entry) -> list:
    """Two items for an entry without grouping fields (the old payloads), else five."""
    extra = [entry.verb, entry.actor, entry.target]
    if all(value is None for value in extra):
        return [entry.score, entry.member]
    return [entry.score, entry.member, *extra]


def _strings(value: Any, argname: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f'{argname} must be a list of strings')
    return tuple(value)


@dataclass(frozen=True)
class FanoutChunk:
    """Add ``add`` to and remove ``remove`` from the ``feeds`` (names) of ``user_ids``."""

    user_ids: tuple[str, ...]
    feeds: tuple[str, ...]
    add: tuple[Entry, ...] = ()
    remove: tuple[str, ...] = ()
    priority: FanoutPriority = FanoutPriority.HIGH

    def to_payload(self) -> dict:
        """The chunk as JSON-able values (ids, names, numbers)."""
        return {
            'user_ids': list(self.user_ids),
            'feeds': list(self.feeds),
            'add': [_entry_payload(entry) for entry in self.add],
            'remove': list(self.remove),
            'priority': self.priority.value,
        }

    @classmethod
    def from_payload(cls, payload: dict) -> 'FanoutChunk':
        """The chunk ``to_payload`` described; ValueError naming what is malformed."""
        if not isinstance(payload, dict):
            raise ValueError(f'a fan-out payload must be a dict, got {type(payload).__name__}')
        try:
            return cls(
                user_ids=tuple(
                    feed_user_id(u, 'user_ids[]') for u in _strings(payload['user_ids'], 'user_ids')
                ),
                feeds=_strings(payload['feeds'], 'feeds'),
                add=_entries(payload['add']),
                remove=_strings(payload['remove'], 'remove'),
                priority=FanoutPriority(payload['priority']),
            )
        except KeyError as exc:
            raise ValueError(f'a fan-out payload needs {exc.args[0]!r}') from None
        except TypeError as exc:
            raise ValueError(f'a fan-out payload is malformed: {exc}') from None
