"""Notification feeds for recipients: what is delivered to a user, grouped, seen and read.

A FeedManager with a ``notification_feed_class`` writes every action created
with recipients (``am.create(..., recipients=[...])``, ``subscriptions.emit``)
to the notification feed of each recipient of its ``user_type``, private
actions included: they reach their recipients' notification feeds only,
never a follower's timeline. Broadcasts (``recipients=None``) are not
written: they are everyone's, not a user's notification, and the fan-out of
a broadcast to every user would be a write per user of the site.

The work is ``feed`` jobs of the outbox, one per chunk of
``fanout_chunk_size`` recipients, naming the feed ``@notification``: JSON,
idempotent, and written only to the feeds of active readers (``if_built``).
A feed Redis lost, or let go while its reader was away, is written again
from the deliveries in the database, newest first, with its seen and read
state taken from the recipient's watermarks (``am.seen_until``, read-until).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from .. import refs
from ..manager import ActionManager
from ..storage.base import Backend, NewJob, Ref
from .aggregated import NotificationRedisFeed
from .entries import Entry, entry_of, score_of
from .fanout import FanoutChunk
from .redis_feed import RedisFeed, feed_user_id
from .scripts import execute

if TYPE_CHECKING:
    from .manager import FeedManager

NOTIFICATION_FEED = '@notification'  # a chunk's name for the manager's notification feed
# a rebuild reads at most this many deliveries, whatever the feed could keep
MAX_REBUILD = 5000


def notification_jobs(
    manager: FeedManager, items: Iterable[tuple[Any, Iterable[Ref]]], *, remove: bool = False
) -> Iterator[NewJob]:
    """``feed`` jobs writing actions to (or, with ``remove``, out of) notification feeds.

    ``items`` give (entry, recipients) pairs, or (member, recipients) to
    remove, recipients as Refs. Actions of the same recipients share their
    jobs; a job holds ``fanout_chunk_size`` recipients.
    """
    by_recipients: dict[tuple[str, ...], list] = {}
    user_type = manager.user_type
    for value, recipients in items:
        ids = (feed_user_id(r.id, 'recipients[]') for r in recipients if r.type == user_type)
        key = tuple(dict.fromkeys(ids))
        if key:
            by_recipients.setdefault(key, []).append(value)
    path = manager.path()
    for user_ids, values in by_recipients.items():
        change = tuple(values)
        for start in range(0, len(user_ids), manager.fanout_chunk_size):
            part = user_ids[start : start + manager.fanout_chunk_size]
            chunk = FanoutChunk(
                part,
                (NOTIFICATION_FEED,),
                remove=change if remove else (),
                add=() if remove else change,
            ).to_payload()
            yield NewJob('feed', {'manager': path, 'chunk': chunk, 'if_built': not remove})


def rebuild_length(feed: RedisFeed) -> int:
    """How many deliveries a rebuild reads: what the feed can keep, at most ``MAX_REBUILD``."""
    per_group = getattr(feed, 'max_group_activities', 1)
    return min(feed.max_length * per_group, MAX_REBUILD)


def rebuild_notifications(storage: Backend, redis: Any, feeds: list[tuple[Ref, RedisFeed]]) -> None:
    """Write ``feeds`` (recipient, notification feed) from the deliveries to their recipients.

    What a lost feed still holds goes first (an aggregated feed remembers
    the activities it kept: a remnant would refuse them). The deliveries
    are then added oldest first in parts cut at the recipient's read and
    seen watermarks, each part marked read or seen, so a feed written again
    shows as unseen only what the recipient had not seen; a group whose
    every action the recipient marked read one by one (a group opened in the
    menu) is marked seen and read again. A notification fanned out between
    two parts of one rebuild may be marked with them.
    """
    if not feeds:
        return
    pipe = redis.pipeline(transaction=False)
    for _, feed in feeds:
        for key in feed.all_keys():
            if key != feed.built_key:
                pipe.delete(key)  # one key per command: a cluster checks slots per command
    pipe.execute()
    am = ActionManager(storage)
    plans = []
    for ref, feed in feeds:
        records = storage.delivered(ref, rebuild_length(feed))
        entries = sorted(entry_of(r) for r in records)
        read = _read_groups(storage, ref, feed, records)
        plans.append((feed, entries, _watermarks(am, storage, ref), read))

    def build(pipe: Any) -> None:
        for feed, entries, marks, read in plans:
            _queue_parts(pipe, feed, entries, marks)
            if isinstance(feed, NotificationRedisFeed):
                for key in read:
                    feed.queue_mark_activity(pipe, key, seen=True, read=True)

    scripts = list(dict.fromkeys(s for feed, *_ in plans for s in type(feed).scripts))
    execute(redis, build, scripts)


def _read_groups(storage: Backend, ref: Ref, feed: RedisFeed, records: list[Any]) -> list[str]:
    """The groups of ``feed`` whose every action in ``records`` ``ref`` marked read one by one."""
    if not isinstance(feed, NotificationRedisFeed) or not records:
        return []
    marked = storage.read_marks(ref, [record.id for record in records])
    if not marked:
        return []
    read: dict[str, bool] = {}
    for record in records:
        key = feed._group_of(entry_of(record))
        read[key] = read.get(key, True) and record.id in marked
    return [key for key, all_read in read.items() if all_read]


def _watermarks(am: ActionManager, storage: Backend, ref: Ref) -> list[tuple[int, bool, bool]]:
    """[(score, seen, read)]: up to each score the recipient's deliveries are seen / read."""
    entity = refs.resolve(storage, {ref}).get(ref)
    seen = score_of(am.seen_until(ref if entity is None else entity))
    read = score_of(am.read_until(ref))
    if seen == read:
        return [(seen, True, True)]
    return sorted([(seen, True, read > seen), (read, seen > read, True)])


def _queue_parts(
    pipe: Any, feed: RedisFeed, entries: list[Entry], marks: list[tuple[int, bool, bool]]
) -> None:
    """Queue ``entries`` (oldest first) on ``pipe``, marking seen / read at each watermark."""
    rest = iter(entries)
    pending = next(rest, None)
    for score, seen, read in marks:
        part = []
        while pending is not None and pending.score <= score:
            part.append(pending)
            pending = next(rest, None)
        feed.queue_add(pipe, part)
        if isinstance(feed, NotificationRedisFeed):
            feed.queue_mark_all(pipe, seen=seen, read=read)
    feed.queue_add(pipe, itertools.chain([pending] if pending else [], rest))
