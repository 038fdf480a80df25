"""The HTTP endpoints, through a real TG app, on every backend."""

import datetime as dt

import feedparser
import pytest

from activitystream import am, csrf
from activitystream.formats import iso
from activitystream.refs import ref_of
from activitystream.timeutil import utcnow
from tests.clock import recent

T0 = recent()


def at(minutes):
    return T0 + dt.timedelta(minutes=minutes)


@pytest.fixture
def site(env):
    """bob has 3 notifications (one a broadcast); carol has one of her own."""
    alice, bob, carol = env.user('alice', 'Alice'), env.user('bob'), env.user('carol')
    doc = env.document('Spec')
    actions = am.create_many(
        [
            dict(actor=alice, verb='edited', target=doc, recipients=[bob], timestamp=at(0)),
            dict(actor=alice, verb='announced', description='<b>big</b>', timestamp=at(1)),
            dict(actor=carol, verb='liked', target=doc, recipients=[bob], timestamp=at(2)),
            dict(actor=alice, verb='pinged', recipients=[carol], timestamp=at(3)),
        ]
    )
    env.commit()
    return env, dict(alice=alice, bob=bob, carol=carol, doc=doc), actions


def as_(env, user):
    return env.login(user)


def token(user):
    return csrf.token_for(user)


ENDPOINTS = [
    ('get', '/activitystream/'),
    ('get', '/activitystream/notifications.json'),
    ('get', '/activitystream/unseen_count.json'),
    ('get', '/activitystream/see?target_link=/x'),
    ('post', '/activitystream/ajax_update_last_seen_of_a_recipient'),
    ('post', '/activitystream/mark_read'),
    ('get', '/activitystream/as2/inbox'),
    ('get', '/activitystream/feed.atom'),
]


@pytest.mark.parametrize('method, url', ENDPOINTS)
def test_anonymous_users_get_401(site, method, url):
    env, users, _ = site
    getattr(env.app, method)(url, status=401)


def test_notifications_json(site):
    env, users, actions = site
    reply = env.app.get('/activitystream/notifications.json', extra_environ=as_(env, users['bob']))
    body = reply.json
    assert [i['verb'] for i in body['items']] == ['liked', 'announced', 'edited']
    first = body['items'][0]
    assert first['actor'] == 'carol' and first['target'] == 'Spec'
    assert first['link'] == '/documents/Spec'
    assert first['timestamp'] == iso(at(2))
    assert first['seen'] is False and first['read'] is False
    assert body['items'][1]['description'] == '<b>big</b>'  # data, escaped by whoever renders it
    assert body['unseen_count'] == 3 and body['unread_count'] == 3
    assert body['next'] is None
    assert csrf.is_valid(users['bob'], body['csrf_token'])


def test_notifications_json_pages_by_cursor(site):
    env, users, _ = site
    login = as_(env, users['bob'])
    first = env.app.get('/activitystream/notifications.json?limit=2', extra_environ=login).json
    assert [i['verb'] for i in first['items']] == ['liked', 'announced']
    url = f'/activitystream/notifications.json?limit=2&before={first["next"]}'
    second = env.app.get(url, extra_environ=login).json
    assert [i['verb'] for i in second['items']] == ['edited']
    assert second['next'] is None


@pytest.mark.parametrize(
    'query, words',
    [
        ('limit=ten', 'limit must be an integer'),
        ('limit=0', 'limit must be between 1 and 100'),
        ('limit=101', 'limit must be between 1 and 100'),
        ('limit=-5', 'limit must be between 1 and 100'),
        ('before=garbage', 'before is not a cursor'),
        ('before=' + 'A' * 40, 'before is not a cursor'),
    ],
)
def test_bad_parameters_are_400_with_a_json_body(site, query, words):
    env, users, _ = site
    for path in ('notifications.json', 'as2/inbox', 'feed.atom'):
        reply = env.app.get(
            f'/activitystream/{path}?{query}', extra_environ=as_(env, users['bob']), status=400
        )
        assert reply.content_type == 'application/json'
        assert words in reply.json['detail']


def test_unseen_count_answers_304_while_unchanged(site):
    env, users, _ = site
    login = as_(env, users['bob'])
    first = env.app.get('/activitystream/unseen_count.json', extra_environ=login)
    assert first.json == {'unseen_count': 3}
    etag = first.headers['ETag']
    again = env.app.get(
        '/activitystream/unseen_count.json',
        headers={'If-None-Match': etag},
        extra_environ=login,
        status=304,
    )
    assert again.body == b''
    am.create(users['alice'], 'waved', recipients=[users['bob']])
    env.commit()
    changed = env.app.get(
        '/activitystream/unseen_count.json', headers={'If-None-Match': etag}, extra_environ=login
    )
    assert changed.json == {'unseen_count': 4}
    other = env.app.get('/activitystream/unseen_count.json', extra_environ=as_(env, users['carol']))
    assert other.headers['ETag'] != etag


def test_update_last_seen(site):
    env, users, _ = site
    bob = users['bob']
    url = '/activitystream/ajax_update_last_seen_of_a_recipient'
    reply = env.app.post(
        url,
        {'until': iso(at(1))},
        headers={csrf.HEADER: token(bob)},
        extra_environ=as_(env, bob),
    )
    assert reply.json == {'last_activity_seen': None}
    assert am.count_not_seen_by_recipient(bob) == 1  # 'liked' came after what the page showed
    again = env.app.post(
        url, {csrf.FIELD: token(bob)}, extra_environ=as_(env, bob)
    )  # the form field works too; no until: now
    assert again.json == {'last_activity_seen': iso(at(1))}
    assert am.count_not_seen_by_recipient(bob) == 0


def test_last_seen_never_moves_back(site):
    env, users, _ = site
    bob = users['bob']
    am.mark_seen(bob, until=at(2))
    env.commit()
    env.app.post(
        '/activitystream/ajax_update_last_seen_of_a_recipient',
        {'until': iso(at(0)), csrf.FIELD: token(bob)},
        extra_environ=as_(env, bob),
    )
    assert am.last_seen(bob) == at(2)


def test_the_seed_type_and_id_may_only_name_yourself(site):
    env, users, _ = site
    bob, carol = users['bob'], users['carol']
    url = '/activitystream/ajax_update_last_seen_of_a_recipient'
    carol_ref = ref_of(carol, 'carol')
    env.app.post(
        url,
        {'_type': carol_ref.type, '_id': carol_ref.id, csrf.FIELD: token(bob)},
        extra_environ=as_(env, bob),
        status=403,
    )
    assert am.last_seen(carol) is None and am.last_seen(bob) is None
    bob_ref = am.get_by_recipient(bob).first().recipients[0]

    own = ref_of(bob_ref, 'bob')
    env.app.post(
        url,
        {'_type': own.type, '_id': own.id, csrf.FIELD: token(bob)},
        extra_environ=as_(env, bob),
    )
    assert am.last_seen(bob) is not None


@pytest.mark.parametrize('until', ['yesterday', '2026-13-01T00:00:00', '12'])
def test_a_bad_until_is_400_and_changes_nothing(site, until):
    env, users, _ = site
    bob = users['bob']
    env.app.post(
        '/activitystream/ajax_update_last_seen_of_a_recipient',
        {'until': until, csrf.FIELD: token(bob)},
        extra_environ=as_(env, bob),
        status=400,
    )
    assert am.last_seen(bob) is None


@pytest.mark.parametrize(
    'url',
    [
        '/activitystream/ajax_update_last_seen_of_a_recipient',
        '/activitystream/mark_read',
    ],
)
def test_state_changes_need_post_and_the_users_own_token(site, url):
    env, users, _ = site
    bob, carol = users['bob'], users['carol']
    env.app.get(url, extra_environ=as_(env, bob), status=405)
    env.app.post(url, extra_environ=as_(env, bob), status=403)  # no token
    env.app.post(url, {csrf.FIELD: 'x.y'}, extra_environ=as_(env, bob), status=403)
    env.app.post(url, {csrf.FIELD: token(carol)}, extra_environ=as_(env, bob), status=403)
    stale = csrf.token_for(bob, now=utcnow().timestamp() - 2 * csrf.MAX_AGE)
    env.app.post(url, {csrf.FIELD: stale}, extra_environ=as_(env, bob), status=403)
    assert am.last_seen(bob) is None
    assert am.count_unread_by_recipient(bob) == 3


def test_mark_read(site):
    env, users, actions = site
    bob = users['bob']
    edited, announced, liked, pinged = actions
    login = as_(env, bob)
    url = '/activitystream/mark_read'
    one = env.app.post(url, {'action': str(liked.id), csrf.FIELD: token(bob)}, extra_environ=login)
    assert (one.json['changed'], one.json['unread_count']) == (1, 2)
    theirs = env.app.post(
        url, {'action': str(pinged.id), csrf.FIELD: token(bob)}, extra_environ=login
    )
    assert (theirs.json['changed'], theirs.json['unread_count']) == (0, 2)  # carol's: untouched
    assert am.count_unread_by_recipient(users['carol']) == 2
    env.app.post(url, {'action': 'nope', csrf.FIELD: token(bob)}, extra_environ=login, status=400)
    every = env.app.post(url, {csrf.FIELD: token(bob)}, extra_environ=login)
    assert (every.json['changed'], every.json['unread_count']) == (2, 0)
    assert 'unseen_count' in every.json


def test_see_redirects_on_the_same_site(site):
    env, users, actions = site
    bob = users['bob']
    login = as_(env, bob)
    for link in ('/documents/Spec', 'documents/Spec?x=1#top', 'http://localhost/documents/Spec'):
        reply = env.app.get('/activitystream/see', {'target_link': link}, extra_environ=login)
        assert reply.status_int == 302
        assert reply.headers['Location'].endswith(link.split('localhost')[-1].lstrip('/'))
    assert am.last_seen(bob) is None  # a GET from no page of ours changes nothing
    liked = actions[2]
    posted = env.app.post(
        '/activitystream/see',
        {'target_link': '/documents/Spec', 'action': str(liked.id), csrf.FIELD: token(bob)},
        extra_environ=login,
    )
    assert posted.status_int == 303
    assert posted.headers['Location'] == 'http://localhost/documents/Spec'
    assert am.count_not_seen_by_recipient(bob) == 0
    assert am.count_unread_by_recipient(bob) == 2


@pytest.mark.parametrize(
    'link',
    [
        'http://evil.example/x',
        'https://evil.example',
        '//evil.example/x',
        '///evil.example',
        '\\\\evil.example',
        '/\\evil.example',
        'javascript:alert(1)',
        'JavaScript:alert(1)',
        'data:text/html,<script>alert(1)</script>',
        'http://localhost@evil.example/',
        'ftp://localhost/x',
        'http://localhost:99999/x',
        'http://[::1/x',
        'https://localhost/x',
        '/ok\r\nSet-Cookie: stolen=1',
        '/ok\n',
        ' /ok',
        '',
    ],
)
def test_see_refuses_other_sites(site, link):
    env, users, actions = site
    bob = users['bob']
    reply = env.app.get(
        '/activitystream/see', {'target_link': link}, extra_environ=as_(env, bob), status=400
    )
    assert 'target_link' in reply.json['detail']
    env.app.post(
        '/activitystream/see',
        {'target_link': link, csrf.FIELD: token(bob)},
        extra_environ=as_(env, bob),
        status=400,
    )
    assert am.last_seen(bob) is None


def test_see_post_needs_a_token(site):
    env, users, _ = site
    bob = users['bob']
    env.app.post(
        '/activitystream/see', {'target_link': '/x'}, extra_environ=as_(env, bob), status=403
    )
    assert am.last_seen(bob) is None


AS2_ACTIVITY_TYPES = {
    'Accept', 'Add', 'Announce', 'Arrive', 'Block', 'Create', 'Delete', 'Dislike', 'Flag',
    'Follow', 'Ignore', 'Invite', 'Join', 'Leave', 'Like', 'Listen', 'Move', 'Offer',
    'Question', 'Reject', 'Read', 'Remove', 'TentativeReject', 'TentativeAccept', 'Travel',
    'Undo', 'Update', 'View', 'Activity',
}  # fmt: skip


def check_as2_page(page):
    """The parts of the W3C vocabulary we emit, as the spec names them."""
    assert page['@context'] == 'https://www.w3.org/ns/activitystreams'
    assert page['type'] == 'OrderedCollectionPage'
    assert page['partOf'].startswith('http://localhost/activitystream/as2/')
    for item in page['orderedItems']:
        assert item['type'] in AS2_ACTIVITY_TYPES
        assert set(item) <= {
            'id', 'type', 'name', 'summary', 'actor', 'object', 'target', 'published', 'to',
            'content',
        }  # fmt: skip
        assert item['published'].endswith('Z')
        for key in ('actor', 'object', 'target'):
            if key in item:
                assert item[key]['type'] in {'Object', 'Person', 'Tombstone'}
                assert item[key]['id'].startswith(('http://localhost/', 'urn:activitystream:'))


def test_as2_inbox(site):
    env, users, _ = site
    login = as_(env, users['bob'])
    reply = env.app.get('/activitystream/as2/inbox?limit=2', extra_environ=login)
    assert reply.content_type == 'application/activity+json'
    page = reply.json
    check_as2_page(page)
    assert [i['type'] for i in page['orderedItems']] == ['Like', 'Announce']
    like = page['orderedItems'][0]
    assert like['actor']['name'] == 'carol'
    assert like['target'] == {
        'type': 'Object',
        'id': 'http://localhost/documents/Spec',
        'name': 'Spec',
    }
    assert page['orderedItems'][1]['to'] == ['https://www.w3.org/ns/activitystreams#Public']
    assert 'prev' not in page  # the first page is the newest
    nxt = env.app.get(page['next'], extra_environ=login).json
    check_as2_page(nxt)
    assert nxt['prev'] == 'http://localhost/activitystream/as2/inbox'
    assert nxt['id'].startswith('http://localhost/activitystream/as2/inbox?before=')
    assert [i['name'] for i in nxt['orderedItems']] == ['edited']
    assert 'next' not in nxt


def test_as2_actor_stream(site):
    env, users, _ = site
    ref = ref_of(users['alice'], 'alice')
    page = env.app.get(f'/activitystream/as2/actor/{ref.type}/{ref.id}').json
    check_as2_page(page)
    # 'pinged' (to carol) and 'edited' (to bob) are private: not for anonymous readers
    assert [i['name'] for i in page['orderedItems']] == ['announced']
    assert page['orderedItems'][0]['to'] == ['https://www.w3.org/ns/activitystreams#Public']
    as_bob = env.app.get(
        f'/activitystream/as2/actor/{ref.type}/{ref.id}', extra_environ=as_(env, users['bob'])
    )
    assert [i['name'] for i in as_bob.json['orderedItems']] == ['announced', 'edited']
    assert 'to' not in as_bob.json['orderedItems'][1]  # who received it is not disclosed
    env.app.get('/activitystream/as2/actor/Not-A-Class/1', status=400)
    env.app.get(f'/activitystream/as2/actor/{ref.type}/{"9" * 200}', status=400)
    empty = env.app.get('/activitystream/as2/actor/User/nobody').json
    assert empty['orderedItems'] == []


def test_atom_feeds_parse(site):
    env, users, _ = site
    reply = env.app.get('/activitystream/feed.atom', extra_environ=as_(env, users['bob']))
    assert reply.content_type == 'application/atom+xml'
    feed = feedparser.parse(reply.body)
    assert not feed.bozo, feed.bozo_exception
    assert [e.title for e in feed.entries] == [
        'carol liked Spec',
        'Alice announced',
        'Alice edited Spec',
    ]
    assert feed.entries[1].summary == '<b>big</b>'  # escaped in the XML, text for the reader
    assert b'&lt;b&gt;big&lt;/b&gt;' in reply.body
    assert feed.entries[0].link == 'http://localhost/documents/Spec'
    ref = ref_of(users['alice'], 'alice')
    public = env.app.get(f'/activitystream/feed.atom?actor_type={ref.type}&actor_id={ref.id}')
    parsed = feedparser.parse(public.body)
    assert not parsed.bozo and [e.title for e in parsed.entries] == ['Alice announced']
