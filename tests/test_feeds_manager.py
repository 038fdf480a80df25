"""FeedManager on a real Redis: fan-out to subscribers by chunks, follows, removal, replays."""

import datetime as dt
import json

import pytest
import transaction

from activitystream import am, model, subscriptions
from activitystream.feeds import FanoutChunk, FanoutPriority, FeedManager, RedisFeed
from activitystream.feeds.entries import Entry, entry_of, member_of

from . import feeds_support
from .feeds_support import delete_actions, feeds_app, round_trips, snapshot

env, redis = feeds_support.env, feeds_support.redis  # the shared fixtures

T0 = dt.datetime(2024, 5, 1, 12, 0, 0)


class PinFeed(RedisFeed):
    key_format = 'feed:normal:%(user_id)s'
    max_length = 5


class UserPinFeed(PinFeed):
    key_format = 'feed:user:%(user_id)s'
    max_length = 100


class PinManager(FeedManager):
    feed_classes = dict(normal=PinFeed)
    user_feed_class = UserPinFeed


class ManyFollowers(PinManager):
    """2,500 followers that exist only as ids, the actor among them."""

    def get_user_follower_ids(self, user_id):
        return {
            FanoutPriority.LOW: (f'f{n}' for n in range(1501, 2501)),
            FanoutPriority.HIGH: [*(f'f{n}' for n in range(1, 1501)), user_id, 'f7'],
        }


def pin(actor, board, minutes=0, **options):
    return am.create(
        actor, 'pinned', target=board, timestamp=T0 + dt.timedelta(minutes=minutes), **options
    )


def ids(found):
    return [a.id for a in found]


def test_an_activity_reaches_the_user_and_its_subscribers_after_the_commit(env):
    alice, bob, carol, dave = (env.user(n, n.title()) for n in ('alice', 'bob', 'carol', 'dave'))
    board, team = env.document('Board'), env.team('core')
    for follower in (bob, carol, team, alice):  # a team is no user; alice follows herself
        subscriptions.subscribe(follower, alice)
    manager = PinManager()
    action = pin(alice, board)
    manager.add_user_activity(alice, action)
    if env.sql:  # SQL: nothing reaches Redis before the commit
        assert manager.get_feeds(bob)['normal'].count() == 0
    env.commit()
    for user in (alice, bob, carol):
        assert ids(manager.get_feeds(user)['normal'][:25]) == [action.id]
    assert ids(manager.get_user_feed(alice)[:25]) == [action.id]
    assert manager.get_feeds(dave)['normal'].count() == 0
    assert manager.get_user_feed(bob).count() == 0
    feed = manager.get_feeds(bob)['normal']
    assert feed[0].actor == 'Alice' and feed[0].target == 'Board'


def test_a_rolled_back_activity_never_reaches_a_feed(redis):
    env = feeds_app('sqlite')
    alice, bob = env.user('alice'), env.user('bob')
    subscriptions.subscribe(bob, alice)
    env.commit()
    PinManager().add_user_activity(alice, pin(alice, env.document('Board')))
    transaction.abort()
    assert PinManager().get_feeds(bob)['normal'].count() == 0
    assert PinManager().get_user_feed(alice).count() == 0


def test_fanout_goes_by_chunks_of_1000_followers_one_round_trip_each(env, redis):
    alice = env.user('alice')
    manager = ManyFollowers()
    action = pin(alice, env.document('Board'))
    user_id = manager.user_id(alice)
    chunks = list(manager.fanout_chunks(alice, add=[entry_of(action)]))
    assert [(len(c.user_ids), c.priority) for c in chunks] == [
        (1000, FanoutPriority.HIGH),
        (500, FanoutPriority.HIGH),
        (1000, FanoutPriority.LOW),
    ]
    assert user_id not in {u for c in chunks for u in c.user_ids}
    assert sum(len(c.user_ids) for c in chunks) == 2500  # f7 came twice, written once
    pipe = redis.pipeline()
    for n in range(1, 2001):  # these read their feeds lately; f2001 to f2500 never did
        pipe.set(PinFeed(f'f{n}').built_key, 1)
    pipe.execute()
    with round_trips(PinFeed('f1').redis) as sent:
        manager.add_user_activity(alice, action)
        env.commit()
    to_feeds = [command for command in sent if b'{feed:' in b''.join(command)]
    assert len(to_feeds) == 1 + 3  # the actor's own feeds, then a round trip per chunk
    member = member_of(action.id)
    pipe = redis.pipeline()
    for n in range(1, 2501):
        pipe.zscore(PinFeed(f'f{n}').key, member)
    scores = pipe.execute()
    assert set(scores[:2000]) == {entry_of(action).score}
    assert set(scores[2000:]) == {None}  # inactive: written from the database when read
    assert ids(PinFeed(user_id)[:25]) == [action.id]


def test_a_chunk_is_json_and_running_it_twice_changes_nothing(env, redis):
    alice, bob = env.user('alice'), env.user('bob')
    board = env.document('Board')
    manager = PinManager()
    older = [pin(alice, board, n) for n in range(6)]
    for action in older:
        manager.add_user_activity(alice, action)
    env.commit()
    new = pin(bob, board, 10)
    prefix = model.options()['redis_prefix']
    gone = (member_of(older[2].id),)
    for chunk in (
        FanoutChunk(('x1', 'x2', 'x3'), ('normal',), add=(entry_of(new),)),
        FanoutChunk(('x1', manager.user_id(alice)), ('normal', '@user'), remove=gone),
    ):
        payload = json.loads(json.dumps(chunk.to_payload()))
        assert FanoutChunk.from_payload(payload) == chunk
        manager.run_chunk(FanoutChunk.from_payload(payload))
        once = snapshot(redis, prefix)
        manager.run_chunk(FanoutChunk.from_payload(payload))
        assert snapshot(redis, prefix) == once
    assert ids(PinFeed('x1')[:25]) == [new.id]
    alice_feed = PinFeed(manager.user_id(alice))  # get_feeds would rebuild it: never built
    assert ids(alice_feed[:25]) == [older[n].id for n in (5, 4, 3, 1)]  # trimmed to 5, less one
    for bad, message in (
        ([], 'must be a dict'),
        ({'user_ids': [], 'add': []}, "needs 'feeds'"),
        (dict(chunk.to_payload(), feeds='normal'), 'feeds must be a list'),
        (dict(chunk.to_payload(), priority='urgent'), 'urgent'),
        (dict(chunk.to_payload(), add=[[1]]), 'add must be'),
        (dict(chunk.to_payload(), user_ids=[None]), 'user_ids'),
        (dict(chunk.to_payload(), user_ids='abc'), 'user_ids must be a list'),
        (dict(chunk.to_payload(), user_ids=['a b']), 'user_ids'),
    ):
        with pytest.raises(ValueError, match=message):
            FanoutChunk.from_payload(bad)
    with pytest.raises(ValueError, match='feed_classes'):
        manager.run_chunk(FanoutChunk(('1',), ('nope',), add=(Entry(1, 'x'),)))


def test_removing_an_activity_takes_it_out_of_every_feed(env):
    alice, bob = env.user('alice'), env.user('bob')
    subscriptions.subscribe(bob, alice)
    board = env.document('Board')
    manager = PinManager()
    first, second = pin(alice, board, 1), pin(alice, board, 2)
    manager.add_user_activity(alice, first)
    manager.add_user_activity(alice, second)
    env.commit()
    delete_actions(env, [first.id])
    manager.remove_user_activity(alice, first)
    manager.remove_user_activity(alice, str(second.id))
    env.commit()
    for feed in (PinFeed(manager.user_id(bob)), UserPinFeed(manager.user_id(alice))):
        assert feed.count() == 0
    # the database is the truth: a rebuild shows again what is still there
    assert ids(manager.get_feeds(bob)['normal'][:25]) == [second.id]
    with pytest.raises(ValueError, match='action'):
        manager.remove_user_activity(alice, 'no id')


def test_follow_copies_recent_activities_trimmed_and_unfollow_takes_them_out(env):
    alice, bob = env.user('alice'), env.user('bob')
    board = env.document('Board')
    manager = PinManager()
    hers = [pin(alice, board, n) for n in range(0, 16, 2)]  # 8, older and newer than bob's
    his = [pin(bob, board, n) for n in (5, 9, 13)]
    for action in hers:
        manager.add_user_activity(alice, action)
    for action in his:
        manager.add_user_activity(bob, action)
    env.commit()
    manager.follow_user(bob, alice)
    manager.follow_user(bob, alice)  # a replay: the same feed
    env.commit()
    both = sorted(hers + his, key=lambda a: a.timestamp, reverse=True)
    feed = manager.get_feeds(bob)['normal']
    assert feed.count() == 5  # max_length, exactly
    assert ids(feed[:25]) == ids(both[:5])
    manager.unfollow_user(bob, alice)
    env.commit()
    assert ids(feed[:25]) == [his[2].id, his[1].id]  # his older one was trimmed by the follow


def test_users_are_ids_entities_or_refs_and_bad_arguments_say_which(env):
    alice, bob = env.user('alice'), env.user('bob')
    manager = PinManager()
    user_id = manager.user_id(alice)
    feeds = manager.get_feeds(user_id)
    assert list(feeds) == ['normal'] and isinstance(feeds['normal'], PinFeed)
    assert feeds['normal'].key == PinFeed(user_id).key == manager.get_feeds(alice)['normal'].key
    assert manager.user_ref(alice) == manager.user_ref(user_id)
    assert manager.user_id(manager.user_ref(alice)) == user_id
    with pytest.raises(ValueError, match='user_id is a Team'):
        manager.get_feeds(env.team('core'))
    with pytest.raises(ValueError, match='user_id is required'):
        manager.get_feeds(None)
    board = env.document('Board')
    with pytest.raises(TypeError, match='action must be an Action'):
        manager.add_user_activity(alice, 'pin')
    with pytest.raises(ValueError, match='not public'):
        manager.add_user_activity(alice, pin(alice, board, public=False))
    with pytest.raises(ValueError, match='not done by user'):
        manager.add_user_activity(bob, pin(alice, board))
    with pytest.raises(ValueError, match='target_user_id'):
        manager.follow_user(alice, 'a b')
    Unknown().add_user_activity(alice, pin(alice, board))  # followers are read by the job
    env.commit()
    [job] = model.storage().jobs(None, None)  # given back to be tried again
    assert job.kind == 'fanout' and 'unknown priority' in job.error and 'urgent' in job.error

    class Local(PinManager):
        pass

    with pytest.raises(TypeError, match='Local must be defined at module level'):
        Local().add_user_activity(alice, pin(alice, board))


class Unknown(PinManager):
    def get_user_follower_ids(self, user_id):
        return {'urgent': [1]}
