"""NotificationRedisFeed on a real Redis: exact uncapped counts, O(1) mark_all, live pushes."""

import datetime as dt
import json
import time

import pytest

from activitystream import am, live, model
from activitystream.feeds import NotificationRedisFeed
from activitystream.feeds.entries import entry_of
from activitystream.feeds.scripts import execute
from activitystream.storage.base import Ref

from . import feeds_support
from .feeds_support import round_trips, snapshot

env, redis = feeds_support.env, feeds_support.redis  # the shared fixtures

T0 = dt.datetime(2024, 5, 1, 12, 0, 0)
MINUTE = dt.timedelta(minutes=1)


class MyNotifications(NotificationRedisFeed):
    key_format = 'feed:notification:%(user_id)s'
    max_length = 1000


def comments(env, count, actor, docs=None, start=0):
    """``count`` comments of ``actor``, each on a document of its own unless ``docs`` are given."""
    docs = docs or [env.document(f'doc {start + n}') for n in range(count)]
    items = [
        dict(actor=actor, verb='commented', target=docs[n % len(docs)],
             timestamp=T0 + (start + n) * MINUTE)
        for n in range(count)
    ]  # fmt: skip
    return am.create_many(items)


def write(feed, actions):
    """Write through a pipeline, as FeedManager.run_chunk does."""
    execute(
        feed.redis, lambda pipe: feed.queue_add(pipe, [entry_of(a) for a in actions]), feed.scripts
    )


def test_the_seed_way_of_subclassing(env):
    feed = MyNotifications(13)
    assert feed.key == f'{model.options()["redis_prefix"]}:{{feed:notification:13}}'
    assert feed.counts() == (0, 0) and feed.count() == 0 and feed[:25] == []


def test_counts_are_exact_above_a_hundred(env):
    alice = env.user('alice', 'Alice')
    feed = MyNotifications(1)
    write(feed, comments(env, 150, alice))
    assert feed.count() == 150
    assert (feed.count_unseen(), feed.count_unread()) == (150, 150)
    page = feed[:25]
    assert [(g.seen, g.read) for g in page] == [(False, False)] * 25
    feed.mark_all()
    assert (feed.count_unseen(), feed.count_unread()) == (0, 150)
    assert [(g.seen, g.read) for g in feed[:25]] == [(True, False)] * 25
    write(feed, comments(env, 120, alice, start=200))
    assert (feed.count_unseen(), feed.count_unread()) == (120, 270)
    feed.mark_all(read=True)
    assert feed.counts() == (0, 0)


def test_mark_all_is_one_command_whatever_the_size(env):
    alice = env.user('alice', 'Alice')
    small, large = MyNotifications(2), MyNotifications(3)
    write(small, comments(env, 3, alice))
    write(large, comments(env, 300, alice, start=10))
    small.mark_all()  # the script is loaded once per server
    sent_by_size = []
    for feed in (small, large):
        feed.mark_all(seen=False, read=False)  # a no-op: nothing to move
        with round_trips(feed.redis) as sent:
            feed.mark_all(seen=True, read=True)
        sent_by_size.append(sent)
        assert feed.counts() == (0, 0)
    assert [len(sent) for sent in sent_by_size] == [1, 1]
    assert all(b'EVALSHA' in b''.join(sent[0]) for sent in sent_by_size)
    with round_trips(large.redis) as sent:
        assert large.count_unseen() == 0
    assert len(sent) == 1


def test_a_group_with_a_new_activity_is_unseen_and_unread_again(env):
    alice = env.user('alice', 'Alice')
    bob = env.user('bob', 'Bob')
    docs = [env.document(f'doc {n}') for n in range(4)]
    feed = MyNotifications(4)
    write(feed, comments(env, 4, alice, docs=docs))
    feed.mark_all(seen=True, read=True)
    write(feed, comments(env, 1, bob, docs=[docs[1]], start=10))
    assert feed.count() == 4 and feed.counts() == (1, 1)
    top, *rest = feed[:25]
    assert top.target == 'doc 1' and top.latest_actors == ['Bob', 'Alice']
    assert (top.seen, top.read) == (False, False)
    assert [(g.seen, g.read) for g in rest] == [(True, True)] * 3


def test_mark_activity_marks_one_group_until_it_changes(env):
    alice = env.user('alice', 'Alice')
    docs = [env.document(f'doc {n}') for n in range(5)]
    feed = MyNotifications(5)
    made = comments(env, 5, alice, docs=docs)
    write(feed, made)
    groups = feed[:25]
    assert feed.mark_activity(groups[2], read=True) is True
    assert feed.mark_activity(groups[2], read=True) is False  # already so
    assert feed.counts() == (4, 4)
    assert feed.mark_activity(groups[0].key, seen=False, read=True) is True
    assert feed.counts() == (4, 3)
    assert feed.mark_activity(made[0]) is True  # the group of an action: doc 0's
    assert feed.counts() == (3, 3)
    flags = [(g.target, g.seen, g.read) for g in feed[:25]]
    assert flags == [
        ('doc 4', False, True),
        ('doc 3', False, False),
        ('doc 2', True, True),
        ('doc 1', False, False),
        ('doc 0', True, False),
    ]
    write(feed, comments(env, 1, env.user('bob', 'Bob'), docs=[docs[2]], start=7))
    assert feed.counts() == (4, 4) and (feed[0].seen, feed[0].read) == (False, False)
    feed.mark_all()  # a watermark past the marks: nothing is counted twice
    assert feed.counts() == (0, 4)
    assert feed.mark_activity('no such group') is False


def test_every_write_run_twice_leaves_the_same_state(env, redis):
    alice = env.user('alice', 'Alice')
    docs = [env.document(f'doc {n}') for n in range(3)]
    feed = MyNotifications(6)
    made = comments(env, 6, alice, docs=docs)
    entries = [entry_of(a) for a in made]

    def build(pipe):
        feed.queue_remove(pipe, [entries[0].member])
        feed.queue_add(pipe, entries[1:])

    def chunk():
        execute(feed.redis, build, feed.scripts)

    writes = [
        lambda: write(feed, made[:4]),
        lambda: feed.mark_activity(feed[0].key, read=True),
        lambda: feed.mark_all(),
        chunk,
        lambda: feed.mark_all(read=True),
        lambda: feed.remove(made[5]),
    ]
    for index, run in enumerate(writes):
        run()
        once = snapshot(redis, feed.key)
        run()
        assert snapshot(redis, feed.key) == once, index
    assert feed.counts() == (0, 0) and feed.count() == 3


def test_counts_are_pushed_on_the_users_live_channel(env, redis):
    alice = env.user('alice', 'Alice')
    feed = MyNotifications(7)
    pubsub = redis.pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(live.channel(Ref('User', '7')))

    def pushed():
        found, end = [], time.monotonic() + 0.5
        while time.monotonic() < end:
            message = pubsub.get_message(timeout=0.1)
            if message is not None:
                found.append(json.loads(message['data']))
        return found

    try:
        made = comments(env, 2, alice)
        write(feed, made)
        name = 'feed:notification:7'
        assert pushed() == [{'feed': name, 'unseen_count': 2, 'unread_count': 2}]
        write(feed, made)  # a replay changes nothing and tells nothing
        feed.mark_all()
        assert pushed() == [{'feed': name, 'unseen_count': 0, 'unread_count': 2}]
        feed.mark_all()
        feed.mark_activity(feed[0], read=True)
        assert pushed() == [{'feed': name, 'unseen_count': 0, 'unread_count': 1}]
    finally:
        pubsub.close()


def test_trimmed_groups_leave_no_state_behind(env, redis):
    alice = env.user('alice', 'Alice')

    class Few(NotificationRedisFeed):
        key_format = 'feed:few:%(user_id)s'
        max_length = 3

    feed = Few(8)
    made = comments(env, 3, alice)
    write(feed, made)
    feed.mark_activity(feed[2], read=True)
    write(feed, comments(env, 4, alice, start=10))
    assert feed.count() == 3 and feed.counts() == (3, 3)
    for part in ('touch', 'seenmarks', 'readmarks'):
        assert set(redis.zrange(f'{feed.key}:{part}', 0, -1)) <= set(redis.zrange(feed.key, 0, -1))
    assert redis.zcard(f'{feed.key}:readmarks') == 0


def test_bad_input_names_the_argument(env):
    feed = MyNotifications(9)
    with pytest.raises(TypeError, match='seen'):
        feed.mark_all(seen='yes')
    with pytest.raises(TypeError, match='read'):
        feed.mark_all(read=1)
    with pytest.raises(TypeError, match='group'):
        feed.mark_activity(5)
    with pytest.raises(TypeError, match='read'):
        feed.mark_activity('g', read=None)
    assert feed.counts() == (0, 0)
