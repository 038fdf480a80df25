"""Feeds through the outbox: the site's hooks, replays, hybrid fan-out, inactive readers."""

import datetime as dt
import json

import pytest

from activitystream import ConfigurationError, am, delivery, model, subscriptions
from activitystream.delivery import runner
from activitystream.feeds import FanoutPriority, FeedManager, RedisFeed
from activitystream.feeds.entries import member_of

from . import feeds_support
from .feeds_support import feeds_app, snapshot
from .harness import BACKENDS

redis = feeds_support.redis  # the shared fixture

T0 = dt.datetime(2024, 5, 1, 12, 0, 0)


class Timeline(RedisFeed):
    key_format = 'feed:timeline:%(user_id)s'
    max_length = 50


class Posts(RedisFeed):
    key_format = 'feed:posts:%(user_id)s'
    max_length = 50


class SiteManager(FeedManager):
    feed_classes = dict(timeline=Timeline)
    user_feed_class = Posts


class LowFollowers(SiteManager):
    """Followers by id only: 1,200 HIGH, 1,500 LOW."""

    def get_user_follower_ids(self, user_id):
        return {
            FanoutPriority.HIGH: [f'h{n}' for n in range(1200)],
            FanoutPriority.LOW: (f'l{n}' for n in range(1500)),
        }


@pytest.fixture(params=BACKENDS)
def site(request, redis):
    """A site whose am.create and subscriptions keep SiteManager's feeds."""
    return feeds_app(request.param, feed_manager='tests.test_feeds_jobs:SiteManager')


@pytest.fixture
def no_runner(monkeypatch):
    """Nothing drains until the test says so."""
    monkeypatch.setattr(runner, 'kick', lambda: None)


def post(actor, minute, **options):
    return am.create(actor, 'posted', timestamp=T0 + dt.timedelta(minutes=minute), **options)


def ids(found):
    return [a.id for a in found]


def timeline(user):
    return model.options()['feed_manager'].get_feeds(user)['timeline']


def test_a_site_writes_one_line_per_activity_and_follows_keep_feeds_in_sync(site):
    alice, bob, carol = (site.user(n) for n in ('alice', 'bob', 'carol'))
    timeline(bob)  # bob reads his feeds: he is an active reader
    subscriptions.subscribe(bob, alice)
    subscriptions.subscribe(bob, site.document('Plan'))  # not a user: no follow
    site.commit()
    first = post(alice, 1)
    hidden = post(alice, 2, recipients=[carol])  # private: never in a feed
    site.commit()
    assert ids(timeline(bob)[:10]) == [first.id]
    assert hidden.id not in ids(timeline(alice)[:10])
    older = post(carol, 0)
    site.commit()
    subscriptions.subscribe(bob, carol)  # the follow copies carol's actions at once
    site.commit()
    assert ids(timeline(bob)[:10]) == [first.id, older.id]
    subscriptions.unsubscribe(bob, alice)
    site.commit()
    assert ids(timeline(bob)[:10]) == [older.id]
    assert ids(model.options()['feed_manager'].get_user_feed(alice)[:10]) == [first.id]
    assert model.storage().job_counts() == {'pending': 0, 'dead': 0}


def test_create_many_fans_out_each_public_action_of_a_user(site):
    alice, bob = site.user('alice'), site.user('bob')
    timeline(bob)
    subscriptions.subscribe(bob, alice)
    items = [
        dict(actor=alice, verb='posted', timestamp=T0 + dt.timedelta(minutes=n)) for n in range(3)
    ]
    items.append(dict(actor=site.team('core'), verb='posted', timestamp=T0))  # not a user
    assert am.create_many(item for item in items) == 4
    site.commit()
    assert timeline(bob).count() == 3


def test_each_feed_job_done_twice_leaves_the_same_feeds(site, redis, no_runner):
    alice, bob = site.user('alice'), site.user('bob')
    for user in (alice, bob):
        timeline(user)
    subscriptions.subscribe(bob, alice)
    site.commit()
    post(alice, 1)
    site.commit()
    prefix = model.options()['redis_prefix']
    storage = model.storage()
    handled = set()
    feed_jobs = lambda: [j for j in storage.jobs(False, None) if j.kind in ('fanout', 'feed')]  # noqa: E731
    while jobs := [job for job in feed_jobs() if job.id not in handled]:
        for job in jobs:  # each as a worker that dies before finishing it would leave it
            handler = runner._handler(job.kind)
            with model.unit_of_work() as work:
                handler(work, job)
            once = snapshot(redis, prefix)
            pending = len(storage.jobs(False, None))
            with model.unit_of_work() as work:
                handler(work, job)
            assert snapshot(redis, prefix) == once, job.kind
            assert len(storage.jobs(False, None)) == pending, job.kind  # nothing queued twice
            handled.add(job.id)
    assert sorted(job.kind for job in feed_jobs()) == ['fanout', 'feed', 'feed']  # with the follow
    delivery.drain()
    assert timeline(bob).count() == 1


def test_low_priority_followers_wait_in_the_low_queue(redis, no_runner):
    site = feeds_app('sqlite', feed_manager=LowFollowers)
    alice = site.user('alice')
    post(alice, 1)
    site.commit()
    assert delivery.drain(priority='high').done == 4  # live push, fan-out, its HIGH chunks
    [*low] = model.storage().jobs(False, None)
    assert [job.priority for job in low] == ['low', 'low']
    assert [len(job.payload['chunk']['user_ids']) for job in low] == [1000, 500]
    assert all(json.loads(json.dumps(job.payload)) == job.payload for job in low)
    assert delivery.drain(priority='low').done == 2


def test_an_actor_with_too_many_followers_is_merged_when_read(redis):
    site = feeds_app('sqlite', feed_manager=SiteManager, feeds_fanout_threshold=3)
    star, fans = site.user('star'), [site.user(f'fan{n}') for n in range(4)]
    small, reader = site.user('small'), fans[0]
    timeline(reader)
    for fan in fans:
        subscriptions.subscribe(fan, star)
    subscriptions.subscribe(reader, small)
    site.commit()
    stars = [post(star, minute) for minute in range(0, 40, 2)]  # 20
    smalls = [post(small, minute) for minute in range(1, 41, 2)]  # 20, interleaved
    site.commit()
    manager = model.options()['feed_manager']
    member = member_of(stars[0].id)
    assert redis.zscore(Timeline(manager.user_id(reader)).key, member) is None  # not pushed
    feed = timeline(reader)
    expected = ids(sorted(stars + smalls, key=lambda a: a.timestamp, reverse=True))
    assert ids(feed[:25]) == expected[:25]
    assert feed.count() == 40
    seen, page = [], feed[:7]
    while page:  # cursor paging through the merge: nothing skipped or repeated
        seen += ids(page)
        page = feed.before(page[-1].cursor)[:7]
    assert seen == expected
    assert ids(timeline(site.user('nobody'))[:5]) == []  # follows nobody: nothing merged


def test_an_actor_back_under_the_threshold_pushes_what_its_readers_merged(redis):
    """Its readers merged its actions while it had too many followers; once it has few
    enough to be fanned out to, they stop merging it, so its next fan-out pushes the
    actions they merged as well: none leaves their timelines."""
    site = feeds_app('sqlite', feed_manager=SiteManager, feeds_fanout_threshold=3)
    star, fans = site.user('star'), [site.user(f'fan{n}') for n in range(4)]
    reader = fans[0]
    timeline(reader)
    for fan in fans:
        subscriptions.subscribe(fan, star)
    site.commit()
    merged = [post(star, minute) for minute in (0, 1)]  # 4 followers: not pushed
    site.commit()
    subscriptions.unsubscribe(fans[3], star)
    site.commit()
    pushed = post(star, 2)  # 3 followers: fanned out to
    site.commit()
    manager = model.options()['feed_manager']
    assert redis.zcard(Timeline(manager.user_id(reader)).key) == 3
    assert ids(timeline(reader)[:5]) == ids([pushed, *reversed(merged)])


def test_inactive_readers_get_no_fan_out_until_they_read_again(redis):
    site = feeds_app('postgresql', feed_manager=SiteManager, feeds_inactive_days=7)
    alice, bob, carol = (site.user(n) for n in ('alice', 'bob', 'carol'))
    for reader in (bob, carol):
        timeline(reader)
        subscriptions.subscribe(reader, alice)
    site.commit()
    manager = model.options()['feed_manager']
    bob_feed = Timeline(manager.user_id(bob))
    assert 6 * 86400 < redis.ttl(bob_feed.built_key) <= 7 * 86400
    redis.delete(bob_feed.built_key)  # seven days pass without bob reading
    action = post(alice, 1)
    site.commit()
    assert bob_feed.count() == 0 and Timeline(manager.user_id(carol)).count() == 1
    assert ids(timeline(bob)[:5]) == [action.id]  # written from the database on his read
    assert 6 * 86400 < redis.ttl(bob_feed.key) <= 7 * 86400


def test_bad_feed_manager_options_fail_at_plug_time():
    for value, message in (
        ('tests.nowhere:Manager', "cannot import 'tests.nowhere:Manager'"),
        (object(), 'feed_manager must be a FeedManager'),
        ('tests.test_feeds_jobs:Timeline', 'feed_manager must be a FeedManager'),
    ):
        with pytest.raises(ConfigurationError, match=message):
            feeds_app('sqlite', feed_manager=value)
    for name in ('feeds_fanout_threshold', 'feeds_inactive_days'):
        with pytest.raises(ConfigurationError, match=f'{name} must be a non-negative integer'):
            feeds_app('sqlite', feed_manager=SiteManager, **{name: -1})
