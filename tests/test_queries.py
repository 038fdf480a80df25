"""get_by_recipient and get_actions: order, broadcasts, and the query interface."""

import datetime as dt

import pytest

from activitystream import am
from tests.clock import recent

T0 = recent()


def at(minutes):
    return T0 + dt.timedelta(minutes=minutes)


@pytest.fixture
def inbox(env):
    """bob gets 5 direct actions and 2 broadcasts, interleaved in time."""
    alice, bob, carol = env.user('alice'), env.user('bob'), env.user('carol')
    items = [
        dict(actor=alice, verb=f'direct {i}', recipients=[bob], timestamp=at(i * 10))
        for i in range(5)
    ]
    items += [dict(actor=carol, verb=f'broadcast {i}', timestamp=at(i * 10 + 5)) for i in range(2)]
    items.append(dict(actor=alice, verb='for carol', recipients=[carol], timestamp=at(100)))
    am.create_many(items)
    return env, bob


def verbs(actions):
    return [a.verb for a in actions]


NEWEST_FIRST = [
    'direct 4',
    'direct 3',
    'direct 2',
    'broadcast 1',
    'direct 1',
    'broadcast 0',
    'direct 0',
]


def test_newest_first_with_broadcasts(inbox):
    env, bob = inbox
    assert verbs(am.get_by_recipient(bob).all()) == NEWEST_FIRST
    assert verbs(am.get_by_recipient(bob)) == NEWEST_FIRST  # iteration
    assert am.get_by_recipient(bob).count() == 7


def test_the_seed_readme_call(inbox):
    env, bob = inbox
    assert verbs(am.get_by_recipient(bob).limit(10).all()) == NEWEST_FIRST
    assert verbs(am.get_by_recipient(bob).limit(3).all()) == NEWEST_FIRST[:3]


def test_limit_offset_first_count(inbox):
    env, bob = inbox
    q = am.get_by_recipient(bob)
    assert verbs(q.offset(2).limit(3).all()) == NEWEST_FIRST[2:5]
    assert verbs(q.limit(3).offset(5).all()) == NEWEST_FIRST[5:7]
    assert q.first().verb == 'direct 4'
    assert q.offset(7).first() is None
    assert q.limit(3).count() == 3
    assert q.offset(5).count() == 2
    assert q.offset(9).count() == 0
    assert q.limit(0).all() == []
    assert verbs(q.limit(None).all()) == NEWEST_FIRST


def test_slicing_and_indexing(inbox):
    env, bob = inbox
    q = am.get_by_recipient(bob)
    assert verbs(q[1:4]) == NEWEST_FIRST[1:4]
    assert verbs(q[5:]) == NEWEST_FIRST[5:]
    assert verbs(q[:2]) == NEWEST_FIRST[:2]
    assert verbs(q.offset(1)[1:3]) == NEWEST_FIRST[2:4]
    assert verbs(q.limit(3)[1:10]) == NEWEST_FIRST[1:3]
    assert q[0].verb == 'direct 4'
    assert q[6].verb == 'direct 0'
    with pytest.raises(IndexError):
        q[7]
    with pytest.raises(IndexError):
        q.limit(2)[2]


@pytest.mark.parametrize(
    'call, error',
    [
        (lambda q: q.limit(-1), ValueError),
        (lambda q: q.limit('10'), TypeError),
        (lambda q: q.offset(-3), ValueError),
        (lambda q: q.offset(1.5), TypeError),
        (lambda q: q[::2], ValueError),
        (lambda q: q[-1], ValueError),
    ],
)
def test_bad_query_arguments(inbox, call, error):
    env, bob = inbox
    with pytest.raises(error):
        call(am.get_by_recipient(bob))


def test_recipients_are_matched_on_type_and_id(env):
    """A Team whose key is '1' and the User whose key is 1 are different recipients."""
    alice, bob = env.user('alice'), env.user('bob')
    user_key = alice.user_id if hasattr(alice, 'user_id') else alice._id
    team = env.team(str(user_key))
    am.create(bob, 'to the team', recipients=[team])
    am.create(bob, 'to alice', recipients=[alice])
    assert verbs(am.get_by_recipient(team)) == ['to the team']
    assert verbs(am.get_by_recipient(alice)) == ['to alice']


def test_equal_timestamps_have_a_stable_order(env):
    alice, bob = env.user('alice'), env.user('bob')
    created = am.create_many(
        [dict(actor=alice, verb=f'v{i}', recipients=[bob], timestamp=T0) for i in range(4)]
    )
    created.append(am.create(alice, 'b', timestamp=T0))
    first = [a.id for a in am.get_by_recipient(bob)]
    assert sorted(first, reverse=True) == first
    assert [a.id for a in am.get_by_recipient(bob).limit(2)] + [
        a.id for a in am.get_by_recipient(bob).offset(2)
    ] == first


def test_nothing_for_a_new_recipient(env):
    nobody = env.user('nobody')
    assert am.get_by_recipient(nobody).all() == []
    assert am.get_by_recipient(nobody).first() is None
    assert am.get_by_recipient(nobody).count() == 0


def test_get_by_recipient_refuses_a_non_entity(env):
    with pytest.raises(TypeError, match='recipient must be a mapped entity'):
        am.get_by_recipient('bob')
    with pytest.raises(ValueError, match='recipient is required'):
        am.get_by_recipient(None)


def test_streams_of_actor_target_object_and_verb(env):
    alice, bob = env.user('alice'), env.user('bob')
    doc, team = env.document('Doc'), env.team('core')
    am.create_many(
        [
            dict(actor=alice, verb='edited', target=doc, timestamp=at(1)),
            dict(actor=bob, verb='edited', target=doc, action_obj=team, timestamp=at(2)),
            dict(actor=alice, verb='joined', target=team, recipients=[bob], timestamp=at(3)),
            dict(actor=bob, verb='joined', action_obj=doc, timestamp=at(4)),
        ]
    )
    # alice's 'joined' went to bob alone: private, so public streams leave it out
    assert verbs(am.get_actions(actor=alice)) == ['edited']
    assert verbs(am.get_actions(actor=alice, viewer=bob)) == ['joined', 'edited']
    assert verbs(am.get_actions(actor=alice, everything=True)) == ['joined', 'edited']
    assert [a.actor for a in am.get_actions(target=doc)] == ['bob', 'alice']
    assert verbs(am.get_actions(action_obj=team)) == ['edited']
    assert [a.actor for a in am.get_actions(verb='joined')] == ['bob']
    assert [a.actor for a in am.get_actions(verb='joined', viewer=alice)] == ['bob', 'alice']
    assert verbs(am.get_actions(actor=bob, verb='edited')) == ['edited']
    assert am.get_actions(actor=alice, target=team).count() == 0
    assert am.get_actions(actor=alice, target=team, viewer=bob).count() == 1
    assert verbs(am.get_actions(limit=2)) == ['joined', 'edited']
    assert am.get_actions().count() == 3
    assert am.get_actions(everything=True).count() == 4
    assert am.get_actions(actor=alice, limit=1).count() == 1
    # streams carry no recipient, so no seen/read state
    assert am.get_actions(actor=alice).first().read is None


def test_get_actions_refuses_bad_filters(env):
    with pytest.raises(TypeError, match='actor must be a mapped entity'):
        am.get_actions(actor='alice')
    with pytest.raises(TypeError, match='target must be a mapped entity'):
        am.get_actions(target=3)
    with pytest.raises(ValueError, match='verb must not be empty'):
        am.get_actions(verb='')
    with pytest.raises(ValueError, match='limit must not be negative'):
        am.get_actions(limit=-1)


def test_cursor_paging_walks_the_inbox(inbox):
    env, bob = inbox
    q = am.get_by_recipient(bob)
    first = q.limit(3).all()
    second = q.limit(3).before(first[-1].cursor).all()
    third = q.limit(3).before(second[-1]).all()  # an action works as a cursor too
    assert verbs(first + second + third) == NEWEST_FIRST
    assert q.before(third[-1].cursor).all() == []


def test_cursor_paging_is_stable_when_new_actions_arrive(inbox):
    env, bob = inbox
    q = am.get_by_recipient(bob).limit(2)
    first = q.all()
    am.create(env.user('newcomer'), 'newer', recipients=[bob], timestamp=at(500))
    assert verbs(q.before(first[-1].cursor).all()) == NEWEST_FIRST[2:4]


def test_cursor_paging_of_a_stream(env):
    alice = env.user('alice')
    am.create_many([dict(actor=alice, verb=f'v{i}', timestamp=T0) for i in range(5)])
    page = am.get_actions(actor=alice, limit=2).all()
    rest = am.get_actions(actor=alice).before(page[-1].cursor).all()
    assert len(page + rest) == 5
    assert len({a.id for a in page + rest}) == 5


def test_cursor_pages_among_2000_actions_of_one_millisecond_read_one_page(env, monkeypatch):
    alice, bob = env.user('alice'), env.user('bob')
    am.create_many([dict(actor=alice, verb='tied', recipients=[bob], timestamp=T0)] * 2000)
    pulled = []
    if not env.sql:  # Ming reads after a cursor lazily: count what a page pulls
        from activitystream.storage.ming import storage as ming_storage

        original = ming_storage._after

        def counted(*args):
            for doc in original(*args):
                pulled.append(1)
                yield doc

        monkeypatch.setattr(ming_storage, '_after', counted)
    q, seen, page = am.get_by_recipient(bob), [], am.get_by_recipient(bob).limit(50).all()
    while page:
        seen += [a.id for a in page]
        pulled.clear()
        page = q.limit(50).before(page[-1].cursor).all()
        assert len(pulled) <= 50  # never the rest of the millisecond
    assert len(seen) == len(set(seen)) == 2000
    assert seen == sorted(seen, reverse=True)  # one millisecond: newest id first


@pytest.mark.parametrize('cursor', ['', 'nonsense', '!!!', 'MjAyNi0wNC0wMVQwOTowMDowMC4wMDAveA'])
def test_a_malformed_cursor_is_refused(inbox, cursor):
    env, bob = inbox
    with pytest.raises(ValueError, match='before is not a cursor'):
        am.get_by_recipient(bob).before(cursor)


def test_count_after_a_cursor_is_refused(inbox):
    env, bob = inbox
    first = am.get_by_recipient(bob).first()
    with pytest.raises(ValueError, match='count the query without before'):
        am.get_by_recipient(bob).before(first.cursor).count()
