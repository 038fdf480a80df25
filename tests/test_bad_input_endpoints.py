"""Bad input at the HTTP endpoints (and the API under them): a 4xx or a ValueError, never a
500, never a change half made. On every backend."""

import datetime as dt
from xml.etree import ElementTree

import feedparser
import pytest

from activitystream import am, csrf, refs, subscriptions
from hosts import display

SEEN = '/activitystream/ajax_update_last_seen_of_a_recipient'
AWAY_FROM_UTC = ['0001-01-01T00:00:00+14:00', '9999-12-31T23:59:59-12:00']


@pytest.fixture
def site(env):
    """bob has two notifications from alice, one on a document; nothing is seen or read."""
    alice, bob, doc = env.user('alice', 'Alice'), env.user('bob'), env.document('Spec')
    edited = am.create(alice, 'edited', target=doc, recipients=[bob])
    am.create(alice, 'announced')
    env.commit()
    return env, alice, bob, doc, edited


def state(bob, doc):
    """What a refused request must leave as it was."""
    return (
        am.last_seen(bob),
        am.count_not_seen_by_recipient(bob),
        am.count_unread_by_recipient(bob),
        subscriptions.is_subscribed(bob, doc),
    )


def named(entity):
    ref = refs.ref_of(entity, 'entity')
    return {'type': ref.type, 'id': ref.id}


def assert_refused(reply, *words):
    assert reply.content_type == 'application/json'
    for word in words:
        assert word in reply.json['detail']


# -- a target_link or came_from beyond latin-1: percent-encoded, same site --------------------

IRI = '/documents/日本語?q=café&r=€#ü'
URI = '/documents/%E6%97%A5%E6%9C%AC%E8%AA%9E?q=caf%C3%A9&r=%E2%82%AC#%C3%BC'


def test_see_redirects_to_an_iri_as_a_uri(site):
    env, alice, bob, doc, edited = site
    login = env.login(bob)
    got = env.app.get('/activitystream/see', {'target_link': IRI}, extra_environ=login)
    assert got.status_int == 302 and got.headers['Location'] == 'http://localhost' + URI
    posted = env.app.post(
        '/activitystream/see',
        {'target_link': IRI, 'action': str(edited.id), csrf.FIELD: csrf.token_for(bob)},
        extra_environ=login,
    )
    assert posted.status_int == 303 and posted.headers['Location'] == 'http://localhost' + URI
    assert am.count_not_seen_by_recipient(bob) == 0 and am.count_unread_by_recipient(bob) == 1


def test_a_qualified_iri_on_this_site_is_encoded_too(site):
    env, alice, bob, doc, edited = site
    link = 'http://localhost/ü/x y'
    got = env.app.get('/activitystream/see', {'target_link': link}, extra_environ=env.login(bob))
    assert got.headers['Location'] == 'http://localhost/%C3%BC/x%20y'


@pytest.mark.parametrize('path', ['/activitystream/subscribe', '/activitystream/unsubscribe'])
def test_came_from_beyond_latin_1_redirects_encoded(site, path):
    env, alice, bob, doc, edited = site
    fields = dict(named(doc), came_from=IRI, **{csrf.FIELD: csrf.token_for(bob)})
    reply = env.app.post(path, fields, extra_environ=env.login(bob), status=303)
    assert reply.headers['Location'] == 'http://localhost' + URI
    assert subscriptions.is_subscribed(bob, doc) is path.endswith('/subscribe')


# -- a repeated parameter: 400 naming it, nothing changed --------------------------------------

REPEATED = [
    ('get', '/activitystream/notifications.json', 'before', ['a', 'b']),
    ('get', '/activitystream/notifications.json', 'limit', ['1', '2']),
    ('get', '/activitystream/as2/inbox', 'limit', ['1', '2']),
    ('get', '/activitystream/feed.atom', 'before', ['a', 'b']),
    ('get', '/activitystream/see', 'target_link', ['/a', '/b']),
    ('post', SEEN, 'until', ['2026-01-01T00:00:00', '2026-01-02T00:00:00']),
    ('post', '/activitystream/mark_read', 'action', ['1', '2']),
    ('post', '/activitystream/see', 'target_link', ['/a', '/b']),
    ('post', '/activitystream/see', 'action', ['1', '2']),
    ('post', '/activitystream/subscribe', 'type', ['Document', 'Document']),
    ('post', '/activitystream/subscribe', 'id', ['1', '2']),
    ('post', '/activitystream/subscribe', 'came_from', ['/a', '/b']),
    ('post', '/activitystream/unsubscribe', 'came_from', ['/a', '/b']),
]


@pytest.mark.parametrize('method, path, name, values', REPEATED)
def test_a_repeated_parameter_is_400_naming_it(site, method, path, name, values):
    env, alice, bob, doc, edited = site
    if method == 'post':
        subscriptions.subscribe(bob, doc)  # so that unsubscribe would change something
        env.commit()
    before = state(bob, doc)
    params = [(name, v) for v in values]
    if method == 'post':
        params += [(csrf.FIELD, csrf.token_for(bob))] + [
            (k, v) for k, v in named(doc).items() if k != name
        ]
    reply = getattr(env.app, method)(path, params, extra_environ=env.login(bob), status=400)
    assert_refused(reply, name, 'once')
    assert state(bob, doc) == before


@pytest.mark.parametrize(
    'query, name',
    [
        ('actor_type={type}&actor_type={type}&actor_id={id}', 'actor_type'),
        ('actor_type={type}&actor_id={id}&actor_id={id}', 'actor_id'),
        ('actor_type={type}&actor_id={id}&limit=1&limit=2', 'limit'),
    ],
)
def test_the_anonymous_feed_refuses_a_repeated_parameter(site, query, name):
    env, alice, bob, doc, edited = site
    ref = refs.ref_of(alice, 'alice')
    url = '/activitystream/feed.atom?' + query.format(type=ref.type, id=ref.id)
    assert_refused(env.app.get(url, status=400), name, 'once')
    stream = f'/activitystream/as2/actor/{ref.type}/{ref.id}?before=a&before=b'
    assert_refused(env.app.get(stream, status=400), 'before', 'once')


# -- a time that leaves the calendar once converted to UTC ------------------------------------


@pytest.mark.parametrize('until', AWAY_FROM_UTC)
def test_an_until_beyond_the_calendar_is_400(site, until):
    env, alice, bob, doc, edited = site
    reply = env.app.post(
        SEEN,
        {'until': until, csrf.FIELD: csrf.token_for(bob)},
        extra_environ=env.login(bob),
        status=400,
    )
    assert_refused(reply, 'until')
    assert am.last_seen(bob) is None


def aware(text):
    return dt.datetime.fromisoformat(text)


@pytest.mark.parametrize('when', AWAY_FROM_UTC)
def test_the_api_names_a_timestamp_beyond_the_calendar(env, when):
    alice, bob = env.user('alice'), env.user('bob')
    with pytest.raises(ValueError, match='^timestamp is out of range'):
        am.create(alice, 'waved', recipients=[bob], timestamp=aware(when))
    with pytest.raises(ValueError, match=r'^items\[1\].timestamp is out of range'):
        am.create_many(
            [dict(actor=alice, verb='ok'), dict(actor=alice, verb='x', timestamp=aware(when))]
        )
    with pytest.raises(ValueError, match='^until is out of range'):
        am.mark_seen(bob, until=aware(when))
    with pytest.raises(ValueError, match='^timestamp is out of range'):
        subscriptions.emit('hello', send_only_to=[bob], actor=alice, timestamp=aware(when))
    env.commit()
    assert am.get_actions().count() == 0
    assert am.last_seen(bob) is None


# -- subscribing to a class whose key has two columns: 400, not supported ---------------------


def test_a_composite_key_is_400_not_supported(sqla_env):
    env = sqla_env
    bob = env.user('bob')
    membership = env.add(env.model.Membership(team_slug='ops', user_name='bob'))
    env.commit()
    with pytest.raises(ValueError, match='Membership has a composite primary key'):
        refs.find(am.storage, 'Membership', 'ops')
    for path in ('/activitystream/subscribe', '/activitystream/unsubscribe'):
        reply = env.app.post(
            path,
            {'type': 'Membership', 'id': 'ops', csrf.FIELD: csrf.token_for(bob)},
            extra_environ=env.login(bob),
            status=400,
        )
        assert_refused(reply, 'Membership', 'composite primary key', 'not supported')
    with pytest.raises(ValueError, match='composite primary key'):
        subscriptions.subscribers_of(membership)


# -- characters XML 1.0 forbids, in any stored text: the feeds still parse ---------------------

FORBIDDEN = '\x01\x08\x0b\x0c\x1b\ufffe\uffff'


def parses(body):
    ElementTree.fromstring(body)
    feed = feedparser.parse(body)
    assert not feed.bozo, feed.bozo_exception
    return feed


def test_feeds_with_characters_xml_forbids_still_parse(env):
    alice = env.user('alice', f'Al{FORBIDDEN}ice')
    bob, doc = env.user('bob'), env.document(f'Sp{FORBIDDEN}ec')
    am.create(alice, f'po{FORBIDDEN}sted', target=doc, description=f'a{FORBIDDEN}b')
    am.create(alice, 'edited', target=doc, recipients=[bob], description=FORBIDDEN)
    env.commit()
    ref = refs.ref_of(alice, 'alice')
    feeds = [
        env.app.get('/activitystream/feed.atom', extra_environ=env.login(bob)),
        env.app.get(f'/activitystream/feed.atom?actor_type={ref.type}&actor_id={ref.id}'),
        env.app.get(
            f'/activitystream/feed.atom?actor_type={ref.type}&actor_id={ref.id}',
            extra_environ=env.login(alice),
        ),
    ]
    mine, public, own = (parses(f.body) for f in feeds)
    shown = '\ufffd' * len(FORBIDDEN)
    assert [e.title for e in mine.entries] == [
        f'Al{shown}ice edited Sp{shown}ec',
        f'Al{shown}ice po{shown}sted Sp{shown}ec',
    ]
    assert mine.entries[1].summary == f'a{shown}b'
    assert mine.entries[1].author == f'Al{shown}ice'
    assert mine.entries[1].link == f'http://localhost/documents/Sp{shown}ec'
    assert f'po{shown}sted' in [e.title.split()[1] for e in public.entries + own.entries]


def test_a_lone_surrogate_in_a_display_name_is_replaced(env, monkeypatch):
    monkeypatch.setattr(display.DocumentDisplay, 'as_str', property(lambda d: d.title + '\ud800'))
    alice, doc = env.user('alice'), env.document('Spec')
    am.create(alice, 'edited', target=doc)
    env.commit()
    ref = refs.ref_of(alice, 'alice')
    feed = parses(
        env.app.get(f'/activitystream/feed.atom?actor_type={ref.type}&actor_id={ref.id}').body
    )
    assert feed.entries[0].title == 'alice edited Spec\ufffd'


def test_an_actor_id_xml_forbids_still_gives_a_feed(site):
    env = site[0]
    feed = parses(env.app.get('/activitystream/feed.atom?actor_type=User&actor_id=%01%1b').body)
    assert feed.entries == []
