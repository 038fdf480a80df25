"""Stream Framework's README (shared/seeds/stream-framework-README.txt), run on our feeds.

Only what the README leaves out or cannot run is filled in: pins are our
actions (``am.create``), ``Follow.objects`` reads our subscriptions store, the
feed classes are defined base first (the README subclasses ``PinFeed`` before
defining it), and its Django view's ``manager.get_feeds(['normal']`` reads
``manager.get_feeds(user_id)['normal']``. On every backend, with a real Redis.
"""

import datetime as dt

from tgext.pluggable import instance_primary_key

from activitystream import am, subscriptions
from activitystream.feeds import FanoutPriority, FeedManager, RedisFeed

from . import feeds_support

env, redis = feeds_support.env, feeds_support.redis  # the shared fixtures

Manager = FeedManager  # from stream_framework.feed_managers.base import Manager


class Follows:
    """The followers of a user, as a Django queryset of Follow rows answers for them."""

    def __init__(self, target):
        self.target = manager.user_ref(target)

    def values_list(self, field, flat):
        assert (field, flat) == ('user_id', True)
        return [instance_primary_key(u) for u in subscriptions.subscribers_of(self.target)]


class Follow:
    """A follow is a subscription: ``subscriptions.subscribe(follower, user)``."""

    class objects:
        filter = Follows


class Pin:
    """A user pinned an item (a document, here)."""

    def __init__(self, user, item, created_at):
        self.user, self.item, self.created_at = user, item, created_at
        self.user_id = instance_primary_key(user)

    def create_activity(self):
        return am.create(self.user, 'pin', action_obj=self.item, timestamp=self.created_at)


# -- the README, from here on -------------------------------------------------


class PinFeed(RedisFeed):
    key_format = 'feed:normal:%(user_id)s'


class UserPinFeed(PinFeed):
    key_format = 'feed:user:%(user_id)s'


class PinManager(Manager):
    feed_classes = dict(
        normal=PinFeed,
    )
    user_feed_class = UserPinFeed

    def add_pin(self, pin):
        activity = pin.create_activity()
        # add user activity adds it to the user feed, and starts the fanout
        self.add_user_activity(pin.user_id, activity)

    def get_user_follower_ids(self, user_id):
        ids = Follow.objects.filter(target=user_id).values_list('user_id', flat=True)
        return {FanoutPriority.HIGH: ids}


manager = PinManager()


def feed(user_id):
    """Items pinned by the people you follow (the README's Django view, minus Django)."""
    feed = manager.get_feeds(user_id)['normal']
    activities = list(feed[:25])
    return activities


# -- the README's claims ------------------------------------------------------


def test_a_pin_reaches_the_followers_feeds(env):
    author, follower, stranger = env.user('ann', 'Ann'), env.user('bob'), env.user('cid')
    subscriptions.subscribe(follower, author)
    board = env.document('Kitchen ideas')
    at = dt.datetime(2024, 5, 1, 9, 30)
    for minutes in (0, 5):
        manager.add_pin(Pin(author, board, at + dt.timedelta(minutes=minutes)))
    env.commit()

    activities = feed(instance_primary_key(follower))
    assert [a.render_str() for a in activities] == [
        'Ann pin Kitchen ideas 2024-05-01 09:35',
        'Ann pin Kitchen ideas 2024-05-01 09:30',
    ]
    assert activities[0].action_obj.title == 'Kitchen ideas'
    assert feed(instance_primary_key(stranger)) == []
    assert [a.id for a in UserPinFeed(instance_primary_key(author))[:25]] == [
        a.id for a in activities
    ]


def test_writing_to_the_feed_of_user_13(env):
    feed = UserPinFeed(13)
    activity = am.create(env.user('ann'), 'pin', action_obj=env.document('Lamp'))
    feed.add(activity)
    assert feed.key.endswith(':{feed:user:13}')
    assert feed[:25] == [activity]
