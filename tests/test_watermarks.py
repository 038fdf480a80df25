"""Counts and seen/read state that stay right when requests overlap, on every backend.

A concurrent request is played inside the first one's read-then-write gap:
the storage read the first request makes is wrapped so that the second runs
right after it, as a request committed meanwhile would.
"""

import datetime as dt

import pytest
import sqlalchemy as sa
from bs4 import BeautifulSoup

from activitystream import am, csrf, model
from activitystream.formats import iso
from activitystream.timeutil import utcnow

from .clock import recent
from .harness import build_app

T0 = recent()


def at(minutes):
    return T0 + dt.timedelta(minutes=minutes)


@pytest.fixture(params=['package-kept', 'host-attribute'])
def recipient(request, env):
    return env.user('bob') if request.param == 'package-kept' else env.member('mia')


def three_for(env, recipient):
    alice = env.user('alice')
    return [am.create(alice, f'n{i}', recipients=[recipient], timestamp=at(i)) for i in range(3)]


def meanwhile(monkeypatch, name, other_request):
    """Run ``other_request()`` right after the next call of storage method ``name``."""
    storage = model.storage()
    original = getattr(storage, name)

    def read_then_let_the_other_in(*args, **kwargs):
        found = original(*args, **kwargs)
        monkeypatch.setattr(storage, name, original)  # once
        other_request()
        return found

    monkeypatch.setattr(storage, name, read_then_let_the_other_in)


def last_seen_read(recipient):
    """The storage read mark_seen starts with: the host's attribute, or the package's state."""
    return 'entity_attribute' if hasattr(recipient, 'last_activity_seen') else 'seen_state'


def test_marking_seen_never_undoes_a_concurrent_mark_read(env, recipient, monkeypatch):
    three_for(env, recipient)
    meanwhile(monkeypatch, last_seen_read(recipient), lambda: am.mark_read(recipient))
    am.mark_seen(recipient, until=at(1))
    assert am.count_unread_by_recipient(recipient) == 0  # the 3 read stay read
    assert am.last_seen(recipient) == at(1)


def test_two_mark_seen_never_move_it_back(env, recipient, monkeypatch):
    three_for(env, recipient)
    # the slower request wanted an older time: the newer one, written meanwhile, stays
    meanwhile(monkeypatch, last_seen_read(recipient), lambda: am.mark_seen(recipient, until=at(2)))
    am.mark_seen(recipient, until=at(1))
    assert am.last_seen(recipient) == at(2)
    assert am.count_not_seen_by_recipient(recipient) == 0


def test_a_read_mark_counts_once_when_two_requests_make_it(env, recipient, monkeypatch):
    first, *_ = three_for(env, recipient)
    other = []
    meanwhile(monkeypatch, 'read_marks', lambda: other.append(am.mark_read(recipient, [first])))
    mine = am.mark_read(recipient, [first])
    assert sorted([mine] + other) == [0, 1]
    assert am.count_unread_by_recipient(recipient) == 2


def test_mark_all_read_counts_once_when_two_requests_do_it(env, recipient, monkeypatch):
    three_for(env, recipient)
    other = []
    meanwhile(monkeypatch, 'newest_visible', lambda: other.append(am.mark_read(recipient)))
    assert am.mark_read(recipient) + other[0] == 3


def test_until_in_the_future_is_capped_at_the_newest_notification(env, recipient):
    three_for(env, recipient)
    am.mark_seen(recipient, until=dt.datetime(9999, 12, 31))
    assert am.last_seen(recipient) == at(2)
    am.create(env.user('zed'), 'later', recipients=[recipient], timestamp=at(3))
    assert am.count_not_seen_by_recipient(recipient) == 1  # the badge is not frozen


def test_the_endpoint_caps_until_too(env):
    bob = env.user('bob')
    three_for(env, bob)
    env.commit()
    reply = env.app.post(
        '/activitystream/ajax_update_last_seen_of_a_recipient',
        {'until': '9999-12-31T00:00:00Z', csrf.FIELD: csrf.token_for(bob)},
        extra_environ=env.login(bob),
    )
    assert reply.json == {'last_activity_seen': None}
    assert am.last_seen(bob) == at(2)
    am.create(env.user('zed'), 'later', recipients=[bob], timestamp=at(3))
    env.commit()
    count = env.app.get('/activitystream/unseen_count.json', extra_environ=env.login(bob))
    assert count.json == {'unseen_count': 1}


def test_the_menu_form_marks_seen_up_to_the_newest_notification(env):
    bob = env.user('bob')
    three_for(env, bob)
    env.commit()
    env.app.post(
        '/activitystream/see',
        {'target_link': '/x', csrf.FIELD: csrf.token_for(bob)},
        extra_environ=env.login(bob),
        status=303,
    )
    assert am.last_seen(bob) == at(2)  # not "now": a later arrival with an earlier stamp counts


def test_a_menu_click_marks_seen_up_to_what_the_menu_showed(env):
    bob, alice, doc = env.user('bob'), env.user('alice'), env.document('Doc')
    first, _, _ = [
        am.create(alice, f'n{i}', target=doc, recipients=[bob], timestamp=at(i)) for i in range(3)
    ]
    env.commit()
    menu = BeautifulSoup(env.app.get('/menu_of?user_name=bob').text, 'html.parser')
    assert {i['value'] for i in menu.select('input[name=until]')} == {iso(at(2))}
    env.app.post(
        '/activitystream/see',
        {'target_link': '/x', 'action': str(first.id), 'until': iso(at(1)),
         csrf.FIELD: csrf.token_for(bob)},
        extra_environ=env.login(bob),
        status=303,
    )  # fmt: skip
    assert am.last_seen(bob) == at(1)  # n2 came after what that menu showed: still unseen
    assert am.count_not_seen_by_recipient(bob) == 1
    assert am.count_unread_by_recipient(bob) == 2
    reply = env.app.post(
        '/activitystream/see',
        {
            'target_link': '/x',
            'until': '9999-12-31T23:59:59-12:00',
            csrf.FIELD: csrf.token_for(bob),
        },
        extra_environ=env.login(bob),
        status=400,
    )
    assert 'until' in reply.json['detail'] and am.last_seen(bob) == at(1)  # nothing written


def test_a_new_recipient_is_not_flooded_with_past_broadcasts(env):
    alice = env.user('alice')
    long_ago = utcnow() - dt.timedelta(days=40)
    am.create_many(
        [dict(actor=alice, verb=f'old {i}', timestamp=long_ago + dt.timedelta(minutes=i))
         for i in range(50)]
    )  # fmt: skip
    am.create(alice, 'new', timestamp=utcnow() - dt.timedelta(days=1))
    newcomer = env.user('newcomer')
    assert am.count_not_seen_by_recipient(newcomer) == 1
    assert am.count_unread_by_recipient(newcomer) == 1
    page = am.get_by_recipient(newcomer).limit(3).all()
    assert [(a.verb, a.seen, a.read) for a in page] == [
        ('new', False, False),
        ('old 49', True, True),
        ('old 48', True, True),
    ]
    assert am.get_by_recipient(newcomer).count() == 51  # the history is all there
    assert am.mark_read(newcomer) == 1


def test_the_window_is_a_plug_option(env):
    env = build_app(env.backend, unseen_window=60)
    alice, bob = env.user('alice'), env.user('bob')
    am.create(alice, 'recent', recipients=[bob], timestamp=utcnow() - dt.timedelta(days=40))
    assert am.count_not_seen_by_recipient(bob) == 1
    assert model.options()['unseen_window'] == dt.timedelta(days=60)


def test_nobody_is_notified_of_their_own_action(env):
    alice, bob = env.user('alice'), env.user('bob')
    am.create(alice, 'posted for all')
    mine = am.create(alice, 'wrote to us', recipients=[alice, bob])
    assert am.count_not_seen_by_recipient(alice) == 0
    assert am.count_unread_by_recipient(alice) == 0
    assert am.get_by_recipient(alice).all() == []
    assert am.mark_read(alice) == 0
    assert [u.user_name for u in mine.recipients] == ['bob']
    assert [a.verb for a in am.get_by_recipient(bob)] == ['wrote to us', 'posted for all']
    assert am.count_not_seen_by_recipient(bob) == 2


@pytest.mark.parametrize('zone', ['Europe/Rome', 'America/New_York'])
def test_a_time_zone_aware_host_column_keeps_its_time(sqla_env, zone):
    """``last_activity_seen = Column(DateTime(timezone=True))``, PostgreSQL sessions in ``zone``."""
    env = sqla_env

    def in_zone(dbapi_connection, _):
        with dbapi_connection.cursor() as cursor:
            cursor.execute(f"SET TIME ZONE '{zone}'")
        dbapi_connection.commit()

    postgresql = env.backend == 'postgresql'
    if postgresql:
        sa.event.listen(env.engine, 'connect', in_zone)
        env.engine.dispose()  # new connections, in that zone
    try:
        watcher = env.add(env.model.Watcher(name='w'))
        three_for(env, watcher)
        am.mark_seen(watcher, until=at(1))
        env.commit()
        env.clear_session()
        fresh = env.model.DBSession.get(env.model.Watcher, watcher.id)
        assert am.last_seen(fresh) == at(1)
        assert am.count_not_seen_by_recipient(fresh) == 1
    finally:
        if postgresql:
            sa.event.remove(env.engine, 'connect', in_zone)
            env.engine.dispose()


def test_the_menu_agrees_with_the_badge_for_a_newcomer(env):
    alice = env.user('alice')
    am.create(alice, 'long ago', timestamp=utcnow() - dt.timedelta(days=40))
    am.create(alice, 'yesterday', timestamp=utcnow() - dt.timedelta(days=1))
    newcomer = env.user('newcomer')
    env.commit()
    html = env.app.get('/menu', extra_environ=env.login(newcomer)).text
    assert html.count('activitystream-unseen') == 1
    assert am.seen_until(newcomer) < utcnow() - dt.timedelta(days=29)
