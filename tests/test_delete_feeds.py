"""Deleted, erased and purged actions leave the feeds of a site's feed manager (real Redis)."""

import datetime as dt

import pytest

from activitystream import am, model, subscriptions
from activitystream.feeds import FeedManager

from . import feeds_support
from .clock import recent
from .feeds_support import feeds_app
from .harness import BACKENDS

redis = feeds_support.redis  # the shared fixture

T0 = recent(days=40)


def timeline(user):
    """The verbs of ``user``'s timeline, and its size in Redis (what a count says)."""
    feed = model.options()['feed_manager'].get_feeds(user)['normal']
    return [a.verb for a in feed[:10]], feed.count()


@pytest.mark.parametrize('backend', BACKENDS)
def test_deleted_and_erased_actions_leave_the_feeds(backend, redis):
    env = feeds_app(backend, feed_manager=FeedManager)
    alice, bob, carol = env.user('alice'), env.user('bob'), env.user('carol')
    for follower in (bob, carol):
        subscriptions.subscribe(follower, alice)
    made = [
        am.create(user, verb, timestamp=T0 + dt.timedelta(minutes=n))
        for n, (user, verb) in enumerate([(alice, 'a1'), (alice, 'a2'), (carol, 'c1')])
    ]
    env.commit()
    assert timeline(bob) == (['a2', 'a1'], 2)
    assert timeline(carol) == (['c1', 'a2', 'a1'], 3)

    am.delete(made[0])
    env.commit()
    assert timeline(bob) == (['a2'], 1)
    assert timeline(carol) == (['c1', 'a2'], 2)

    manager = model.options()['feed_manager']
    own = [manager.user_feed_class(manager.user_id(alice)), *manager.get_feeds(alice).values()]
    assert all(redis.exists(feed.key) for feed in own)
    am.erase(alice)
    env.commit()
    assert not any(redis.exists(feed.key) or redis.exists(feed.built_key) for feed in own)
    assert timeline(bob) == ([], 0)  # her followers' feeds lost her actions too
    assert timeline(carol) == (['c1'], 1)

    am.purge(dt.timedelta(days=30))
    assert timeline(carol) == ([], 0)
