"""RedisFeed on a real Redis: keys, exact order and trimming, batched hydration, cursors."""

import datetime as dt

import pytest

from activitystream import am, model
from activitystream.feeds import RedisFeed
from activitystream.feeds.entries import Entry, entry_of, member_of, score_of

from . import feeds_support
from .feeds_support import delete_actions, round_trips

env, redis = feeds_support.env, feeds_support.redis  # the shared fixtures

T0 = dt.datetime(2024, 5, 1, 12, 0, 0)


class PinFeed(RedisFeed):
    key_format = 'feed:normal:%(user_id)s'


class ShortFeed(RedisFeed):
    key_format = 'feed:short:%(user_id)s'
    max_length = 5


class LongFeed(RedisFeed):
    key_format = 'feed:long:%(user_id)s'
    max_length = 10_000


def actions(env, count, actor=None, at=T0, step=dt.timedelta(seconds=1)):
    """``count`` public actions of ``actor``, oldest first, ``step`` apart."""
    actor = actor or env.user('alice', 'Alice')
    doc = env.document('Board')
    items = [
        dict(actor=actor, verb='pinned', target=doc, timestamp=at + n * step) for n in range(count)
    ]
    return am.create_many(items)


def ids(found):
    return [a.id for a in found]


def test_keys_have_the_site_prefix_and_one_hash_tag_per_feed(env):
    prefix = model.options()['redis_prefix']
    assert PinFeed(13).key == f'{prefix}:{{feed:normal:13}}'
    assert PinFeed('13').key == PinFeed(13).key
    assert ShortFeed(13).key == f'{prefix}:{{feed:short:13}}'
    for bad in (None, True, 1.5, [13]):
        with pytest.raises(TypeError, match='user_id'):
            PinFeed(bad)
    for bad in ('', 'a b', 'x{y}', 'a' * 256):
        with pytest.raises(ValueError, match='user_id'):
            PinFeed(bad)
    with pytest.raises(TypeError, match='key_format'):
        type('NoUser', (RedisFeed,), {'key_format': 'feed:all'})
    with pytest.raises(ValueError, match='braces'):
        type('Tagged', (RedisFeed,), {'key_format': 'feed:{%(user_id)s}'})
    for bad in (0, -1, 2.5, True):
        with pytest.raises(TypeError, match='max_length'):
            type('Bad', (RedisFeed,), {'max_length': bad})


def test_entries_are_exact_millisecond_scores_and_fixed_width_members():
    assert member_of(42) == '0000000000000000042'
    assert member_of(2**63 - 1) == '9223372036854775807'
    assert sorted(member_of(n) for n in (10, 9, 100)) == [member_of(n) for n in (9, 10, 100)]
    assert score_of(dt.datetime(1970, 1, 1, 0, 0, 1, 1000)) == 1001
    assert score_of(dt.datetime(9999, 12, 31, 23, 59, 59, 999000)) == 253402300799999
    assert score_of(dt.datetime(1, 1, 1)) == -62135596800000
    assert float(score_of(dt.datetime(9999, 12, 31, 23, 59, 59, 999000))) == 253402300799999
    with pytest.raises(TypeError, match='action'):
        entry_of(object())
    for bad in (True, -1):
        with pytest.raises((TypeError, ValueError)):
            member_of(bad)


def test_a_feed_reads_back_actions_newest_first(env, redis):
    made = actions(env, 6)
    feed = PinFeed(13)
    assert feed.count() == 0 and feed[:25] == []
    for action in made:
        feed.add(action)
    newest_first = made[::-1]
    assert feed.count() == 6
    assert ids(feed[:25]) == ids(newest_first)
    assert ids(feed[1:3]) == ids(newest_first[1:3])
    assert feed[0].id == made[-1].id
    assert ids(feed.query().limit(2).offset(4).all()) == ids(newest_first[4:])
    assert ids(feed) == ids(newest_first)
    assert feed[:1][0].actor == 'Alice' and feed[:1][0].verb == 'pinned'
    stored = dict(redis.zrange(feed.key, 0, -1, withscores=True))
    assert stored == {member_of(a.id).encode(): score_of(a.timestamp) for a in made}
    with pytest.raises(IndexError):
        feed[6]


def test_add_many_is_one_round_trip_trimmed_exactly(env, redis):
    made = actions(env, 8)
    feed = ShortFeed('alice')
    with round_trips(feed.redis) as sent:
        feed.add_many(made)
    assert len(sent) == 1
    assert feed.count() == 5
    assert ids(feed[:25]) == ids(made[::-1][:5])
    with round_trips(feed.redis) as sent:
        feed.add(made[0])  # older than all five: in and out in the same round trip
    assert len(sent) == 1 and feed.count() == 5
    assert ids(feed[:25]) == ids(made[::-1][:5])
    feed.add_many([])
    with pytest.raises(TypeError, match=r'actions\[1\]'):
        feed.add_many([made[0], 'nope'])
    with pytest.raises(TypeError, match='actions must be a list'):
        feed.add_many('abc')


def test_remove_takes_an_action_or_its_id(env):
    made = actions(env, 3)
    feed = PinFeed(7)
    feed.add_many(made)
    feed.remove(made[1])
    assert ids(feed[:25]) == [made[2].id, made[0].id]
    feed.remove(str(made[2].id))
    assert ids(feed[:25]) == [made[0].id]
    feed.remove(made[2])  # already gone: nothing happens
    with pytest.raises(ValueError, match='action'):
        feed.remove('not an id')


def test_a_page_is_one_query_for_the_actions_and_one_for_their_entities(env, redis):
    alice, bob = env.user('alice', 'Alice'), env.user('bob', 'Bob')
    doc, team = env.document('Plan'), env.team('core')
    items = [
        dict(actor=(alice, bob)[n % 2], verb='edited', target=(doc, team)[n % 2],
             timestamp=T0 + dt.timedelta(minutes=n))
        for n in range(30)
    ]  # fmt: skip
    made = am.create_many(items)
    feed = PinFeed(1)
    feed.add_many(made)
    env.commit()
    env.clear_session()
    with env.count_queries() as queries, round_trips(feed.redis) as sent:
        page = feed[:25]
        shown = [(a.actor, a.target) for a in page]
    assert len(sent) == 1
    # the actions, then their users, documents and teams: one query (on Ming one per class)
    assert len(queries) == (2 if env.sql else 4)
    assert shown[0] == ('Bob', 'team core') and shown[1] == ('Alice', 'Plan')
    assert ids(page) == ids(made[::-1][:25])


def test_deleted_actions_are_skipped_and_pages_from_a_cursor_stay_full(env):
    made = actions(env, 10)
    feed = PinFeed(3)
    feed.add_many(made)
    newest_first = made[::-1]
    gone = [newest_first[1].id, newest_first[2].id, newest_first[6].id]
    delete_actions(env, gone)
    alive = [a.id for a in newest_first if a.id not in gone]
    assert ids(feed[:3]) == alive[:3]
    assert ids(feed.before(newest_first[0])[:4]) == alive[1:5]
    assert ids(feed[1:4]) == [newest_first[3].id]  # what the entries at 1, 2 and 3 still show
    assert ids(feed[:25]) == alive
    assert feed.count() == 10  # entries stay until removed: the database is the truth


def test_before_pages_by_cursor_string_or_action(env):
    made = actions(env, 5)
    feed = PinFeed(4)
    feed.add_many(made)
    first = feed[:2]
    assert ids(feed.before(first[-1].cursor)[:2]) == [made[2].id, made[1].id]
    assert ids(feed.before(first[-1])[:25]) == [made[2].id, made[1].id, made[0].id]
    assert ids(feed.before(made[0])[:25]) == []
    with pytest.raises(ValueError, match='before is not a cursor'):
        feed.before('garbage')
    with pytest.raises(TypeError, match='before must be'):
        feed.before(5)
    with pytest.raises(ValueError, match='count'):
        feed.before(made[3]).count()


def test_ten_thousand_actions_of_one_millisecond_page_without_skips_or_repeats(env, redis):
    made = actions(env, 10_000, step=dt.timedelta(0))
    feed = LongFeed(9)
    with round_trips(feed.redis) as sent:
        feed.add_many(made)
    assert len(sent) == 1
    assert {score for _, score in redis.zrange(feed.key, 0, -1, withscores=True)} == {score_of(T0)}
    expected = [member_of(a.id) for a in am.get_actions(actor=made[0].actor_entity).all()]
    assert len(set(expected)) == 10_000
    # Redis pages: cursor after cursor, and offset windows
    seen, page = [], feed.entries(0, 1000)
    while page:
        seen += [entry.member for entry in page]
        page = feed.entries(0, 1000, page[-1])
    assert seen == expected
    windows = [feed.entries(n, 2500) for n in range(0, 10_000, 2500)]
    assert [entry.member for window in windows for entry in window] == expected
    # the Actions read through those cursors (hydration: a few pages, mim scans for each)
    by_member = {member_of(a.id): a for a in made}
    for position in (0, 4321, 9990):
        after = by_member[expected[position]]
        want = expected[position + 1 : position + 26]
        assert [member_of(a.id) for a in feed.before(after.cursor)[:25]] == want
    # a cursor whose entry is gone still knows where it was
    cursor = by_member[expected[5000]]
    feed.remove(cursor)
    assert [member_of(a.id) for a in feed.before(cursor)[:30]] == expected[5001:5031]
    offset = feed.before(cursor).offset(10).limit(5).all()
    assert [member_of(a.id) for a in offset] == expected[5011:5016]


def test_a_cursor_page_is_one_round_trip(env, redis):
    made = actions(env, 40)
    feed = PinFeed(5)
    feed.add_many(made)
    feed.before(made[-1])[:1]  # the script is loaded once per server
    with round_trips(feed.redis) as sent:
        page = feed.before(made[30])[:25]
    assert len(sent) == 1
    assert ids(page) == ids(made[:30][::-1][:25])
    assert Entry(score_of(made[0].timestamp), member_of(made[0].id)) == entry_of(made[0])
