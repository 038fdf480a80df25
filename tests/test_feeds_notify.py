"""Notification feeds for recipients: am.create and emit() to users' grouped notifications."""

import datetime as dt
import json

import pytest
import transaction

import hosts.app
from activitystream import am, delivery, model, subscriptions
from activitystream.delivery import runner
from activitystream.feeds import FeedManager, NotificationRedisFeed, RedisFeed
from activitystream.timeutil import utcnow

from . import feeds_support
from .feeds_support import feeds_app, snapshot
from .harness import BACKENDS
from .subscription_support import free_port

SQL_BACKENDS = hosts.app.SQL_BACKENDS

redis = feeds_support.redis  # the shared fixture


class Timeline(RedisFeed):
    key_format = 'feed:timeline:%(user_id)s'


class Notes(NotificationRedisFeed):
    key_format = 'feed:notes:%(user_id)s'


class NotifyingManager(FeedManager):
    feed_classes = dict(timeline=Timeline)
    notification_feed_class = Notes
    fanout_chunk_size = 2


class PlainManager(FeedManager):
    feed_classes = dict(timeline=Timeline)


@pytest.fixture(params=BACKENDS)
def site(request, redis):
    """A site whose am.create keeps NotifyingManager's feeds."""
    return feeds_app(request.param, feed_manager='tests.test_feeds_notify:NotifyingManager')


@pytest.fixture
def no_runner(monkeypatch):
    monkeypatch.setattr(runner, 'kick', lambda: None)


def manager():
    return model.options()['feed_manager']


def notes(user):
    return manager().get_notification_feed(user)


def ago(minutes):
    return utcnow() - dt.timedelta(minutes=minutes)


def rows(feed):
    return [(g.verb, str(g.target), g.latest_actors, g.actor_count, g.seen) for g in feed[:10]]


def test_recipients_get_grouped_notifications_and_private_ones_reach_only_them(site):
    alice, bob, carol, dave = (site.user(n, n.title()) for n in ('alice', 'bob', 'carol', 'dave'))
    party = site.document('Tea party')
    for user in (bob, carol):
        notes(user), manager().get_feeds(user)  # active readers
    subscriptions.subscribe(bob, alice)  # bob follows alice
    site.commit()
    for minute, actor in ((3, alice), (2, dave)):
        am.create(actor, 'commented on', target=party, recipients=[carol], timestamp=ago(minute))
    am.create(alice, 'posted', recipients=None, timestamp=ago(1))  # a broadcast: nobody's
    am.create(alice, 'told', recipients=[site.team('core')], timestamp=ago(1))  # not a user
    site.commit()

    assert rows(notes(carol)) == [('commented on', 'Tea party', ['Dave', 'Alice'], 2, False)]
    assert notes(carol).counts() == (1, 1)
    assert notes(bob).count() == 0  # private: not to the actor's follower
    assert [a.verb for a in manager().get_feeds(bob)['timeline'][:10]] == ['posted']
    assert notes(alice).count() == 0  # nobody is notified of their own action


def test_emit_to_subscribers_reaches_their_notification_feeds(site):
    alice, bob, carol = (site.user(n, n.title()) for n in ('alice', 'bob', 'carol'))
    doc = site.document('Plan')
    for user in (alice, bob, carol):
        subscriptions.subscribe(user, doc)
        notes(user)
    site.commit()
    for actor in (alice, bob):
        subscriptions.emit(
            '{actor} commented', subscribers_of=doc, actor=actor, backends=['activitystream']
        )
        site.commit()
    carol_rows = rows(notes(carol))
    assert [(verb, actors, count) for verb, _, actors, count, _ in carol_rows] == [
        ('notified', ['Bob', 'Alice'], 2)
    ]
    assert [r[2] for r in rows(notes(alice))] == [['Bob']]


def test_jobs_are_json_chunks_and_each_done_twice_leaves_the_same_feeds(site, redis, no_runner):
    users = [site.user(f'u{n}', f'U{n}') for n in range(5)]
    actor = site.user('zed', 'Zed')
    for user in users[:4]:  # u4 is an inactive reader
        notes(user)
    site.commit()
    am.create(actor, 'liked', target=site.document('Pic'), recipients=users, timestamp=ago(1))
    site.commit()
    storage = model.storage()
    jobs = [j for j in storage.jobs(False, None) if j.kind == 'feed']
    assert sorted(len(j.payload['chunk']['user_ids']) for j in jobs) == [1, 2, 2]
    assert all(j.payload['chunk']['feeds'] == ['@notification'] for j in jobs)
    assert all(json.loads(json.dumps(j.payload)) == j.payload for j in jobs)
    prefix = model.options()['redis_prefix']
    for job in jobs:
        handler = runner._handler(job.kind)
        with model.unit_of_work() as work:
            handler(work, job)
        once = snapshot(redis, prefix)
        with model.unit_of_work() as work:
            handler(work, job)
        assert snapshot(redis, prefix) == once
    delivery.drain()
    manager_ = manager()
    assert [Notes(manager_.user_id(u)).count() for u in users] == [1, 1, 1, 1, 0]
    assert notes(users[4]).count() == 1  # written from its deliveries when read


def test_a_lost_feed_is_written_again_from_the_deliveries_with_its_seen_and_read_state(site, redis):
    alice, bob, carol = (site.user(n, n.title()) for n in ('alice', 'bob', 'carol'))
    docs = {title: site.document(title) for title in ('A', 'B', 'C')}
    notes(carol)
    site.commit()

    def comment(actor, title, minutes):
        am.create(actor, 'commented on', target=docs[title], recipients=[carol],
                  timestamp=ago(minutes))  # fmt: skip
        site.commit()

    comment(alice, 'A', 10)
    comment(bob, 'A', 9)
    am.mark_read(carol)
    site.commit()
    comment(alice, 'B', 5)
    am.mark_seen(carol)
    site.commit()
    comment(bob, 'C', 1)
    am.create(alice, 'posted', timestamp=ago(0))  # a broadcast: not in a notification feed
    site.commit()
    feed = notes(carol)
    written = [(g.key, g.activity_count, g.actor_count) for g in feed[:10]]
    assert len(written) == 3

    redis.delete(*feed.all_keys())  # Redis lost it
    rebuilt = notes(carol)
    assert [(g.key, g.activity_count, g.actor_count) for g in rebuilt[:10]] == written
    assert [(str(g.target), g.seen, g.read) for g in rebuilt[:10]] == [
        ('C', False, False),
        ('B', True, False),
        ('A', True, True),
    ]
    assert rebuilt.counts() == (1, 2)


def test_a_remnant_of_a_feed_whose_marker_expired_does_not_hide_what_it_held(site, redis):
    alice, carol = site.user('alice', 'Alice'), site.user('carol', 'Carol')
    notes(carol)
    site.commit()
    am.create(alice, 'commented on', target=site.document('A'), recipients=[carol])
    site.commit()
    feed = notes(carol)
    redis.delete(feed.key, feed.built_key)  # expired: the groups' hashes stay
    assert notes(carol).count() == 1


def test_a_deleted_action_leaves_its_recipients_notification_feeds(site):
    alice, bob, carol = (site.user(n, n.title()) for n in ('alice', 'bob', 'carol'))
    for user in (bob, carol):
        notes(user)
    site.commit()
    doc = site.document('A')
    kept = am.create(alice, 'commented on', target=doc, recipients=[bob, carol])
    gone = am.create(alice, 'liked', target=doc, recipients=[carol])
    site.commit()
    assert notes(carol).counts() == (2, 2)
    am.delete(gone)
    site.commit()
    assert [g.verb for g in notes(carol)[:10]] == ['commented on']
    assert notes(carol).counts() == (1, 1)
    am.delete(kept)
    site.commit()
    assert [notes(u).count() for u in (bob, carol)] == [0, 0]


def test_erasure_drops_every_key_of_the_notification_feed(site, redis):
    alice, carol = site.user('alice', 'Alice'), site.user('carol', 'Carol')
    notes(carol)
    am.create(alice, 'commented on', target=site.document('A'), recipients=[carol])
    site.commit()
    keys = notes(carol).all_keys()
    assert redis.exists(*keys) > 3
    am.erase(carol)
    site.commit()
    assert redis.exists(*keys) == 0


def test_feeds_of_an_erasure_go_when_redis_is_back_and_stay_if_it_rolls_back(
    site, redis, monkeypatch
):
    alice, carol = site.user('alice', 'Alice'), site.user('carol', 'Carol')
    notes(carol)
    am.create(alice, 'commented on', target=site.document('A'), recipients=[carol])
    site.commit()
    keys = notes(carol).all_keys()
    present = redis.exists(*keys)
    assert present > 3
    if site.backend in SQL_BACKENDS:  # Ming has no transaction to roll back
        am.erase(carol)
        transaction.abort()
        assert redis.exists(*keys) == present
        assert delivery.drain().jobs == 0
    monkeypatch.setitem(model.options(), 'redis_url', f'redis://127.0.0.1:{free_port()}/0')
    am.erase(carol)
    site.commit()  # the erasure commits; dropping its feeds waits for Redis
    assert redis.exists(*keys) == present
    monkeypatch.setitem(model.options(), 'redis_url', feeds_support.support.REDIS_URL)
    subscriptions.retry_failed()
    assert redis.exists(*keys) == 0


def test_managers_without_a_notification_feed_are_unchanged(redis, no_runner):
    site = feeds_app('sqlite', feed_manager=PlainManager)
    alice, carol = site.user('alice'), site.user('carol')
    am.create(alice, 'commented on', recipients=[carol])
    site.commit()
    assert [j.kind for j in model.storage().jobs(False, None)] == ['push']  # the live push only
    with pytest.raises(TypeError, match='has no notification_feed_class'):
        manager().get_notification_feed(carol)
