"""The redis backend and the seed's per-user stream, in a real Redis."""

import datetime as dt
import uuid

import pytest
import transaction

import hosts.app
from activitystream import am, model, refs, subscriptions
from activitystream.delivery import drain
from activitystream.subscriptions.backends.redis_lists import GROUPS

from . import subscription_support as support
from .harness import BACKENDS, build_app

SQL_BACKENDS = hosts.app.SQL_BACKENDS

REDIS = 'activitystream.subscriptions.backends.RedisBackend'
NOTIFICATIONS = 'activitystream.subscriptions.backends.ActivityStreamBackend'


@pytest.fixture(scope='module')
def redis():
    client = support.redis_client()
    yield client
    support.drop_redis_keys(client)


def redis_app(backend, **options):
    options = {
        'redis_url': support.REDIS_URL,
        'redis_prefix': f'{support.REDIS_PREFIX}:{uuid.uuid4().hex[:8]}',
        **options,
    }
    backends = {'redis': REDIS, 'activitystream': NOTIFICATIONS}
    return build_app(backend, subscription_backends=backends, **options)


@pytest.fixture(params=BACKENDS)
def env(request, redis):
    return redis_app(request.param)


def texts(group):
    return [text for _, text in group]


def test_emitted_messages_wait_undelivered_newest_first(env):
    doc, bob, alice = env.document('Plan'), env.user('bob'), env.user('alice', 'Alice')
    subscriptions.subscribe(bob, doc)
    subscriptions.subscribe(alice, doc)
    before = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None) - dt.timedelta(seconds=1)
    for n in (1, 2, 3):
        subscriptions.emit(f'{{actor}} edit {n}', subscribers_of=doc, actor=alice)
    env.commit()
    stream = subscriptions.user_stream(bob)
    assert texts(stream['undelivered']) == ['Alice edit 3', 'Alice edit 2', 'Alice edit 1']
    assert stream['unacknowledged'] == stream['acknowledged'] == []
    when = stream['undelivered'][0][0]
    assert isinstance(when, dt.datetime) and when.tzinfo is None
    assert (
        before
        < when
        < dt.datetime.now(dt.timezone.utc).replace(tzinfo=None) + dt.timedelta(seconds=1)
    )
    assert texts(subscriptions.user_stream(alice)['undelivered'])[0] == 'You edit 3'


def test_clearing_moves_undelivered_to_unacknowledged(env):
    bob = env.user('bob')
    for n in (1, 2):
        subscriptions.emit(f'old {n}', send_only_to=bob, backends=['redis'])
    env.commit()
    stream = subscriptions.user_stream(bob, clear_undelivered=True)
    assert stream['undelivered'] == []
    assert texts(stream['unacknowledged']) == ['old 2', 'old 1']
    subscriptions.emit('new', send_only_to=bob, backends=['redis'])
    env.commit()
    stream = subscriptions.user_stream(bob)
    assert texts(stream['undelivered']) == ['new']
    assert texts(stream['unacknowledged']) == ['old 2', 'old 1']
    stream = subscriptions.user_stream(bob, clear_undelivered=True)
    assert texts(stream['unacknowledged']) == ['new', 'old 2', 'old 1']


def test_acknowledge_moves_unacknowledged_to_acknowledged(env):
    bob = env.user('bob')
    subscriptions.emit('first', send_only_to=bob, backends=['redis'])
    env.commit()
    subscriptions.user_stream(bob, clear_undelivered=True)
    assert subscriptions.acknowledge(bob) == 1
    subscriptions.emit('second', send_only_to=bob, backends=['redis'])
    env.commit()
    subscriptions.user_stream(bob, clear_undelivered=True)
    assert subscriptions.acknowledge(bob) == 1
    stream = subscriptions.user_stream(bob)
    assert texts(stream['acknowledged']) == ['second', 'first']
    assert stream['undelivered'] == stream['unacknowledged'] == []
    assert subscriptions.acknowledge(bob) == 0


@pytest.mark.parametrize('backend', BACKENDS)
def test_every_list_is_trimmed(redis, backend):
    env = redis_app(backend, redis_stream_length=3)
    bob = env.user('bob')
    for n in range(5):
        subscriptions.emit(f'm{n}', send_only_to=bob, backends=['redis'])
    env.commit()
    assert texts(subscriptions.user_stream(bob)['undelivered']) == ['m4', 'm3', 'm2']
    subscriptions.user_stream(bob, clear_undelivered=True)
    for n in range(5, 7):
        subscriptions.emit(f'm{n}', send_only_to=bob, backends=['redis'])
    env.commit()
    stream = subscriptions.user_stream(bob, clear_undelivered=True)
    assert texts(stream['unacknowledged']) == ['m6', 'm5', 'm4']
    subscriptions.acknowledge(bob)
    assert len(subscriptions.user_stream(bob)['acknowledged']) == 3


def test_keys_carry_the_prefix_and_one_hash_tag_per_user(env, redis):
    bob = env.user('bob')
    subscriptions.emit('x', send_only_to=bob, backends=['redis'])
    env.commit()
    ref = refs.ref_of(bob, 'bob')
    prefix = model.options()['redis_prefix']
    assert redis.lrange(f'{prefix}:stream:{{{ref.type}:{ref.id}}}:undelivered', 0, -1)


def test_redis_down_keeps_the_messages_for_the_retry_command(redis, monkeypatch):
    for backend in BACKENDS:
        env = redis_app(backend, redis_url=f'redis://127.0.0.1:{support.free_port()}/0')
        doc, bob = env.document('Plan'), env.user('bob')
        subscriptions.subscribe(bob, doc)
        subscriptions.emit('Plan changed', subscribers_of=doc, actor=doc, verb='changed')
        env.commit()
        assert am.get_by_recipient(bob).count() == 1  # the notification is stored anyway
        [kept] = subscriptions.failed_deliveries()
        assert (kept.backend, kept.text) == ('redis', 'Plan changed')
        assert kept.error.startswith('redis: 1 of 1 failed, ConnectionError')

        monkeypatch.setitem(model.options(), 'redis_url', support.REDIS_URL)  # back up
        assert subscriptions.retry_failed().done == 1
        assert subscriptions.retry_failed().jobs == 0  # once
        [(when, text)] = subscriptions.user_stream(bob)['undelivered']
        assert (when, text) == (kept.emitted_at, 'Plan changed')  # dated when emitted


def test_user_stream_arguments(env):
    with pytest.raises(TypeError, match='clear_undelivered must be True or False'):
        subscriptions.user_stream(env.user('bob'), clear_undelivered='yes')
    with pytest.raises(ValueError, match='user is required'):
        subscriptions.user_stream(None)
    with pytest.raises(TypeError, match='user must be a mapped entity'):
        subscriptions.acknowledge('bob')


def test_a_deliver_job_done_twice_pushes_once(env, monkeypatch):
    """A worker that died after pushing, before finishing its job: the redo pushes nothing."""
    from activitystream.delivery import runner
    from activitystream.subscriptions.delivery import deliver_job

    monkeypatch.setattr(runner, 'kick', lambda: None)
    doc, bob = env.document('Plan'), env.user('bob')
    subscriptions.subscribe(bob, doc)
    subscriptions.emit('once', subscribers_of=doc, backends=['redis'])
    env.commit()
    runner.drain(limit=1)  # the emit step: it queues the page's deliver job
    [job] = model.storage().jobs(False, None)
    assert job.kind == 'deliver'
    for _ in range(2):
        with model.unit_of_work() as storage:
            assert deliver_job(storage, job) is None
    assert texts(subscriptions.user_stream(bob)['undelivered']) == ['once']


def filled_lists(env, user):
    """One item in each of ``user``'s three lists."""
    for text, moves in (('read', 2), ('shown', 1), ('new', 0)):
        subscriptions.emit(text, send_only_to=user, backends=['redis'])
        env.commit()
        if moves:
            subscriptions.user_stream(user, clear_undelivered=True)
        if moves == 2:
            subscriptions.acknowledge(user)
    return {group: texts(items) for group, items in subscriptions.user_stream(user).items()}


def list_keys(user):
    ref, prefix = refs.ref_of(user, 'user'), model.options()['redis_prefix']
    return [f'{prefix}:stream:{{{ref.type}:{ref.id}}}:{group}' for group in GROUPS]


def test_erase_drops_the_lists_of_the_erased_once_it_commits(env, redis):
    """What the redis backend delivered to bob goes with him; alice keeps hers."""
    bob, alice = env.user('bob'), env.user('alice')
    kept = filled_lists(env, alice)
    assert filled_lists(env, bob) == {
        'undelivered': ['new'],
        'unacknowledged': ['shown'],
        'acknowledged': ['read'],
    }
    am.erase(bob)
    if env.backend in SQL_BACKENDS:  # queued with the erasure: nothing gone before the commit
        assert redis.exists(*list_keys(bob)) == 3
    env.commit()
    assert redis.exists(*list_keys(bob)) == 0
    assert {
        group: texts(items) for group, items in subscriptions.user_stream(alice).items()
    } == kept


@pytest.mark.parametrize('backend', SQL_BACKENDS)
def test_an_erasure_rolled_back_keeps_the_lists(redis, backend):
    env = redis_app(backend)
    bob = env.user('bob')
    filled_lists(env, bob)
    am.erase(bob)
    transaction.abort()
    assert redis.exists(*list_keys(bob)) == 3
    assert drain().jobs == 0  # and no job waits to drop them


def test_lists_of_an_erasure_while_redis_is_down_go_when_it_is_back(redis, monkeypatch):
    for backend in BACKENDS:
        env = redis_app(backend)
        bob = env.user('bob')
        filled_lists(env, bob)
        keys = list_keys(bob)
        monkeypatch.setitem(
            model.options(), 'redis_url', f'redis://127.0.0.1:{support.free_port()}/0'
        )
        am.erase(bob)
        env.commit()  # the erasure commits; the job waits for its retry
        assert redis.exists(*keys) == 3
        monkeypatch.setitem(model.options(), 'redis_url', support.REDIS_URL)  # back up
        assert subscriptions.retry_failed().done == 1
        assert redis.exists(*keys) == 0
