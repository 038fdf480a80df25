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


def newest_entries(storage, actors: Iterable[Ref], length: int) -> list[Entry]:
    """The ``length`` newest entries of the public actions of ``actors``.

    One query per actor, each for at most ``length`` actions; memory stays
    about ``2 * length`` entries, however many actors there are.
    """
    kept: list[Entry] = []
    for actor in actors:
        records = storage.stream(StreamFilter(actor=actor), length, 0)
        kept = heapq.nlargest(length, kept + [entry_of(record) for record in records])
    return kept
