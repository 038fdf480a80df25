"""Seen (the menu was opened) and read (that notification was clicked)."""

import datetime as dt

import pytest

from activitystream import am
from activitystream.refs import ref_of
from tests.clock import recent

T0 = recent()


def at(minutes):
    return T0 + dt.timedelta(minutes=minutes)


def seed(env, recipient):
    """3 direct actions and 1 broadcast at minutes 0..3, plus one for someone else."""
    alice, other = env.user('alice'), env.user('other')
    return am.create_many(
        [
            dict(actor=alice, verb='d0', recipients=[recipient], timestamp=at(0)),
            dict(actor=alice, verb='d1', recipients=[recipient], timestamp=at(1)),
            dict(actor=alice, verb='b2', timestamp=at(2)),
            dict(actor=alice, verb='d3', recipients=[recipient], timestamp=at(3)),
            dict(actor=alice, verb='x', recipients=[other], timestamp=at(4)),
        ]
    )


@pytest.fixture(params=['package-kept', 'host-attribute'])
def recipient(request, env):
    """A quickstart User (the package keeps its last-seen) or a 0.1.1-style Member."""
    if request.param == 'package-kept':
        return env.user('bob')
    return env.member('mia')


def test_never_seen_means_everything_is_unseen(env, recipient):
    seed(env, recipient)
    assert am.last_seen(recipient) is None
    assert am.count_not_seen_by_recipient(recipient) == 4
    assert [a.seen for a in am.get_by_recipient(recipient)] == [False] * 4


def test_mark_seen_until_a_time(env, recipient):
    seed(env, recipient)
    assert am.mark_seen(recipient, until=at(1)) is None
    assert am.last_seen(recipient) == at(1)
    assert am.count_not_seen_by_recipient(recipient) == 2  # b2, d3
    assert [(a.verb, a.seen) for a in am.get_by_recipient(recipient)] == [
        ('d3', False),
        ('b2', False),
        ('d1', True),
        ('d0', True),
    ]
    assert am.mark_seen(recipient, until=at(3)) == at(1)  # the previous value
    assert am.count_not_seen_by_recipient(recipient) == 0


def test_mark_seen_defaults_to_the_newest_notification(env, recipient):
    seed(env, recipient)
    previous = am.mark_seen(recipient)
    assert previous is None
    assert am.last_seen(recipient) == at(3)  # d3, not "now": what comes later stays unseen
    assert am.count_not_seen_by_recipient(recipient) == 0
    later = am.last_seen(recipient) + dt.timedelta(milliseconds=1)  # times have 1 ms steps
    am.create(env.user('zed'), 'later', recipients=[recipient], timestamp=later)
    assert am.count_not_seen_by_recipient(recipient) == 1


def test_aware_until_is_converted(env, recipient):
    seed(env, recipient)
    rome = dt.timezone(dt.timedelta(hours=2))
    am.mark_seen(recipient, until=(at(1) + dt.timedelta(hours=2)).replace(tzinfo=rome))
    assert am.last_seen(recipient) == at(1)


def test_host_attribute_is_the_last_seen_time(env):
    """0.1.1 hosts keep last_activity_seen on the recipient: we read and write it."""
    mia = env.member('mia', last_activity_seen=at(2))
    seed(env, mia)
    assert am.last_seen(mia) == at(2)
    assert am.count_not_seen_by_recipient(mia) == 1
    am.mark_seen(mia, until=at(3))
    assert mia.last_activity_seen == at(3)
    # the seed README's own way still works too
    mia.last_activity_seen = at(0)
    assert am.count_not_seen_by_recipient(mia) == 3


def test_seen_of_one_recipient_is_not_anothers(env):
    bob, carol = env.user('bob'), env.user('carol')
    seed(env, bob)
    am.create(env.user('zed'), 'hi', recipients=[carol], timestamp=at(0))
    am.mark_seen(bob, until=at(10))
    assert am.count_not_seen_by_recipient(bob) == 0
    assert am.count_not_seen_by_recipient(carol) == 2  # its own + the broadcast
    assert am.last_seen(carol) is None


def test_mark_seen_refuses_bad_input(env):
    bob = env.user('bob')
    with pytest.raises(TypeError, match='until must be a datetime'):
        am.mark_seen(bob, until='yesterday')
    with pytest.raises(TypeError, match='recipient must be a mapped entity'):
        am.mark_seen('bob')
    assert am.last_seen(bob) is None


def test_nothing_is_read_at_first(env, recipient):
    seed(env, recipient)
    assert am.count_unread_by_recipient(recipient) == 4
    assert [a.read for a in am.get_by_recipient(recipient)] == [False] * 4


def test_mark_some_read(env, recipient):
    d0, d1, b2, d3, x = seed(env, recipient)
    assert am.mark_read(recipient, [d1, b2]) == 2
    assert am.count_unread_by_recipient(recipient) == 2
    assert [(a.verb, a.read) for a in am.get_by_recipient(recipient)] == [
        ('d3', False),
        ('b2', True),
        ('d1', True),
        ('d0', False),
    ]
    assert am.mark_read(recipient, [d1, d3]) == 1  # d1 was read already
    assert am.mark_read(recipient, d0) == 1  # a single action
    assert am.count_unread_by_recipient(recipient) == 0


def test_marking_someone_elses_action_changes_nothing(env, recipient):
    owner = env.user('owner')
    theirs = am.create(env.user('alice'), 'private', recipients=[owner])
    assert am.mark_read(recipient, [theirs]) == 0
    assert am.count_unread_by_recipient(owner) == 1
    assert am.count_unread_by_recipient(recipient) == 0


def test_mark_all_read(env, recipient):
    d0, d1, b2, d3, x = seed(env, recipient)
    am.mark_read(recipient, [d1])
    assert am.mark_read(recipient) == 3
    assert am.count_unread_by_recipient(recipient) == 0
    assert all(a.read for a in am.get_by_recipient(recipient))
    assert am.mark_read(recipient) == 0
    zed = env.user('zed')
    later = am.create(zed, 'later', recipients=[recipient], timestamp=at(60))
    broadcast = am.create(zed, 'everyone', timestamp=at(61))
    assert am.count_unread_by_recipient(recipient) == 2
    assert am.mark_read(recipient, [later]) == 1
    assert [(a.verb, a.read) for a in am.get_by_recipient(recipient).limit(2)] == [
        ('everyone', False),
        ('later', True),
    ]
    assert am.mark_read(recipient) == 1
    assert broadcast.id == am.get_by_recipient(recipient).first().id


def test_read_and_seen_are_independent(env, recipient):
    d0, d1, b2, d3, x = seed(env, recipient)
    am.mark_seen(recipient, until=at(0))
    am.mark_read(recipient)
    assert am.count_not_seen_by_recipient(recipient) == 3
    assert am.count_unread_by_recipient(recipient) == 0
    am.mark_seen(recipient, until=at(10))
    assert am.count_not_seen_by_recipient(recipient) == 0
    assert am.count_unread_by_recipient(recipient) == 0


def test_read_state_of_one_recipient_is_not_anothers(env):
    bob, carol = env.user('bob'), env.user('carol')
    d0, d1, b2, d3, x = seed(env, bob)
    am.mark_read(bob)
    assert am.count_unread_by_recipient(carol) == 1  # the broadcast
    am.mark_read(carol, [b2])
    assert am.count_unread_by_recipient(carol) == 0
    assert am.count_unread_by_recipient(bob) == 0


def test_mark_read_refuses_bad_input(env):
    bob = env.user('bob')
    with pytest.raises(TypeError, match='actions must be a list of actions or None'):
        am.mark_read(bob, 'all')
    with pytest.raises(TypeError, match='actions must be a list of actions or None'):
        am.mark_read(bob, 5)


def test_marks_written_twice_at_once_do_not_fail(env, recipient):
    """Two requests of one user may mark the same action in the same instant."""
    d0, *_ = seed(env, recipient)
    storage = am.storage
    ref = ref_of(recipient, 'recipient')
    storage.add_read_marks(ref, {d0.id: d0.timestamp})
    storage.add_read_marks(ref, {d0.id: d0.timestamp})  # the slower request
    assert storage.advance_seen_state(ref, 'read_until', at(0), None)
    assert not storage.advance_seen_state(ref, 'read_until', at(0), None)  # the slower one
    assert am.count_unread_by_recipient(recipient) == 3
