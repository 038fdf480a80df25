"""Feeds, live pushes and the redis backend on a real three-master Redis Cluster.

The site reaches the cluster by its ``redis_url`` only. Every command must
find its keys in one slot: the nodes count CROSSSLOT errors (INFO
errorstats) and each test ends by asserting that none happened. A fan-out
chunk goes to each node in one request, however many followers it writes.
"""

import collections
import contextlib
import datetime as dt

import pytest
from redis.cluster import key_slot
from redis.exceptions import ClusterCrossSlotError

from activitystream import am, live, model, refs, subscriptions
from activitystream.feeds import (
    AggregatedRedisFeed,
    FanoutPriority,
    FeedManager,
    NotificationRedisFeed,
    RedisFeed,
)
from activitystream.feeds.entries import entry_of, member_of
from activitystream.live import channel, subscribe
from activitystream.redis_client import client, cluster_url

from . import cluster_support, feeds_support
from .harness import BACKENDS

redis_cluster = cluster_support.redis_cluster  # the fixture: a cluster for this module

T0 = dt.datetime(2024, 5, 1, 12, 0, 0)
REDIS_BACKEND = 'activitystream.subscriptions.backends.RedisBackend'


class PinFeed(RedisFeed):
    key_format = 'feed:normal:%(user_id)s'
    max_length = 5


class UserPinFeed(RedisFeed):
    key_format = 'feed:user:%(user_id)s'


class GroupFeed(AggregatedRedisFeed):
    key_format = 'feed:grouped:%(user_id)s'


class NoteFeed(NotificationRedisFeed):
    key_format = 'feed:notes:%(user_id)s'


# Every feed class must keep each feed in one slot: add new ones here.
FEED_CLASSES = [PinFeed, UserPinFeed, GroupFeed, NoteFeed]


class PinManager(FeedManager):
    feed_classes = dict(normal=PinFeed)
    user_feed_class = UserPinFeed


class ThousandFollowers(PinManager):
    """1,000 followers that exist only as ids: one chunk, spread over every node."""

    def get_user_follower_ids(self, user_id):
        return {FanoutPriority.HIGH: [f'f{n}' for n in range(1, 1001)]}


@pytest.fixture(params=BACKENDS)
def env(request, redis_cluster):
    """A feeds app on each database backend whose ``redis_url`` names the cluster."""
    return feeds_support.feeds_app(request.param, redis_url=redis_cluster.url)


def crossslot_errors(cluster) -> dict:
    """{port: count} of the CROSSSLOT errors each node answered since its stats were reset."""
    found = {}
    for port, node in zip(cluster.ports, cluster.nodes(), strict=True):
        stat = node.info('errorstats').get('errorstat_CROSSSLOT')
        if stat:
            found[port] = stat['count']
    return found


@pytest.fixture(autouse=True)
def no_crossslot(redis_cluster):
    """Each test passes only if no node answered a CROSSSLOT error meanwhile."""
    yield
    assert crossslot_errors(redis_cluster) == {}


def keys_by_node(cluster, prefix: str) -> dict[int, set[bytes]]:
    """{port: keys under ``prefix``} of the keys each node holds."""
    return {
        port: set(node.scan_iter(match=f'{prefix}*', count=1000))
        for port, node in zip(cluster.ports, cluster.nodes(), strict=True)
    }


@contextlib.contextmanager
def feed_requests():
    """Counts, per node port, the requests written to feed keys while the block runs."""
    sent = collections.Counter()

    def record(connection, command):
        if b'{feed:' in b''.join(command):
            sent[connection.port] += 1

    with feeds_support.sends(record):
        yield sent


def pins(env, count, actor=None, step=dt.timedelta(minutes=1)):
    actor = actor or env.user('alice', 'Alice')
    board = env.document('Board')
    return am.create_many(
        [dict(actor=actor, verb='pinned', target=board, timestamp=T0 + n * step)
         for n in range(count)]
    )  # fmt: skip


def ids(found):
    return [a.id for a in found]


def test_the_watch_on_crossslot_errors_sees_one(redis_cluster):
    port = redis_cluster.ports[0]
    node = redis_cluster.node(port)
    with pytest.raises(ClusterCrossSlotError):
        node.mset({'{a}x': 1, '{b}x': 2})
    try:
        assert crossslot_errors(redis_cluster) == {port: 1}
    finally:
        node.config_resetstat()


def test_the_cluster_parameter_is_read_and_taken_out_of_the_url():
    given = 'rediss://u:p%40ss@h:7000/0?cluster=True&health_check_interval=5'
    assert cluster_url(given) == ('rediss://u:p%40ss@h:7000/0?health_check_interval=5', True)
    assert cluster_url('redis://h:6379/2?cluster=false') == ('redis://h:6379/2', False)
    assert cluster_url('redis://h:6379/2') == ('redis://h:6379/2', False)


def test_the_url_gives_a_cluster_client(redis_cluster):
    from redis.cluster import RedisCluster

    cluster = client(redis_cluster.url)
    assert isinstance(cluster, RedisCluster)
    assert sorted(node.port for node in cluster.get_primaries()) == sorted(redis_cluster.ports)


@pytest.mark.parametrize('feed_class', FEED_CLASSES, ids=lambda cls: cls.__name__)
def test_every_key_of_a_feed_is_in_one_slot_and_feeds_spread_over_the_nodes(
    env, redis_cluster, feed_class
):
    made = pins(env, 8)
    prefix = model.options()['redis_prefix']
    nodes_used = set()
    for user_id in range(1, 13):
        before = keys_by_node(redis_cluster, prefix)
        feed = feed_class(user_id)
        feed.add_many(made)
        feed.remove(made[-1])
        feed.add(made[-1])
        page = feed[:2]
        older = feed.before(page[-1])[:2]  # grouped feeds: the 8 pins are one group
        assert (
            page
            and feed.count()
            and len(older) == (0 if feed_class in (GroupFeed, NoteFeed) else 2)
        )
        after = keys_by_node(redis_cluster, prefix)
        new = {port: after[port] - before[port] for port in after if after[port] - before[port]}
        assert len(new) == 1, f'the keys of {feed!r} are on several nodes: {new}'
        [(port, keys)] = new.items()
        assert {key_slot(key) for key in keys} == {key_slot(feed.key.encode())}
        nodes_used.add(port)
    assert len(nodes_used) > 1


def test_add_remove_trim_and_pages(env, redis_cluster):
    made = pins(env, 8)
    newest_first = made[::-1]
    for user_id in ('7', 'u-42', 'x'):  # three feeds, on more than one node
        feed = PinFeed(user_id)
        feed.add(made[0])
        assert ids(feed[:25]) == [made[0].id]
        with feed_requests() as sent:
            feed.add_many(made)
        assert sum(sent.values()) == 1  # add and trim: one request
        assert feed.count() == 5  # trimmed to max_length
        assert ids(feed[:25]) == ids(newest_first[:5])
        feed.remove(newest_first[1])
        assert ids(feed[:2]) == [newest_first[0].id, newest_first[2].id]
        assert ids(feed[1:3]) == [newest_first[2].id, newest_first[3].id]
        with feed_requests() as sent:
            page = feed.before(newest_first[2].cursor)[:25]
        assert sum(sent.values()) == 1
        assert ids(page) == [newest_first[3].id, newest_first[4].id]
    nodes = {client(redis_cluster.url).get_node_from_key(PinFeed(u).key).port
             for u in ('7', 'u-42', 'x')}  # fmt: skip
    assert len(nodes) > 1


def test_a_chunk_of_1000_followers_is_one_request_per_node(env, redis_cluster):
    alice = env.user('alice')
    manager = ThousandFollowers()
    [action] = pins(env, 1, alice)
    [chunk] = manager.fanout_chunks(alice, add=[entry_of(action)])
    assert len(chunk.user_ids) == 1000
    with feed_requests() as sent:
        manager.run_chunk(chunk)
    assert sent == {port: 1 for port in redis_cluster.ports}
    prefix = model.options()['redis_prefix']
    held = keys_by_node(redis_cluster, prefix)
    assert all(len(keys) > 200 for keys in held.values())  # ~333 feeds on each master
    assert sum(len(keys) for keys in held.values()) == 1000
    pipe = client(redis_cluster.url).pipeline(transaction=False)
    for n in range(1, 1001):
        pipe.zscore(PinFeed(f'f{n}').key, member_of(action.id))
    assert set(pipe.execute()) == {entry_of(action).score}


class NoteFollowers(ThousandFollowers):
    feed_classes = dict(normal=PinFeed, notes=NoteFeed)


def test_notification_feeds_fan_out_count_and_mark_on_every_node(env, redis_cluster):
    alice = env.user('alice')
    manager = NoteFollowers()
    made = pins(env, 3, alice)  # one group: the same verb, target and day
    [chunk] = manager.fanout_chunks(alice, add=[entry_of(action) for action in made])
    with feed_requests() as sent:
        manager.run_chunk(chunk)
    assert sent == {port: 1 for port in redis_cluster.ports}  # both feeds of 1,000 users
    nodes = set()
    for n in (1, 2, 3, 500, 1000):
        notes = NoteFeed(f'f{n}')
        nodes.add(client(redis_cluster.url).get_node_from_key(notes.key).port)
        [group] = notes[:5]
        assert (group.activity_count, group.actor_count) == (3, 1)
        assert (notes.count_unseen(), notes.count_unread()) == (1, 1)
        notes.mark_all(seen=True, read=True)
        assert notes.counts() == (0, 0)
    assert len(nodes) > 1


def test_a_chunk_to_active_readers_loads_its_script_on_every_node_once(env, redis_cluster):
    alice = env.user('alice')
    manager = ThousandFollowers()
    [action] = pins(env, 1, alice)
    [chunk] = manager.fanout_chunks(alice, add=[entry_of(action)])
    cluster = client(redis_cluster.url)
    pipe = cluster.pipeline(transaction=False)
    for n in range(1, 501):  # half the followers read their feed: it was built
        pipe.set(PinFeed(f'f{n}').built_key, 1)
    pipe.execute()
    for node in redis_cluster.nodes():
        node.script_flush()  # nodes that never saw the script (NOSCRIPT)
    with feed_requests() as sent:
        manager.run_chunk(chunk, if_built=True)
    assert sent == {port: 2 for port in redis_cluster.ports}  # NOSCRIPT, load, once again
    with feed_requests() as sent:
        manager.run_chunk(chunk, if_built=True)
    assert sent == {port: 1 for port in redis_cluster.ports}
    pipe = cluster.pipeline(transaction=False)
    for n in range(1, 1001):
        pipe.zscore(PinFeed(f'f{n}').key, member_of(action.id))
    found = pipe.execute()
    assert set(found[:500]) == {entry_of(action).score} and set(found[500:]) == {None}


def test_the_manager_fans_out_follows_unfollows_and_rebuilds_after_a_flush(env, redis_cluster):
    alice, bob, carol, dave = (env.user(n, n.title()) for n in ('alice', 'bob', 'carol', 'dave'))
    for follower in (bob, carol):
        subscriptions.subscribe(follower, alice)
    manager = PinManager()
    made = pins(env, 4, alice)
    for action in made:
        manager.add_user_activity(alice, action)
    env.commit()
    newest_first = ids(made[::-1])
    for user in (alice, bob, carol):
        assert ids(manager.get_feeds(user)['normal'][:25]) == newest_first
    assert manager.get_feeds(dave)['normal'].count() == 0

    feeds_support.delete_actions(env, [made[1].id])  # gone for good: a rebuild agrees
    manager.remove_user_activity(alice, made[1].id)
    env.commit()
    newest_first.remove(made[1].id)
    assert ids(manager.get_feeds(carol)['normal'][:25]) == newest_first

    subscriptions.subscribe(dave, alice)
    manager.follow_user(dave, alice)
    env.commit()
    assert ids(manager.get_feeds(dave)['normal'][:25]) == newest_first
    subscriptions.unsubscribe(dave, alice)
    manager.unfollow_user(dave, alice)
    env.commit()
    assert manager.get_feeds(dave)['normal'].count() == 0

    redis_cluster.flushall()  # every node lost everything, its scripts too
    for node in redis_cluster.nodes():
        node.script_flush()
    for user in (alice, bob, carol):
        feed = manager.get_feeds(user)['normal']
        assert ids(feed[:25]) == newest_first
        assert ids(feed.before(feed[:1][0])[:25]) == newest_first[1:]
    assert ids(manager.get_user_feed(alice)[:25]) == newest_first
    assert manager.get_feeds(dave)['normal'].count() == 0


def test_live_pushes_reach_listeners_on_every_node(env, redis_cluster):
    alice = env.user('alice')
    users, listeners, nodes = [], {}, set()
    for n in range(60):  # users until their channels are on all three masters
        users.append(env.user(f'user{n}'))
        ref = refs.ref_of(users[-1], 'user')
        listeners[channel(ref)] = pubsub = subscribe(ref)
        for _ in range(2):  # its channel and everyone's: both confirmed (and ignored)
            pubsub.get_message(timeout=1)
        nodes.add(pubsub.get_pubsub_node().port)
        if len(nodes) == len(redis_cluster.ports):
            break
    assert len(nodes) == len(redis_cluster.ports)
    try:
        am.create(alice, 'mentioned', recipients=users)
        env.commit()
        for name, pubsub in listeners.items():
            message = pubsub.get_message(timeout=2)
            assert message is not None, f'no push reached {name}'
            assert message['channel'].decode() == name
    finally:
        for pubsub in listeners.values():
            pubsub.close()


def test_after_a_push_fails_on_a_dead_node_the_next_goes_through_another(tmp_path, monkeypatch):
    cluster = cluster_support.Cluster(cluster_support.free_ports(cluster_support.MASTERS))
    try:
        cluster_support.start(cluster, tmp_path)  # its own cluster: one node will die
        env = feeds_support.feeds_app('sqlite', redis_url=cluster.url)
        monkeypatch.setattr(live, 'RETRY_AFTER', 0)  # no pause after the failure
        redis = client(cluster.url)
        dead = redis.get_default_node().port
        cluster.processes[cluster.ports.index(dead)].terminate()
        cluster.processes[cluster.ports.index(dead)].wait(cluster_support.STOP_TIMEOUT)
        alice, bob = env.user('alice'), env.user('bob')
        am.create(alice, 'mentioned', recipients=[bob])
        env.commit()  # its push fails: the node is gone
        assert redis.get_default_node().port != dead
        for n in range(60):  # a listener whose channel is on a live node
            user = env.user(f'user{n}')
            ref = refs.ref_of(user, 'user')
            if redis.get_node_from_key(channel(ref)).port != dead:
                break
        pubsub = subscribe(ref)
        for _ in range(2):
            pubsub.get_message(timeout=1)
        am.create(alice, 'mentioned', recipients=[user])
        env.commit()
        message = pubsub.get_message(timeout=2)
        pubsub.close()
        assert message is not None and message['channel'].decode() == channel(ref)
    finally:
        cluster_support.stop(cluster)


def test_the_redis_backend_keeps_each_users_lists_in_one_slot(redis_cluster):
    for backend in BACKENDS:
        env = feeds_support.feeds_app(
            backend,
            redis_url=redis_cluster.url,
            subscription_backends={'redis': REDIS_BACKEND},
        )
        doc, alice = env.document('Plan'), env.user('alice', 'Alice')
        readers = [env.user(f'reader{n}') for n in range(9)]
        for reader in readers:
            subscriptions.subscribe(reader, doc)
        for n in (1, 2):
            subscriptions.emit(f'{{actor}} edit {n}', subscribers_of=doc, actor=alice)
        env.commit()
        for reader in readers:
            stream = subscriptions.user_stream(reader, clear_undelivered=True)
            assert stream['undelivered'] == []
            shown = [text for _, text in stream['unacknowledged']]
            assert shown == ['Alice edit 2', 'Alice edit 1']
            assert subscriptions.acknowledge(reader) == 2
            assert len(subscriptions.user_stream(reader)['acknowledged']) == 2
        held = keys_by_node(redis_cluster, model.options()['redis_prefix'])
        assert sum(1 for keys in held.values() if keys) > 1  # the readers' lists spread
        markers = [key for keys in held.values() for key in keys if b':done:' in key]
        assert len(markers) == 2 * len(readers)  # each delivery pushed once (PUSH_ONCE, EVAL)
