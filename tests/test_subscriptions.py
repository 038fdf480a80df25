"""Subscriptions: subscribe to any entity, read both sides, on every database backend."""

import datetime as dt
import itertools
import threading

import pytest
import transaction

from activitystream import subscriptions

from .harness import BACKENDS, build_app

T0 = dt.datetime(2026, 5, 1, 8, 0)


@pytest.fixture
def clock(monkeypatch):
    """Each subscription one second after the previous one: newest-first order is known."""
    ticks = (T0 + dt.timedelta(seconds=i) for i in itertools.count())
    monkeypatch.setattr(subscriptions, 'utcnow', lambda: next(ticks))


def test_subscribe_to_any_entity(env):
    bob, alice = env.user('bob'), env.user('alice')
    doc, team = env.document('Plan'), env.team('ops')
    assert subscriptions.subscribe(bob, doc) is True
    assert subscriptions.subscribe(bob, team) is True
    assert subscriptions.subscribe(bob, alice) is True  # following alice
    assert all(subscriptions.is_subscribed(bob, o) for o in (doc, team, alice))
    assert not subscriptions.is_subscribed(alice, bob)
    assert not subscriptions.is_subscribed(alice, doc)


def test_subscribing_twice_is_a_no_op(env):
    bob, doc = env.user('bob'), env.document('Plan')
    assert subscriptions.subscribe(bob, doc) is True
    env.commit()
    assert subscriptions.subscribe(bob, doc) is False
    env.commit()
    assert subscriptions.subscribers_of(doc).count() == 1
    assert names(subscriptions.subscribers_of(doc)) == ['bob']


def test_unsubscribe(env):
    bob, doc = env.user('bob'), env.document('Plan')
    subscriptions.subscribe(bob, doc)
    assert subscriptions.unsubscribe(bob, doc) is True
    assert not subscriptions.is_subscribed(bob, doc)
    assert subscriptions.unsubscribe(bob, doc) is False  # not subscribed: a no-op
    assert subscriptions.unsubscribe(env.user('carol'), doc) is False
    assert subscriptions.subscribers_of(doc).count() == 0


def test_subscribers_of_is_a_query(env, clock):
    doc = env.document('Plan')
    users = [env.user(f'user{i}') for i in range(6)]
    for user in users:
        subscriptions.subscribe(user, doc)
    newest_first = users[::-1]
    query = subscriptions.subscribers_of(doc)
    assert query.all() == newest_first
    assert list(query) == newest_first
    assert query.count() == 6
    assert query.limit(2).all() == newest_first[:2]
    assert query.offset(4).all() == newest_first[4:]
    assert query.offset(1).limit(3).all() == newest_first[1:4]
    assert query.offset(5).limit(3).count() == 1
    assert query.limit(0).all() == [] and query.limit(0).count() == 0
    assert query.first() == users[-1]
    assert query[1] == newest_first[1]
    assert query[2:4] == newest_first[2:4]
    assert query.limit(3)[1:] == newest_first[1:3]
    with pytest.raises(IndexError):
        query[6]
    assert subscriptions.subscribers_of(env.document('Empty')).first() is None


def names(entities):
    """Entities read after a commit are new objects: compare them by name."""
    return [getattr(e, 'user_name', None) or e.name for e in entities]


def test_subscriptions_of_lists_what_a_subscriber_follows(env, clock):
    bob = env.user('bob')
    alice, doc, team = env.user('alice'), env.document('Plan'), env.team('ops')
    for obj in (alice, doc, team):
        subscriptions.subscribe(bob, obj)
    assert subscriptions.subscriptions_of(bob).all() == [team, doc, alice]
    assert subscriptions.subscriptions_of(bob).count() == 3
    assert subscriptions.subscriptions_of(bob).offset(1).limit(1).all() == [doc]
    assert subscriptions.subscriptions_of(alice).all() == []


def test_subscribed_to_answers_a_page_at_once(env):
    bob = env.user('bob')
    docs = [env.document(f'doc {i}') for i in range(4)]
    subscriptions.subscribe(bob, docs[1])
    subscriptions.subscribe(bob, docs[3])
    with env.count_queries() as queries:
        assert subscriptions.subscribed_to(bob, docs) == [docs[1], docs[3]]
    assert len(queries) == 1
    assert subscriptions.subscribed_to(bob, []) == []


def test_reading_subscribers_costs_no_query_per_subscriber(env):
    doc = env.document('Plan')
    subscribers = [env.user(f'user{i}') for i in range(20)] + [env.team('ops'), env.team('dev')]
    for subscriber in subscribers:
        subscriptions.subscribe(subscriber, doc)
    env.commit()
    env.clear_session()
    with env.count_queries() as queries:
        found = subscriptions.subscribers_of(doc).all()
    assert set(names(found)) == set(names(subscribers))
    # the references, then their entities: one query on SQL, one per class on Ming (users, teams)
    assert len(queries) == (2 if env.sql else 3)
    with env.count_queries() as queries:
        assert subscriptions.subscribers_of(doc).count() == 22
    assert len(queries) == 1


def test_a_deleted_subscriber_is_left_out(env):
    doc, bob, carol = env.document('Plan'), env.user('bob'), env.user('carol')
    subscriptions.subscribe(bob, doc)
    subscriptions.subscribe(carol, doc)
    env.delete(bob)
    assert names(subscriptions.subscribers_of(doc)) == ['carol']


@pytest.mark.parametrize(
    'call, error, words',
    [
        (lambda u, d: subscriptions.subscribe(None, d), ValueError, 'subscriber is required'),
        (lambda u, d: subscriptions.subscribe(u, None), ValueError, 'obj is required'),
        (lambda u, d: subscriptions.subscribe('bob', d), TypeError, 'subscriber must be a mapped'),
        (lambda u, d: subscriptions.unsubscribe(u, 3), TypeError, 'obj must be a mapped'),
        (lambda u, d: subscriptions.is_subscribed(u, type(d)), TypeError, 'obj must be a mapped'),
        (lambda u, d: subscriptions.subscribers_of([d]), TypeError, 'obj must be a mapped'),
        (lambda u, d: subscriptions.subscriptions_of(None), ValueError, 'subscriber is required'),
        (lambda u, d: subscriptions.subscribed_to(u, [d, 'x']), TypeError, r'objs\[1\] must be'),
        (lambda u, d: subscriptions.subscribers_of(d).limit(-1), ValueError, 'limit must not be'),
        (lambda u, d: subscriptions.subscribers_of(d).offset('2'), TypeError, 'offset must be'),
    ],
)
def test_bad_arguments_are_named(env, call, error, words):
    with pytest.raises(error, match=words):
        call(env.user('bob'), env.document('Plan'))


def test_a_rolled_back_subscription_is_not_kept(sqla_env):
    bob, doc = sqla_env.user('bob'), sqla_env.document('Plan')
    sqla_env.commit()
    subscriptions.subscribe(bob, doc)
    transaction.abort()
    assert not subscriptions.is_subscribed(bob, doc)


def test_tables_and_indexes():
    env = build_app('sqlite')
    from sqlalchemy import inspect

    tables = inspect(env.engine).get_table_names()
    assert {'activitystream_subscriptions', 'activitystream_outbox'} <= set(tables)
    indexes = {
        i['name']: i['column_names']
        for i in inspect(env.engine).get_indexes('activitystream_subscriptions')
    }
    assert indexes['ix_activitystream_subscriptions_object'][:3] == [
        'object_type',
        'object_id',
        'created',
    ]
    assert indexes['ix_activitystream_subscriptions_subscriber'][:3] == [
        'subscriber_type',
        'subscriber_id',
        'created',
    ]


def test_ming_indexes_are_ensured():
    env = build_app('ming')
    subscriptions.subscribers_of(env.document('Plan')).all()  # first use
    info = env.db['activitystream_subscriptions'].index_information().values()
    keys = {tuple(k for k, _ in i['key']): i.get('unique', False) for i in info}
    assert keys[('subscriber_type', 'subscriber_id', 'object_type', 'object_id')] is True
    assert ('object_type', 'object_id', 'created', 'subscriber_type', 'subscriber_id') in keys
    assert ('subscriber_type', 'subscriber_id', 'created', 'object_type', 'object_id') in keys


@pytest.mark.skipif('postgresql' not in BACKENDS, reason='PostgreSQL is not configured')
def test_concurrent_double_subscribe_stores_one_row_on_postgresql():
    """Two requests subscribe the same pair at once: one stores it, the other is a no-op."""
    env = build_app('postgresql')
    bob, doc = env.user('bob'), env.document('Plan')
    env.commit()
    both_inside = threading.Barrier(2)
    results, errors = [], []

    def request():
        try:
            both_inside.wait(timeout=10)
            results.append(subscriptions.subscribe(bob, doc))
            threading.Event().wait(0.3)  # hold the transaction open while the other inserts
            transaction.commit()
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
            transaction.abort()
        finally:
            env.model.DBSession.remove()

    threads = [threading.Thread(target=request) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert sorted(results) == [False, True]
    assert subscriptions.subscribers_of(doc).count() == 1
