"""Feeds are a cache: what they should hold, computed again from the database.

A user's feeds hold the public actions of the user and of the users it
follows, newest first. When Redis loses them (a flush, a failover, a new
server), they are written again from actions and subscriptions, as Mastodon
regenerates a home feed: the newest actions of each actor, merged.
"""

import heapq
from collections.abc import Iterable

from ..storage.base import Ref, StreamFilter
from .entries import Entry, entry_of


def _order(entry: Entry) -> tuple[int, str]:
    return entry.score, entry.member  # compared in C, not by the dataclass's __lt__


def newest_entries(storage, actors: Iterable[Ref], length: int) -> list[Entry]:
    """The ``length`` newest entries of the public actions of ``actors``, newest first.

    One query per actor, each for at most ``length`` actions. Entries are cut
    back to ``length`` only when more than ``2 * length`` wait (memory stays
    under ``3 * length``, however many actors there are): a cut per actor
    sorted ``length`` entries again for each, most of a rebuild's time.
    """
    kept: list[Entry] = []
    for actor in actors:
        records = storage.stream(StreamFilter(actor=actor), length, 0)
        kept += [entry_of(record) for record in records]
        if len(kept) > 2 * length:
            kept = heapq.nlargest(length, kept, key=_order)
    return heapq.nlargest(length, kept, key=_order)
