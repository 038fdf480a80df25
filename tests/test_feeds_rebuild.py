"""Feeds are a cache: after Redis loses them, they come back from actions and subscriptions."""

import datetime as dt

import pytest
import transaction

from activitystream import am, model, subscriptions
from activitystream.feeds import AggregatedRedisFeed, FeedManager, RedisFeed

from . import feeds_support
from . import subscription_support as support
from .feeds_support import feeds_app, round_trips
from .harness import BACKENDS

env, redis = feeds_support.env, feeds_support.redis  # the shared fixtures

T0 = dt.datetime(2024, 5, 1, 12, 0, 0)


class HomeFeed(RedisFeed):
    key_format = 'feed:home:%(user_id)s'
    max_length = 5


class OwnFeed(RedisFeed):
    key_format = 'feed:own:%(user_id)s'
    max_length = 3


class HomeManager(FeedManager):
    feed_classes = dict(home=HomeFeed)
    user_feed_class = OwnFeed


def lose_everything(redis):
    """What a flush, a failover to an empty replica or a new server does to the feeds."""
    support.drop_redis_keys(redis, model.options()['redis_prefix'])


def ids(found):
    return [a.id for a in found]


def post(manager, actor, minute, **options):
    action = am.create(actor, 'posted', timestamp=T0 + dt.timedelta(minutes=minute), **options)
    if action.public:
        manager.add_user_activity(actor, action)
    return action


def network(env):
    """alice follows bob, carol (and herself, and a team); dave is followed by nobody."""
    alice, bob, carol, dave = (env.user(n) for n in ('alice', 'bob', 'carol', 'dave'))
    team = env.team('core')
    for followed in (bob, carol, alice, team):
        subscriptions.subscribe(alice, followed)
    manager = HomeManager()
    made = {
        'alice': [post(manager, alice, 1), post(manager, alice, 11)],
        'bob': [post(manager, bob, m) for m in (2, 4, 6, 8)],
        'carol': [post(manager, carol, m) for m in (3, 9)],
        'dave': [post(manager, dave, 10)],
        'private': [post(manager, bob, 12, recipients=[carol], public=False)],
        'team': [am.create(team, 'posted', timestamp=T0 + dt.timedelta(minutes=13))],
    }
    env.commit()
    return manager, (alice, bob, carol, dave), made


def newest(actions, count):
    return ids(sorted(actions, key=lambda a: a.timestamp, reverse=True)[:count])


def test_after_redis_loses_everything_feeds_come_back_from_the_database(env, redis):
    manager, (alice, bob, carol, dave), made = network(env)
    home = newest(made['alice'] + made['bob'] + made['carol'], 5)
    assert ids(manager.get_feeds(alice)['home'][:25]) == home
    lose_everything(redis)
    assert HomeFeed(manager.user_id(alice)).count() == 0
    assert ids(manager.get_feeds(alice)['home'][:25]) == home
    assert ids(manager.get_user_feed(bob)[:25]) == newest(made['bob'], 3)
    assert ids(manager.get_feeds(dave)['home'][:25]) == ids(made['dave'])
    # a follow copies from the followed user's feed, itself written again first
    lose_everything(redis)
    manager.follow_user(carol, bob)
    env.commit()
    assert ids(manager.get_feeds(carol)['home'][:25]) == newest(made['bob'] + made['carol'], 5)


def test_a_built_feed_is_checked_in_one_round_trip_without_the_database(env, redis):
    manager, (alice, *_), made = network(env)
    manager.get_feeds(alice)
    with env.count_queries() as queries, round_trips(HomeFeed(1).redis) as sent:
        feeds = manager.get_feeds(alice)
    assert queries == [] and len(sent) == 1
    lose_everything(redis)
    with env.count_queries() as queries:
        manager.get_feeds(alice)
    assert queries  # built again: the actors' streams and alice's subscriptions
    assert ids(feeds['home'][:25]) == newest(made['alice'] + made['bob'] + made['carol'], 5)


def test_a_fan_out_into_a_lost_feed_loses_nothing(env, redis):
    manager, (alice, bob, *_), made = network(env)
    lose_everything(redis)
    new = post(manager, bob, 20)
    env.commit()
    # its built marker went with it: the fan-out skipped it, the next read writes it all
    assert HomeFeed(manager.user_id(alice)).count() == 0
    expected = newest(made['alice'] + made['bob'] + made['carol'] + [new], 5)
    assert ids(manager.get_feeds(alice)['home'][:25]) == expected


def test_rebuild_feeds_merges_and_trims(env, redis):
    manager, (alice, *_), made = network(env)
    manager.rebuild_feeds(alice)
    manager.rebuild_feeds(alice)  # again: the same feeds
    user_id = manager.user_id(alice)
    assert ids(OwnFeed(user_id)[:25]) == newest(made['alice'], 3)
    assert HomeFeed(user_id).count() == 5
    assert ids(HomeFeed(user_id)[:25]) == newest(made['alice'] + made['bob'] + made['carol'], 5)


@pytest.mark.parametrize('backend', [b for b in BACKENDS if b in ('sqlite', 'postgresql')])
def test_a_rebuild_writes_only_what_is_committed(backend, redis):
    env = feeds_app(backend)
    alice = env.user('alice')
    env.commit()
    manager = HomeManager()
    am.create(alice, 'posted', timestamp=T0)  # not committed: rolled back below
    assert manager.get_feeds(alice)['home'].count() == 0
    transaction.abort()
    assert manager.get_feeds(alice)['home'].count() == 0


class GroupedHome(AggregatedRedisFeed):
    key_format = 'feed:grouped:%(user_id)s'


class GroupedManager(HomeManager):
    feed_classes = dict(home=HomeFeed, grouped=GroupedHome)


def test_an_aggregated_feed_comes_back_on_a_redis_that_lost_its_scripts(env, redis):
    _, (alice, *_), made = network(env)
    lose_everything(redis)
    redis.script_flush()  # a new or restarted server: no script loaded
    feeds = GroupedManager().get_feeds(alice)
    groups = feeds['grouped'][:25]
    shown = made['alice'] + made['bob'] + made['carol']
    assert sum(group.activity_count for group in groups) == len(shown)
    assert {a.id for group in groups for a in group.actions} == set(ids(shown))
