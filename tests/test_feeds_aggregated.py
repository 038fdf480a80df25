"""AggregatedRedisFeed on a real Redis: groups found anywhere, exact actors, trims, replays."""

import datetime as dt

import pytest

from activitystream import am, model, subscriptions
from activitystream.feeds import AggregatedRedisFeed, FanoutChunk, FeedManager, RedisFeed
from activitystream.feeds.entries import Entry, entry_of, member_of
from activitystream.feeds.rebuild import newest_entries
from activitystream.feeds.scripts import execute

from . import feeds_support
from . import subscription_support as support
from .feeds_support import delete_actions, round_trips, snapshot

env, redis = feeds_support.env, feeds_support.redis  # the shared fixtures

T0 = dt.datetime(2024, 5, 1, 12, 0, 0)
MINUTE = dt.timedelta(minutes=1)


class Activity(AggregatedRedisFeed):
    key_format = 'feed:aggregated:%(user_id)s'


class Short(AggregatedRedisFeed):
    key_format = 'feed:short:%(user_id)s'
    max_length = 5


class Capped(AggregatedRedisFeed):
    key_format = 'feed:capped:%(user_id)s'
    max_group_activities = 3


class Manager(FeedManager):
    feed_classes = dict(activity=Activity, short=Short)


def make(items):
    """Actions of (actor, verb, target, minutes after T0) tuples, in that order."""
    return am.create_many(
        [
            dict(actor=actor, verb=verb, target=target, timestamp=T0 + minutes * MINUTE)
            for actor, verb, target, minutes in items
        ]
    )


def users(env, *names):
    return [env.user(name, name.title()) for name in names]


def write(feed, actions, **options):
    """Write through a pipeline, as FeedManager.run_chunk does."""
    queue(feed, lambda pipe: feed.queue_add(pipe, [entry_of(a) for a in actions], **options))


def queue(feed, build):
    """Run what ``build(pipe)`` queues on one pipeline (loading the scripts if Redis lacks them)."""
    execute(feed.redis, build, feed.scripts)


def ids(found):
    return [a.id for a in found]


def prefix():
    return model.options()['redis_prefix']


def test_groups_are_verb_target_and_day_newest_first(env):
    alice, bob, carol = users(env, 'alice', 'bob', 'carol')
    plan, memo = env.document('Plan'), env.document('Memo')
    day = 24 * 60
    made = make(
        [
            (alice, 'commented', plan, 0),
            (bob, 'commented', plan, 1),
            (carol, 'commented', memo, 2),
            (alice, 'liked', plan, 3),
            (carol, 'commented', plan, day),  # the next day: a group of its own
            (bob, 'commented', plan, 4),
        ]
    )
    feed = Activity(1)
    write(feed, made)
    assert feed.count() == 4
    groups = feed[:25]
    assert [(g.verb, g.target, g.updated) for g in groups] == [
        ('commented', 'Plan', T0 + day * MINUTE),
        ('commented', 'Plan', T0 + 4 * MINUTE),
        ('liked', 'Plan', T0 + 3 * MINUTE),
        ('commented', 'Memo', T0 + 2 * MINUTE),
    ]
    plan_today = groups[1]
    assert ids(plan_today.actions) == [made[5].id, made[1].id, made[0].id]
    assert plan_today.activity_count == 3 and plan_today.actor_count == 2
    assert plan_today.latest_actors == ['Bob', 'Alice'] and plan_today.others == 0
    target_id = plan_today.target_ref.id
    assert plan_today.key == f'["commented","Document:{target_id}","2024-05-01"]'
    assert [g.seen for g in groups] == [None] * 4
    assert feed[1].key == plan_today.key
    assert [g.key for g in feed[1:3]] == [g.key for g in groups[1:3]]


def test_a_group_is_found_wherever_it_is_in_the_feed(env):
    alice, bob = users(env, 'alice', 'bob')
    docs = [env.document(f'doc {n}') for n in range(50)]
    feed = Activity(2)
    write(feed, make([(alice, 'edited', doc, n) for n, doc in enumerate(docs)]))
    assert feed.count() == 50
    assert feed[49].target == 'doc 0'
    late = make([(bob, 'edited', docs[0], 60)])  # the oldest group, 49 groups down
    write(feed, late)
    assert feed.count() == 50
    top = feed[0]
    assert top.target == 'doc 0' and top.activity_count == 2 and top.actor_count == 2
    assert ids(top.actions) == [late[0].id, ids(feed[0].actions)[1]]
    assert top.latest_actors == ['Bob', 'Alice']
    assert feed[49].target == 'doc 1'


def test_actor_counts_are_exact_and_the_latest_actors_are_the_newest(env):
    people = users(env, 'ann', 'ben', 'cat', 'dan', 'eve', 'fay', 'gus')
    plan = env.document('Plan')
    order = [0, 1, 2, 0, 0, 3, 4, 5, 6, 1, 2, 2, 5]  # 13 comments by 7 people
    made = make([(people[p], 'commented', plan, n) for n, p in enumerate(order)])
    feed = Activity(3)
    for action in made:  # one write each, as fan-out brings them
        write(feed, [action])
    (group,) = feed[:25]
    assert group.activity_count == 13 and group.actor_count == 7
    assert group.latest_actors == ['Fay', 'Cat', 'Ben'] and group.others == 4
    # an older comment of a new actor arrives late: counted, not among the latest
    late = make([(env.user('hal', 'Hal'), 'commented', plan, -5)])
    write(feed, late)
    (group,) = feed[:25]
    assert group.actor_count == 8 and group.activity_count == 14
    assert group.latest_actors == ['Fay', 'Cat', 'Ben'] and group.others == 5
    assert group.updated == T0 + 12 * MINUTE


def test_a_group_keeps_its_newest_activities_and_counts_them_all(env):
    alice, bob = users(env, 'alice', 'bob')
    plan = env.document('Plan')
    made = make([((alice, bob)[n % 2], 'commented', plan, n) for n in range(10)])
    feed = Capped(4)
    write(feed, made[::-1])  # any order: a write merges oldest first
    (group,) = feed[:25]
    assert group.activity_count == 10 and group.actor_count == 2
    assert ids(group.actions) == ids(made[::-1][:3])
    before = snapshot(feed.redis, feed.key)
    write(feed, made[:2])  # a replay of activities it let go changes nothing
    assert snapshot(feed.redis, feed.key) == before
    assert feed.redis.hlen(f'{feed.key}:acts') == 3


def test_every_write_trims_to_max_length_exactly(env, redis):
    alice = users(env, 'alice')[0]
    docs = [env.document(f'doc {n}') for n in range(8)]
    feed = Short(5)
    made = make([(alice, 'edited', doc, n) for n, doc in enumerate(docs)])
    for n, action in enumerate(made):
        write(feed, [action])
        assert feed.count() == min(n + 1, 5)
    assert [g.target for g in feed[:25]] == [f'doc {n}' for n in range(7, 2, -1)]
    # what the dropped groups kept went with them
    kept = {member_of(a.id).encode() for a in made[3:]}
    assert set(redis.hkeys(f'{feed.key}:acts')) == kept
    assert redis.zcard(f'{feed.key}:actors') == redis.hlen(f'{feed.key}:actn') == 5
    assert redis.hlen(f'{feed.key}:groups') == 5
    write(feed, made[:3])  # older than every group kept: in and out in the same call
    assert feed.count() == 5 and set(redis.hkeys(f'{feed.key}:acts')) == kept


def test_every_write_run_twice_leaves_the_same_state(env, redis):
    alice, bob, carol = users(env, 'alice', 'bob', 'carol')
    plan, memo = env.document('Plan'), env.document('Memo')
    made = make(
        [
            (alice, 'commented', plan, 0),
            (bob, 'commented', plan, 1),
            (carol, 'liked', memo, 2),
            (bob, 'commented', plan, 3),
        ]
    )

    manager = Manager()
    entries = tuple(entry_of(a) for a in made)
    payload = FanoutChunk(('u1', 'u2'), ('activity', 'short'), entries).to_payload()
    chunk = FanoutChunk.from_payload(payload)
    assert [(e.verb, e.actor, e.target) for e in chunk.add] == [
        (e.verb, e.actor, e.target) for e in entries
    ]
    feed = Activity('u1')
    removal = FanoutChunk(('u1',), ('activity',), remove=(entries[2].member,))
    both = FanoutChunk(('u2',), ('short',), entries[:2], (entries[3].member,))
    writes = [
        lambda: manager.run_chunk(chunk),
        lambda: feed.add(made[0]),
        lambda: feed.add_many(made),
        lambda: feed.remove(made[1]),
        lambda: manager.run_chunk(removal),
        lambda: manager.run_chunk(both),
    ]
    for run in writes:
        run()
        once = snapshot(redis, prefix())
        run()
        assert snapshot(redis, prefix()) == once
    assert [g.activity_count for g in Activity('u2')[:25]] == [3, 1]
    assert [g.activity_count for g in Short('u2')[:25]] == [1, 2]  # plan's newest went
    assert [g.activity_count for g in feed[:25]] == [2]


def test_removing_activities_keeps_counts_exact(env):
    alice, bob, carol = users(env, 'alice', 'bob', 'carol')
    plan = env.document('Plan')
    made = make(
        [
            (alice, 'commented', plan, 0),
            (bob, 'commented', plan, 1),
            (alice, 'commented', plan, 2),
            (carol, 'commented', plan, 3),
        ]
    )
    feed = Activity(5)
    feed.add_many(made)
    feed.remove(made[3])  # carol's only one
    (group,) = feed[:25]
    assert (group.activity_count, group.actor_count) == (3, 2)
    assert group.latest_actors == ['Alice', 'Bob'] and group.updated == T0 + 2 * MINUTE
    feed.remove(made[2])  # alice has another one
    (group,) = feed[:25]
    assert (group.activity_count, group.actor_count, group.latest_actors) == (
        2,
        2,
        ['Bob', 'Alice'],
    )
    feed.remove(made[0].id)
    feed.remove(made[1])
    assert feed.count() == 0 and feed[:25] == []
    with pytest.raises(ValueError, match='action'):
        feed.remove('not an id')


def test_a_page_is_one_query_for_all_actions_and_one_for_their_entities(env, redis):
    alice, bob = users(env, 'alice', 'bob')
    docs, team = [env.document(f'doc {n}') for n in range(5)], env.team('core')
    items = [((alice, bob)[n % 2], 'edited', docs[n % 5], n) for n in range(30)]
    items += [(alice, 'joined', team, 40)]
    made = make(items)
    feed = Activity(6)
    feed.add_many(made)
    env.commit()
    env.clear_session()
    with env.count_queries() as queries, round_trips(feed.redis) as sent:
        page = feed[:25]
        shown = [(g.target, g.latest_actors, [a.actor for a in g.actions]) for g in page]
    assert len(sent) == 2  # the groups, then what they hold
    # the actions, then their users, documents and teams: one query (on Ming one per class)
    assert len(queries) == (2 if env.sql else 4)
    assert shown[0] == ('team core', ['Alice'], ['Alice'])
    assert shown[1][1] == ['Bob', 'Alice'] and len(shown[1][2]) == 6
    assert len(page) == 6 and sum(g.activity_count for g in page) == 31


def test_cursor_pages_never_skip_or_repeat_a_group(env):
    alice = users(env, 'alice')[0]
    docs = [env.document(f'doc {n}') for n in range(30)]
    # three groups per minute: equal scores, ordered by group key
    made = make([(alice, 'edited', doc, n // 3) for n, doc in enumerate(docs)])
    feed = Activity(7)
    feed.add_many(made)
    everything = [g.key for g in feed[:100]]
    assert len(set(everything)) == 30
    seen, page = [], feed[:7]
    while page:
        seen += [g.key for g in page]
        page = feed.before(page[-1].cursor)[:7]
    assert seen == everything
    assert [g.key for g in feed.before(feed[3])[:2]] == everything[4:6]
    with pytest.raises(ValueError, match='before is not a cursor'):
        feed.before('garbage')
    with pytest.raises(TypeError, match='before must be'):
        feed.before(5)
    with pytest.raises(ValueError, match='count'):
        feed.before(feed[3]).count()
    assert feed.query().count() == 30


def test_groups_whose_actions_are_gone_are_skipped(env):
    alice = users(env, 'alice')[0]
    docs = [env.document(f'doc {n}') for n in range(6)]
    made = make([(alice, 'edited', doc, n) for n, doc in enumerate(docs)])
    feed = Activity(8)
    feed.add_many(made)
    delete_actions(env, [made[5].id, made[4].id])
    assert [g.target for g in feed[:3]] == ['doc 3', 'doc 2', 'doc 1']


def test_if_built_writes_only_a_built_feed(env, redis):
    alice = users(env, 'alice')[0]
    made = make([(alice, 'edited', env.document('Plan'), 0)])
    feed = Activity(9)
    write(feed, made, if_built=True)
    assert feed.count() == 0
    redis.set(feed.built_key, 1)
    write(feed, made, if_built=True)
    assert feed.count() == 1


def test_entries_without_grouping_fields_are_read_from_the_database(env):
    alice, bob = users(env, 'alice', 'bob')
    plan = env.document('Plan')
    made = make([(alice, 'liked', plan, 0), (bob, 'liked', plan, 1)])
    bare = [Entry(e.score, e.member) for e in map(entry_of, made)]
    old_payload = FanoutChunk(('10',), ('activity',), tuple(bare)).to_payload()
    assert old_payload['add'] == [[e.score, e.member] for e in bare]
    chunk = FanoutChunk.from_payload(old_payload)
    feed = Activity(10)
    with env.count_queries() as queries:
        queue(feed, lambda pipe: feed.queue_add(pipe, [*chunk.add, Entry(1, member_of(10**12))]))
    assert len(queries) == 1
    (group,) = feed[:25]
    assert group.verb == 'liked' and group.actor_count == 2


def test_a_rebuilt_feed_groups_records_from_the_database(env):
    alice = users(env, 'alice')[0]
    plan = env.document('Plan')
    made = make([(alice, 'edited', plan, n) for n in range(4)])
    actor = made[0].actor_ref
    entries = newest_entries(model.storage(), [actor], 10)
    assert [(e.verb, e.actor, e.target) for e in entries] == [
        ('edited', f'{actor.type}:{actor.id}', f'Document:{made[0].target_ref.id}')
    ] * 4
    feed = Capped(11)
    write(feed, [])
    queue(feed, lambda pipe: feed.queue_add(pipe, entries))  # newest first, as a rebuild gives
    (group,) = feed[:25]
    assert group.activity_count == 4 and ids(group.actions) == ids(made[::-1][:3])


def test_bad_input_names_the_argument(env):
    feed = Activity(12)
    pipe = feed.redis.pipeline(transaction=False)
    with pytest.raises(TypeError, match=r'entries\[0\]'):
        feed.queue_add(pipe, [(1, '2')])
    with pytest.raises(TypeError, match='if_built'):
        feed.queue_add(pipe, [], if_built='yes')
    with pytest.raises(TypeError, match='members'):
        feed.queue_remove(pipe, [5])
    with pytest.raises(TypeError, match=r'actions\[0\]'):
        feed.add_many(['nope'])
    for name in ('max_group_activities', 'max_latest_actors'):
        for bad in (0, 1.5, True):
            with pytest.raises(TypeError, match=name):
                type('Bad', (AggregatedRedisFeed,), {name: bad})

    class Ungrouped(AggregatedRedisFeed):
        key_format = 'feed:bad:%(user_id)s'

        def group_key(self, entry):
            return self.answer

    alice = users(env, 'alice')[0]
    made = make([(alice, 'edited', env.document('Plan'), 0)])
    bad_feed = Ungrouped(12)
    for answer, error in ((None, TypeError), ('', ValueError), ('a\0b', ValueError)):
        bad_feed.answer = answer
        with pytest.raises(error, match='group_key'):
            bad_feed.add(made[0])
    assert bad_feed.count() == 0
    assert isinstance(feed, RedisFeed)  # the manager fans out to it like any feed


def test_grouping_fields_take_no_part_in_order_or_equality():
    assert Entry(1, 'a', 'liked', 'User:1', 'Doc:2') == Entry(1, 'a')
    assert hash(Entry(1, 'a', 'liked')) == hash(Entry(1, 'a'))
    assert sorted([Entry(2, 'a', 'z'), Entry(1, 'b', 'y')]) == [Entry(1, 'b'), Entry(2, 'a')]
    good = {'user_ids': ['1'], 'feeds': ['n'], 'remove': [], 'priority': 'high'}
    chunk = FanoutChunk.from_payload({**good, 'add': [[1, 'a', 'liked', None, 'Doc:2']]})
    assert (chunk.add[0].verb, chunk.add[0].actor, chunk.add[0].target) == ('liked', None, 'Doc:2')
    for bad in ([[1, 'a', 'liked']], [[1, 'a', 5, None, None]], [[1, 'a', 'v', 'x', 'y', 'z']]):
        with pytest.raises(ValueError, match='add must be'):
            FanoutChunk.from_payload({**good, 'add': bad})


def test_the_feed_manager_fans_out_to_it_and_rebuilds_it(env, redis):
    alice, bob = users(env, 'alice', 'bob')
    plan = env.document('Plan')
    subscriptions.subscribe(bob, alice)
    manager = Manager()
    for minutes in (0, 1):
        action = am.create(alice, 'edited', target=plan, timestamp=T0 + minutes * MINUTE)
        manager.add_user_activity(alice, action)
    env.commit()
    (group,) = manager.get_feeds(bob)['activity'][:25]
    assert (group.target, group.activity_count, group.latest_actors) == ('Plan', 2, ['Alice'])
    key = Activity(manager.user_id(bob)).key
    before = snapshot(redis, key)
    support.drop_redis_keys(redis, prefix())  # Redis lost it: written again from the database
    (group,) = manager.get_feeds(bob)['activity'][:25]
    assert (group.target, group.activity_count, group.latest_actors) == ('Plan', 2, ['Alice'])
    assert snapshot(redis, key) == before
    feed = Activity(manager.user_id(bob))
    feed.pulled = (manager.get_user_feed(alice),)  # a big actor's feed, merged into plain feeds
    assert feed.count() == 1 and [g.activity_count for g in feed[:25]] == [2]
