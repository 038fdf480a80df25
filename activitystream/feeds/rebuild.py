"""Feeds are a cache: what they should hold, computed again from the database.

A user's feeds hold the public actions of the user and of the users it
follows, newest first. When Redis loses them (a flush, a failover, a new
server), they are written again from actions and subscriptions, as Mastodon
regenerates a home feed: the newest actions of each actor, merged.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Iterable

from ..storage.base import Ref, Storage
from .entries import Entry, entry_of

ACTORS_PER_QUERY = 100


def newest_entries(storage: Storage, actors: Iterable[Ref], length: int) -> list[Entry]:
    """The ``length`` newest entries of the public actions of ``actors``, newest first.

    One query per ``ACTORS_PER_QUERY`` actors, each for at most ``length``
    actions; memory stays about ``2 * length`` entries, however many actors
    there are.
    """
    kept: list[tuple[int, str, Entry]] = []  # a min-heap: the oldest kept entry first
    actors = iter(actors)
    while part := list(itertools.islice(actors, ACTORS_PER_QUERY)):
        for record in storage.newest_public_by_actors(part, length):
            entry = entry_of(record)
            item = (entry.score, entry.member, entry)
            if len(kept) < length:
                heapq.heappush(kept, item)
            elif item[:2] > kept[0][:2]:
                heapq.heapreplace(kept, item)
            else:
                break  # newest first: the rest of this query is older still
    return [entry for _, _, entry in sorted(kept, key=lambda item: item[:2], reverse=True)]
