"""Live badges: an events stream gets the new unseen count when it changes, across processes.

The stream and the writes talk through the real Redis; a site without Redis
answers 204 so the page polls unseen_count.json instead.
"""

import threading
import time
import uuid

import pytest
import redis

from activitystream import am

from .harness import IN_CI, _unavailable, build_app

REDIS_URL = 'redis://127.0.0.1:6379/0'


@pytest.fixture(scope='module')
def redis_up():
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError as exc:
        _unavailable('Redis', exc)
    return IN_CI


def read_events(env, user, into):
    reply = env.app.get('/activitystream/events', extra_environ=env.login(user))
    into.append(reply)


@pytest.mark.parametrize('backend', ['sqlite', 'ming'])
def test_the_stream_pushes_new_counts(backend, redis_up):
    env = build_app(
        backend,
        blueprint={'activitystream.events_lifetime': '3'},
        redis_url=REDIS_URL,
        redis_prefix=f'activitystream-test-{uuid.uuid4().hex}',  # alone on the shared Redis
    )
    alice, bob = env.user('alice'), env.user('bob')
    am.create(alice, 'first', recipients=[bob])
    env.commit()
    replies = []
    reader = threading.Thread(target=read_events, args=(env, bob, replies))
    reader.start()
    time.sleep(1)
    am.create(alice, 'second', recipients=[bob])
    env.commit()
    time.sleep(0.5)
    am.create(alice, 'for everyone')
    env.commit()
    time.sleep(0.5)
    am.mark_seen(bob)
    env.commit()
    reader.join(10)
    reply = replies[0]
    assert reply.content_type == 'text/event-stream'
    counts = [line for line in reply.text.splitlines() if line.startswith('data:')]
    assert counts == [
        'data: {"unseen_count": 1}',
        'data: {"unseen_count": 2}',
        'data: {"unseen_count": 3}',
        'data: {"unseen_count": 0}',
    ]


def test_without_redis_the_page_polls():
    env = build_app('sqlite', redis_url='redis://127.0.0.1:1/0')  # nothing listens there
    alice, bob = env.user('alice'), env.user('bob')
    am.create(alice, 'hello', recipients=[bob])
    env.commit()  # the failed push does not fail the write
    reply = env.app.get('/activitystream/events', extra_environ=env.login(bob))
    assert reply.status_int == 204
    assert env.app.get('/activitystream/unseen_count.json', extra_environ=env.login(bob)).json == {
        'unseen_count': 1
    }


def test_events_need_a_login():
    env = build_app('sqlite')
    env.app.get('/activitystream/events', status=401)


@pytest.mark.parametrize('backend', ['sqlite', 'ming'])
def test_a_push_that_leaves_the_count_as_it_was_sends_no_event(backend, redis_up):
    env = build_app(
        backend,
        blueprint={'activitystream.events_lifetime': '3'},
        redis_url=REDIS_URL,
        redis_prefix=f'activitystream-test-{uuid.uuid4().hex}',
    )
    alice, bob = env.user('alice'), env.user('bob')
    env.commit()
    replies = []
    reader = threading.Thread(target=read_events, args=(env, alice, replies))
    reader.start()
    time.sleep(1)
    am.create(alice, 'announced')  # her own broadcast: pushed to everyone, not counted for her
    env.commit()
    time.sleep(0.5)
    am.create(bob, 'wrote', recipients=[alice])
    env.commit()
    reader.join(10)
    counts = [line for line in replies[0].text.splitlines() if line.startswith('data:')]
    assert counts == ['data: {"unseen_count": 0}', 'data: {"unseen_count": 1}']
