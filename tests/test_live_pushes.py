"""Every write that creates notifications pushes a live update, once per recipient, after commit.

Through the real Redis: the test listens on the recipients' channels itself.
"""

import time
import uuid

import pytest
import redis

from activitystream import am, live, subscriptions
from activitystream.refs import ref_of

from .harness import _unavailable, build_app
from .test_live import REDIS_URL


def app(backend):
    return build_app(
        backend,
        redis_url=REDIS_URL,
        redis_prefix=f'activitystream-test-{uuid.uuid4().hex}',
        subscription_backends={
            'activitystream': 'activitystream.subscriptions.backends.ActivityStreamBackend'
        },
    )


@pytest.fixture
def listener():
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError as exc:
        _unavailable('Redis', exc)
    listener = redis.Redis.from_url(REDIS_URL).pubsub()
    yield listener
    listener.close()


@pytest.fixture(params=['sqlite', 'postgresql', 'ming'])
def site(request, listener):
    return app(request.param), listener


def pushed(listener, wait=0.5):
    """The channels that got a message, in order, until ``wait`` seconds pass without one."""
    found = []
    while (message := listener.get_message(timeout=wait)) is not None:
        if message['type'] == 'message':
            found.append(message['channel'].decode())
    return found


def listen(listener, *people):
    names = {live.channel(ref_of(p, 'p')): p.user_name for p in people}
    listener.subscribe(*names, live.channel(live.EVERYONE))
    for _ in range(len(names) + 1):  # the server has them all once it confirmed each
        assert listener.get_message(timeout=2)['type'] == 'subscribe'
    return names


def test_emit_pushes_to_each_recipient_once_after_the_commit(site):
    env, listener = site
    alice, bob, carol = env.user('alice'), env.user('bob'), env.user('carol')
    doc = env.document('Plan')
    for person in (alice, bob, carol):
        subscriptions.subscribe(person, doc)
    names = listen(listener, alice, bob, carol)
    subscriptions.emit('{actor} changed it', subscribers_of=doc, actor=alice)
    if env.sql:  # SQL: nothing before the commit
        time.sleep(0.2)
        assert pushed(listener, wait=0.2) == []
    env.commit()
    assert sorted(names[c] for c in pushed(listener)) == ['bob', 'carol']


def test_create_many_pushes_once_per_recipient(site):
    env, listener = site
    alice, bob, carol = env.user('alice'), env.user('bob'), env.user('carol')
    names = listen(listener, bob, carol)
    am.create_many(
        [dict(actor=alice, verb=f'v{i}', recipients=[bob, carol][: i % 2 + 1]) for i in range(5)]
    )
    env.commit()
    assert sorted(names[c] for c in pushed(listener)) == ['bob', 'carol']
    am.create_many(
        [dict(actor=alice, verb='to all'), dict(actor=alice, verb='x', recipients=[bob])]
    )
    env.commit()
    assert pushed(listener) == [live.channel(live.EVERYONE)]  # a broadcast: one for everyone


@pytest.mark.parametrize('backend', ['sqlite', 'postgresql'])  # Ming has no rollback
def test_a_rolled_back_write_pushes_nothing(backend, listener):
    env = app(backend)
    alice, bob = env.user('alice'), env.user('bob')
    env.commit()
    listen(listener, bob)
    am.create(alice, 'never mind', recipients=[bob])
    env.clear_session()  # the request failed: rolled back
    assert pushed(listener) == []
