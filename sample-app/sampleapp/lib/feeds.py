"""The site's fan-out feeds: each user's home timeline, kept in Redis by activitystream.

Plugged as the ``feed_manager`` option (config/app_cfg.py), so every public
action a user does (a post, a comment, a follow: :mod:`.social` makes them
public) goes to the user feed of its actor and to the timelines of the
actor's followers. Followers are the user's subscribers in activitystream's
subscriptions store: :func:`.social.follow` subscribes the follower to the
followed user besides the site's own ``Follow`` row, and the subscription
starts the copy of the followed user's recent actions into the timeline.

People only, not posts: comments on a post you follow (write, comment or
press Subscribe) reach you as notifications, in the navbar menu, because
``social.comment`` emits them to the post's subscribers. They are not fanned
out into the timeline as well: a timeline is a cache that activitystream
writes again from the database (Redis lost, a reader back after
``feeds_inactive_days``) out of the actions of the people followed, so post
entries would come and go; and the menu already shows them.

Notifications are also kept grouped (``notification_feed_class``): every
action delivered to a user goes to its ``Notifications`` feed, where
"Alice, Bob and 1 other commented on “Tea party”" is one group with exact
unseen and unread counts. activitystream's navbar menu shows those groups
and counts its unseen groups in the badge (the inbox, grouped, when Redis
is down); opening, marking and dismissing reach the feed and the inbox.
"""

import logging

import redis

from activitystream import model
from activitystream.feeds import FeedManager, NotificationRedisFeed, RedisFeed
from activitystream.redis_client import client

log = logging.getLogger(__name__)


KEYS = 'feed:sampleapp:'  # how the keys of this site's feeds start, after the redis_prefix


class UserFeed(RedisFeed):
    """What one user did: the source a follow copies from."""

    key_format = KEYS + 'user:%(user_id)s'
    max_length = 500


class Timeline(RedisFeed):
    """A user's home page: what they and the people they follow did, newest first."""

    key_format = KEYS + 'timeline:%(user_id)s'
    max_length = 500


class Notifications(NotificationRedisFeed):
    """What a user was notified of, grouped by verb, target and day; two names shown."""

    key_format = KEYS + 'notifications:%(user_id)s'
    max_length = 100
    max_latest_actors = 2


class SiteFeeds(FeedManager):
    """Timelines of the people a user follows (the default: their user subscriptions)."""

    feed_classes = {'timeline': Timeline}
    user_feed_class = UserFeed
    notification_feed_class = Notifications
    follow_activity_limit = 200

    def timeline(self, user) -> Timeline:
        """The timeline ``user`` reads (written again from the database if Redis lost it)."""
        return self.get_feeds(user)['timeline']

    def copy_now(self, follower, followed, follow: bool = True) -> None:
        """Do a follow's copy (or an unfollow's removal) right after the commit.

        The subscription already queued it for the delivery thread, which
        runs a few milliseconds after the commit: often after the redirect's
        next page has read the timeline. Done here as well, in the request,
        the next page always shows it; the thread's second run changes
        nothing (the writes are idempotent). Redis down: the thread's job
        is retried later, so a failure here is only logged.
        """
        pair = (self.user_id(follower), self.user_id(followed, 'followed'))
        copy = self.copy_follow if follow else self.uncopy_follow
        model.storage().after_commit(lambda: _logged(copy, *pair))


def _logged(copy, *pair: str) -> None:
    try:
        copy(*pair)
    except redis.RedisError as exc:
        log.warning('feed copy %s left to the outbox: %s', pair, exc)


def manager() -> SiteFeeds:
    """The plugged manager (the ``feed_manager`` option)."""
    return model.options()['feed_manager']


def forget_all() -> int:
    """Delete this site's feeds from Redis; how many keys went.

    For a new database (``gearbox setup-app``): its action ids start again,
    so feeds written for the old one would show other actions. Each is
    written again from the database on its first read.
    """
    options = model.options()
    redis_ = client(options['redis_url'])
    keys = list(redis_.scan_iter(match=f'{options["redis_prefix"]}:*{KEYS}*', count=1000))
    if keys:
        redis_.delete(*keys)
    return len(keys)
