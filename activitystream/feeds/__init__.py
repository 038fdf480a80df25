"""Fan-out feeds: Twitter/Instagram-style timelines of actions, kept in Redis.

Stream Framework's API on our actions and subscriptions::

    from activitystream.feeds import FeedManager, FanoutPriority, RedisFeed

    class PinFeed(RedisFeed):
        key_format = 'feed:normal:%(user_id)s'

    class UserPinFeed(PinFeed):
        key_format = 'feed:user:%(user_id)s'

    class PinManager(FeedManager):
        feed_classes = dict(normal=PinFeed)
        user_feed_class = UserPinFeed

    manager = PinManager()
    manager.add_user_activity(user.user_id, am.create(user, 'pinned', target=board))
    manager.get_feeds(user.user_id)['normal'][:25]   # Actions, newest first

Redis keeps action ids only (:mod:`.entries`), in exact order; the database
stays the truth and reads hydrate from it (:mod:`.pages`). Fan-out goes by
chunks of followers, one round trip each (:mod:`.fanout`). A feed Redis lost
is written again from actions and subscriptions on its next read through the
manager (:mod:`.rebuild`).

Aggregated feeds group activities ("Alice, Bob and 3 others commented on
X"); notification feeds add seen and read state with exact counts
(:mod:`.aggregated`)::

    class MyNotifications(NotificationRedisFeed):
        key_format = 'feed:notification:%(user_id)s'

    feed = MyNotifications(user.user_id)
    feed.count_unseen(), feed[:25], feed.mark_all(seen=True)
"""

from .aggregated import AggregatedActivity, AggregatedRedisFeed, NotificationRedisFeed
from .fanout import FanoutChunk, FanoutPriority
from .manager import FeedManager, TimelineFeed, UserFeed
from .pages import FeedQuery
from .redis_feed import RedisFeed

__all__ = [
    'AggregatedActivity',
    'AggregatedRedisFeed',
    'FanoutChunk',
    'FanoutPriority',
    'FeedManager',
    'FeedQuery',
    'NotificationRedisFeed',
    'RedisFeed',
    'TimelineFeed',
    'UserFeed',
]
