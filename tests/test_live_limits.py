"""Open ``events`` streams are capped per user and per process, so they cannot take the site down.

Each stream holds a server thread; beyond the caps the endpoint answers 429 and
the page polls. A stream's place comes back however it ends: lifetime over,
Redis failure, client gone, closed or garbage-collected unread.
"""

import gc
import http.client
import json
import threading
import time
import urllib.parse
import urllib.request
import uuid
from http.cookiejar import CookieJar

import pytest
import redis
import webob
from webtest.http import StopableWSGIServer

from activitystream import ConfigurationError, am, refs
from activitystream.live_limits import HEARTBEAT, STREAMS, Streams, process_cap

from . import sample_server
from .harness import BACKENDS, build_app
from .test_live import REDIS_URL, read_events
from .test_live import redis_up as redis_up  # noqa: F401 - the fixture, for usefixtures
from .test_plug import plug_into_fresh_config

EVENTS = '/activitystream/events'


def wait_until(condition, seconds=10):
    end = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < end, 'timed out'
        time.sleep(0.05)


@pytest.fixture(autouse=True)
def nothing_left_open():
    """Every test starts and ends with no stream counted in this process."""
    assert STREAMS.total == 0
    yield
    wait_until(lambda: STREAMS.total == 0)


@pytest.mark.parametrize(
    'options, words',
    [
        (dict(events_per_user=0), 'option events_per_user must be a positive integer, got 0'),
        (dict(events_per_user='2'), "option events_per_user must be a positive integer, got '2'"),
        (dict(events_per_user=None), 'option events_per_user must be a positive integer'),
        (dict(events_per_process=0), 'option events_per_process must be a positive integer or'),
        (dict(events_per_process=True), 'option events_per_process must be a positive integer'),
        (dict(events_per_process=2.5), 'option events_per_process must be a positive integer'),
    ],
)
def test_bad_stream_caps_fail_at_plug_time(options, words):
    with pytest.raises(ConfigurationError, match=words):
        plug_into_fresh_config(**options)


def test_caps_per_user_and_in_total():
    streams = Streams()
    first, second = streams.admit('ann', 2, 3), streams.admit('ann', 2, 3)
    assert first and second
    assert streams.admit('ann', 2, 3) is None  # ann's third
    other = streams.admit('ben', 2, 3)
    assert other
    assert streams.admit('cid', 2, 3) is None  # the process is full
    first.close()
    third = streams.admit('cid', 2, 3)
    assert third
    assert (streams.open_for('ann'), streams.open_for('cid'), streams.total) == (1, 1, 3)


def _body(ran):
    try:
        yield b'one'
        yield b'two'
    finally:
        ran.append('finally')


def _failing(ran):
    yield from _body(ran)
    raise RuntimeError('Redis went away')


@pytest.mark.parametrize(
    'ending',
    ['read to the end', 'failed', 'closed', 'closed unread', 'collected', 'collected unread'],
)
def test_a_place_is_given_back_once_however_the_stream_ends(ending):
    streams, ran = Streams(), []
    held = streams.admit('ann', 1, 1)
    held.serve((_failing if ending == 'failed' else _body)(ran))
    assert streams.admit('ann', 1, 1) is None
    if ending == 'read to the end':
        assert list(held) == [b'one', b'two']
    elif ending == 'failed':
        with pytest.raises(RuntimeError):
            list(held)
    elif ending == 'closed':
        next(held)
        held.close()
    elif ending == 'closed unread':
        held.close()
    else:
        if ending == 'collected':
            next(held)
        del held
        gc.collect()
    assert (streams.total, streams.open_for('ann')) == (0, 0)
    assert ran == ([] if ending.endswith('unread') else ['finally'])
    again = streams.admit('ann', 1, 1)
    again.close()
    again.close()  # given back once only
    assert streams.total == 0


def _cap_of(environ, start_response):
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [str(process_cap(None, environ)).encode()]


@pytest.mark.parametrize('threads, cap', [(2, 1), (8, 2), (16, 4)])
def test_the_process_cap_is_a_quarter_of_the_waitress_threads(threads, cap):
    server = StopableWSGIServer.create(_cap_of, threads=threads)
    try:
        assert server.wait()
        with urllib.request.urlopen(server.application_url) as reply:
            assert reply.read() == str(cap).encode()
    finally:
        server.shutdown()
    assert process_cap(None, {}) == 4  # a server that does not tell
    assert process_cap(7, {}) == 7  # the option wins


def live_app(backend, lifetime, **options):
    blueprint = {'activitystream.events_lifetime': str(lifetime)}
    options.setdefault('redis_url', REDIS_URL)
    return build_app(backend, blueprint=blueprint, **options)


def streaming(env, user):
    """Read ``user``'s events in a thread: (thread, the list its reply lands in)."""
    replies = []
    reader = threading.Thread(target=read_events, args=(env, user, replies))
    reader.start()
    return reader, replies


def opened(env, user):
    """``user``'s events as a WSGI server gets them: the body, its first event read."""
    request = webob.Request.blank(EVENTS, environ=env.login(user))
    status, headers, body = request.call_application(env.app.app)
    assert (status, dict(headers)['Content-Type']) == ('200 OK', 'text/event-stream; charset=utf-8')
    assert next(iter(body)).startswith(b'retry: 2000\n\nevent: unseen')
    return body


def refused(reply, lifetime):
    assert reply.status_int == 429
    assert reply.json['detail'] == 'too many open event streams: poll unseen_count.json'
    assert reply.headers['Retry-After'] == str(lifetime)


@pytest.mark.usefixtures('redis_up')
@pytest.mark.parametrize('backend', BACKENDS)
def test_a_third_stream_of_a_user_waits_until_one_ends(backend):
    env = live_app(backend, 2)
    alice, bob = env.user('alice'), env.user('bob')
    am.create(alice, 'hello', recipients=[bob])
    env.commit()
    bob_ref = refs.ref_of(bob, 'user')
    readers = [streaming(env, bob) for _ in range(2)]
    wait_until(lambda: STREAMS.open_for(bob_ref) == 2)
    refused(env.app.get(EVENTS, extra_environ=env.login(bob), status=429), 2)
    readers.append(streaming(env, alice))  # another user still gets one
    for reader, _ in readers:
        reader.join(10)
    for _, [reply] in readers:
        assert reply.content_type == 'text/event-stream'
    assert readers[0][1][0].text.startswith(
        'retry: 2000\n\nevent: unseen\ndata: {"unseen_count": 1}'
    )
    assert STREAMS.total == 0
    opened(env, bob).close()


@pytest.mark.usefixtures('redis_up')
@pytest.mark.parametrize('backend', BACKENDS)
def test_the_process_cap_refuses_any_user(backend):
    env = live_app(backend, 2, events_per_process=1)
    alice, bob = env.user('alice'), env.user('bob')
    env.commit()
    reader, _ = streaming(env, bob)
    wait_until(lambda: STREAMS.total == 1)
    refused(env.app.get(EVENTS, extra_environ=env.login(alice), status=429), 2)
    reader.join(10)
    opened(env, alice).close()


@pytest.mark.usefixtures('redis_up')
@pytest.mark.parametrize('backend', BACKENDS)
@pytest.mark.parametrize('ending', ['closed', 'collected'])
def test_the_place_comes_back_when_the_server_drops_the_body(backend, ending):
    """What a WSGI server does with the body once it started it: close() it, or drop it."""
    env = live_app(backend, 30, events_per_user=1)
    bob = env.user('bob')
    env.commit()
    body = opened(env, bob)
    assert STREAMS.total == 1
    if ending == 'closed':
        body.close()
    del body
    gc.collect()
    assert STREAMS.total == 0


@pytest.mark.parametrize('backend', BACKENDS)
def test_without_redis_nothing_stays_counted(backend):
    env = live_app(backend, 30, events_per_user=1, redis_url='redis://127.0.0.1:1/0')
    bob = env.user('bob')
    env.commit()
    for _ in range(3):  # 204, not 429: the refused stream gave its place back
        env.app.get(EVENTS, extra_environ=env.login(bob), status=204)
    assert STREAMS.total == 0


def _kill_pubsub_of(client_name):
    admin = redis.Redis.from_url(REDIS_URL)
    [client] = [c for c in admin.client_list(_type='pubsub') if c['name'] == client_name]
    admin.client_kill_filter(_id=client['id'])


@pytest.mark.usefixtures('redis_up')
@pytest.mark.parametrize('backend', BACKENDS)
def test_the_place_comes_back_when_redis_fails(backend):
    name = f'as-limits-{uuid.uuid4().hex}'  # this test's connections only
    env = live_app(backend, 30, redis_url=f'{REDIS_URL}?client_name={name}')
    bob = env.user('bob')
    env.commit()
    started = time.monotonic()
    reader, replies = streaming(env, bob)
    wait_until(lambda: STREAMS.total == 1)
    time.sleep(0.2)  # the stream is waiting for Redis
    _kill_pubsub_of(name)
    reader.join(10)
    assert time.monotonic() - started < 10  # long before its lifetime of 30 s
    assert replies[0].text.startswith('retry: 2000\n\nevent: unseen')
    assert STREAMS.total == 0


@pytest.mark.usefixtures('redis_up')
@pytest.mark.parametrize('backend', BACKENDS)
def test_the_place_comes_back_when_the_client_goes_away(backend):
    """Waitress closes the body at the first failed write: the pings find a closed tab out."""
    env = live_app(backend, 30, events_per_user=1)
    env.user('bob')
    env.commit()

    def as_bob(environ, start_response):
        return env.app.app(dict(environ, REMOTE_USER='bob'), start_response)

    server = StopableWSGIServer.create(as_bob, threads=4)
    try:
        assert server.wait()
        url = urllib.parse.urlsplit(server.application_url)
        client = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
        client.request('GET', EVENTS)
        reply = client.getresponse()
        assert reply.status == 200
        assert reply.readline() == b'retry: 2000\n'
        reply.close()  # the socket closes with its last user
        client.close()
        left = time.monotonic()
        assert STREAMS.total == 1
        wait_until(lambda: STREAMS.total == 0)
        assert time.monotonic() - left < 5 * HEARTBEAT  # not the stream's lifetime of 30 s
    finally:
        server.shutdown()


def log_in(site, user_name):
    """The Cookie header of ``user_name`` logged in through the sample app's login form."""
    jar = CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    form = urllib.parse.urlencode({'login': user_name, 'password': 'demo'}).encode()
    opener.open(f'{site}/login_handler?came_from=/&__logins=0', form).read()
    assert any(cookie.name == 'authtkt' for cookie in jar)
    return '; '.join(f'{cookie.name}={cookie.value}' for cookie in jar)


def open_events(site, cookie, held):
    """An events request, its connection left open in ``held``: the reply, body unread."""
    url = urllib.parse.urlsplit(site)
    client = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    held.append(client)
    client.request('GET', EVENTS, headers={'Cookie': cookie, 'Accept': 'text/event-stream'})
    return client.getresponse()


@pytest.fixture(scope='module')
def served(tmp_path_factory):
    """The sample app under ``gearbox serve`` (waitress, 16 threads), short-lived streams."""
    with sample_server.serve(
        tmp_path_factory.mktemp('limits'), **{'activitystream.events_lifetime': 6}
    ) as url:
        yield url


def test_sixteen_streams_of_one_user_no_longer_block_the_site(served):
    """Reported: 16 open tabs of one user made GET / wait 23 s on waitress with 16 threads."""
    alice, bob, carol = (log_in(served, name) for name in ('alice', 'bob', 'carol'))
    held = []
    try:
        statuses = [open_events(served, alice, held).status for _ in range(16)]
        started = time.monotonic()
        request = urllib.request.Request(f'{served}/', headers={'Cookie': alice})
        with urllib.request.urlopen(request, timeout=30) as page:
            assert b'activitystream-menu' in page.read()
        assert time.monotonic() - started < 2  # streams last 6 s: nothing waited for them
        assert statuses == [200, 200] + [429] * 14  # events_per_user = 2

        assert [open_events(served, bob, held).status for _ in range(2)] == [200, 200]
        reply = open_events(served, carol, held)
        assert reply.status == 429  # 4 in the process: a quarter of waitress's 16 threads
        assert reply.getheader('Content-Type').startswith('application/json')
        assert json.loads(reply.read())['detail'].startswith('too many open event streams')
        assert reply.getheader('Retry-After') == '6'
    finally:
        for client in held:
            client.close()
