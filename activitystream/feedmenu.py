"""The menu's rows from the notification feed, when the site keeps one.

With a plug option ``feed_manager`` whose ``notification_feed_class`` is set,
the menu, the "See all" page and notifications.json show the groups of the
recipient's notification feed (exact counts, kept by Redis as actions
arrive), and the badge counts its unseen groups (``count_unseen()``). What a
reader does to rows is done to the feed and to the inbox alike: the database
stays the truth, and a feed written again takes its marks from it.

Redis down (or any Redis error): the rows and counts of the inbox, grouped
as without a feed, and a warning in the log; marks reach the inbox only.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar, cast

from . import grouping, model, refs
from .feeds.aggregated import AggregatedActivity, NotificationRedisFeed
from .feeds.entries import entry_of, member_of
from .feeds.scripts import execute
from .manager import am
from .timeutil import time_since, utcnow
from .translation import _, babel_locale

if TYPE_CHECKING:
    from babel import Locale

    from .feeds.manager import FeedManager

log = logging.getLogger(__name__)
T = TypeVar('T')


def _redis_errors() -> tuple[type[Exception], ...]:
    from redis.exceptions import RedisError

    return (RedisError, OSError)


def _manager() -> FeedManager | None:
    manager = model.options().get('feed_manager')
    cls = getattr(manager, 'notification_feed_class', None)
    # a plain RedisFeed keeps no seen / read state: the menu reads the inbox then
    return manager if isinstance(cls, type) and issubclass(cls, NotificationRedisFeed) else None


def feed_of(recipient: Any) -> NotificationRedisFeed | None:
    """The notification feed of ``recipient``; None without one, or when Redis fails.

    Its read keeps the reader active (feeds of inactive readers are not written).
    """
    manager = _manager()
    if manager is None or refs.ref_of(recipient, 'recipient').type != manager.user_type:
        return None
    feed = _guarded('read the notification feed', manager.get_notification_feed, recipient)
    return cast('NotificationRedisFeed | None', feed)  # _manager checked its class


def _guarded(doing: str, call: Callable[..., T], *args: Any) -> T | None:
    """``call(*args)``, or None (and a warning) when Redis fails: the inbox answers instead."""
    try:
        return call(*args)
    except _redis_errors() as exc:
        log.warning('activitystream: cannot %s (%s); the inbox answers instead', doing, exc)
        return None


def rows(feed: NotificationRedisFeed, limit: int, before: str | None = None) -> list[dict] | None:
    """The newest ``limit`` groups (older than the ``before`` cursor) as menu rows.

    None when Redis fails. A cursor that is not one of the feed's is a ValueError.
    """
    query = feed.query() if before is None else feed.before(before)
    groups = _guarded('read the notification feed', query.limit(limit).all)
    if groups is None:
        return None
    now, locale = utcnow(), babel_locale()
    return [as_row(group, now, locale) for group in groups]


def as_row(group: AggregatedActivity, now: datetime, locale: Locale) -> dict[str, Any]:
    """A feed group as ``grouping.as_row`` shows an inbox run: same fields, same texts."""
    from .formats import iso

    names = [name or _('someone') for name in group.latest_actors]
    newest = group.actions[0]  # the feed reads only groups with actions still stored
    return {
        'ids': [str(a.id) for a in group.actions],
        'count': group.activity_count,
        'who': grouping.who(names, group.actor_count),
        'verb': group.verb,
        'target': group.target,
        'link': refs.hook(newest.target_shown, 'as_link'),
        'avatar': grouping.avatar_url(newest.actor_shown),
        'timestamp': iso(group.updated),
        'since': time_since(group.updated, now, locale),
        'unseen': not group.seen,
        'read': group.read,
        'cursor': group.cursor,
    }


def counts(feed: NotificationRedisFeed) -> tuple[int, int] | None:
    """(unseen, unread) groups of the feed, what the badge shows; None when Redis fails."""
    return _guarded('count the notification feed', feed.counts)


def menu_counts(recipient: Any, unread: bool = True) -> dict[str, int]:
    """The counts the menu shows: the feed's groups, else the inbox's notifications.

    Without a feed, ``unread=False`` leaves the unread count (a query) out.
    """
    feed = feed_of(recipient)
    counted = None if feed is None else counts(feed)
    if counted is not None:
        return dict(unseen_count=counted[0], unread_count=counted[1])
    found = dict(unseen_count=am.count_not_seen_by_recipient(recipient))
    if unread:
        found['unread_count'] = am.count_unread_by_recipient(recipient)
    return found


def opened(recipient: Any, action_ids: Sequence[Any]) -> None:
    """Rows holding ``action_ids`` were opened: their groups are seen and read in the feed."""
    feed = feed_of(recipient)
    if feed is None:
        return
    storage = model.storage()
    keys = {feed._group_of(entry_of(r)) for r in storage.load_actions(list(action_ids))}
    for key in keys:
        if _guarded('mark the notification feed', feed.mark_activity, key, True, True) is None:
            return


def marked_all(recipient: Any, seen: bool, read: bool) -> None:
    """Every group of the feed seen (the menu was opened) and / or read ("Mark all as read")."""
    feed = feed_of(recipient)
    if feed is not None:
        _guarded('mark the notification feed', feed.mark_all, seen, read)


def dismissed(recipient: Any, action_ids: Sequence[Any]) -> None:
    """Actions dismissed from the inbox leave the feed's groups at once: one round trip.

    For the reply's counts; ``am.dismiss`` queues the same removal through the
    outbox, which is what reaches the feed when a host dismisses in its own code.
    """
    feed = feed_of(recipient)
    if feed is None or not action_ids:
        return
    members = [member_of(i) for i in action_ids]
    remove = lambda pipe: feed.queue_remove(pipe, members)  # noqa: E731
    _guarded('update the notification feed', execute, feed.redis, remove, feed.scripts)
