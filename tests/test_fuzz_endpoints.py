"""Fuzzed requests at the JSON endpoints (and the Atom feed), on every backend.

Whatever the parameters (repeated, unknown, huge numbers, text beyond
latin-1, control characters, times off the calendar): never a 5xx; a 4xx
is JSON naming the problem and has changed nothing; a redirect stays on
this site; a feed parses. The seed is fixed and the budget small, so the
suite stays fast and every run tries the same requests.
"""

from datetime import datetime, timedelta, timezone
from urllib.parse import quote, urlencode
from xml.etree import ElementTree

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from activitystream import am, csrf, refs, subscriptions

ROOT = '/activitystream/'
PAGE = ('limit', 'before')
ENDPOINTS = [  # (method, path, parameters it reads); {type}/{id}: path segments, fuzzed too
    ('GET', 'notifications.json', PAGE),
    ('GET', 'unseen_count.json', ()),
    ('POST', 'ajax_update_last_seen_of_a_recipient', ('_type', '_id', 'until')),
    ('POST', 'mark_read', ('action',)),
    ('GET', 'see', ('target_link', 'action')),
    ('POST', 'see', ('target_link', 'action')),
    ('POST', 'subscribe', ('type', 'id', 'came_from')),
    ('POST', 'unsubscribe', ('type', 'id', 'came_from')),
    ('GET', 'as2/inbox', PAGE),
    ('GET', 'as2/actor/{type}/{id}', PAGE),
    ('GET', 'feed.atom', PAGE + ('actor_type', 'actor_id')),
]
OTHER_NAMES = ('x', 'self', 'kw', csrf.FIELD)

TEXT = st.text(st.characters(blacklist_categories=('Cs',)), max_size=30)  # all UTF-8 carries
CONTROLS = st.text(st.sampled_from('\x00\x01\x08\x0b\x0c\x1b\x7f\x85\u2028\ufffe\uffff\r\n\t '))
NUMBERS = st.integers(-(2**80), 2**80).map(str)
OFFSETS = st.integers(-(24 * 60 - 1), 24 * 60 - 1).map(lambda m: timezone(timedelta(minutes=m)))
TIMES = st.builds(
    lambda when, zone: when.replace(tzinfo=zone).isoformat(),
    st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59)),
    st.none() | OFFSETS,
)
LINKS = st.sampled_from(
    ['/', '/documents/Spec', 'http://localhost/ü x', '//evil.example', 'http://evil.example/']
) | TEXT.map(lambda t: '/' + t)


@pytest.fixture
def site(env):
    """bob has a notification on a document and a broadcast, from alice."""
    alice, bob, doc = env.user('alice', 'Alice'), env.user('bob'), env.document('Spec')
    actions = [am.create(alice, 'edited', target=doc, recipients=[bob]), am.create(alice, 'hi')]
    env.commit()
    known = [str(a.id) for a in actions] + [a.cursor for a in actions]
    for entity in (alice, bob, doc):
        ref = refs.ref_of(entity, 'entity')
        known += [ref.type, ref.id]
    return env, bob, (alice, doc), known


def state(bob, followed):
    """What a refused request must leave as it was."""
    return (
        am.last_seen(bob),
        am.count_not_seen_by_recipient(bob),
        am.count_unread_by_recipient(bob),
        [subscriptions.is_subscribed(bob, entity) for entity in followed],
    )


def segment(text):
    """``text`` as one path segment: TG decodes %2F into a new segment, and more segments
    than the endpoint takes are TG's own 404, not ours."""
    text = text.replace('/', '')
    return quote(text, safe='') if text not in ('', '.', '..') else 'x'


def request(env, bob, data, known):
    """Draw one request, send it and return the reply."""
    method, path, names = data.draw(st.sampled_from(ENDPOINTS), label='endpoint')
    usable = st.sampled_from(known)  # ids, cursors, class names: twice as likely, to get far
    values = st.one_of(usable, usable, LINKS, TEXT, CONTROLS, NUMBERS, TIMES)
    name = st.sampled_from(names * 3 + OTHER_NAMES)
    params = list(data.draw(st.dictionaries(name, values, max_size=4), label='params').items())
    if params and data.draw(st.integers(0, 3), label='repeat') == 0:
        params.append((params[0][0], data.draw(values, label='repeated')))
    if '{type}' in path:
        type_, id_ = (data.draw(values, label=part) for part in ('type', 'id'))
        path = path.format(type=segment(type_), id=segment(id_))
    login = env.login(bob) if data.draw(st.integers(0, 4), label='login') else {}
    if method == 'GET':
        query = urlencode(params)
        return env.app.get(ROOT + path + (query and '?' + query), extra_environ=login, status='*')
    params = [(csrf.FIELD, csrf.token_for(bob)), *params]
    return env.app.post(ROOT + path, params, extra_environ=login, status='*')


@settings(
    max_examples=60,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_fuzzed_requests_never_fail_the_server(site, data):
    env, bob, followed, known = site
    before = state(bob, followed)
    reply = request(env, bob, data, known)
    assert reply.status_int < 500, reply.text
    if reply.status_int >= 400:
        assert reply.content_type == 'application/json', reply.text
        assert isinstance(reply.json['detail'], str) and reply.json['detail']
        assert state(bob, followed) == before
    elif reply.status_int in (302, 303):
        location = reply.headers['Location']
        assert location.isascii() and location.startswith('http://localhost/'), location
    elif reply.content_type == 'application/atom+xml':
        ElementTree.fromstring(reply.body)
