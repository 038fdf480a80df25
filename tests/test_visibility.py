"""Private stays private: targeted actions are not in public streams, on every backend."""

import feedparser
import pytest

from activitystream import ConfigurationError, am
from activitystream.refs import ref_of

from .harness import build_app


@pytest.fixture
def secret(env):
    """alice sent bob a private message and made a public post."""
    alice, bob, carol = env.user('alice', 'Alice'), env.user('bob'), env.user('carol')
    doc = env.document('Plan')
    am.create(alice, 'sent you a message', target=bob, description='SECRET', recipients=[bob])
    am.create(alice, 'posted', target=doc, description='hello world')
    env.commit()
    return env, alice, bob, carol


def actor_urls(alice):
    ref = ref_of(alice, 'alice')
    return (
        f'/activitystream/as2/actor/{ref.type}/{ref.id}',
        f'/activitystream/feed.atom?actor_type={ref.type}&actor_id={ref.id}',
    )


def test_anonymous_actor_streams_hide_targeted_actions(secret):
    env, alice, bob, carol = secret
    for url in actor_urls(alice):
        body = env.app.get(url).text
        assert 'hello world' in body
        assert 'SECRET' not in body and 'sent you a message' not in body


def test_the_actor_and_the_recipients_see_them_others_do_not(secret):
    env, alice, bob, carol = secret
    as2, atom = actor_urls(alice)
    for user, sees in ((alice, True), (bob, True), (carol, False)):
        page = env.app.get(as2, extra_environ=env.login(user)).json
        names = [item['name'] for item in page['orderedItems']]
        assert names == (['posted', 'sent you a message'] if sees else ['posted']), user
        feed = feedparser.parse(env.app.get(atom, extra_environ=env.login(user)).body)
        assert ('SECRET' in [e.get('summary') for e in feed.entries]) is sees


def test_get_actions_shows_public_ones_unless_told_who_reads(secret):
    env, alice, bob, carol = secret
    verbs = lambda q: [a.verb for a in q]  # noqa: E731
    assert verbs(am.get_actions(actor=alice)) == ['posted']
    assert verbs(am.get_actions(actor=alice, viewer=bob)) == ['posted', 'sent you a message']
    assert verbs(am.get_actions(actor=alice, viewer=alice)) == ['posted', 'sent you a message']
    assert verbs(am.get_actions(actor=alice, viewer=carol)) == ['posted']
    assert verbs(am.get_actions(target=bob)) == []
    assert am.get_actions(target=bob, viewer=bob).count() == 1
    assert am.get_actions(actor=alice, viewer=carol).count() == 1
    assert am.get_actions(actor=alice, everything=True).count() == 2
    post, message = am.get_by_recipient(bob).all()  # the inbox is unchanged
    assert (post.public, message.public, message.description) == (True, False, 'SECRET')


def test_public_says_otherwise(env):
    alice, bob = env.user('alice'), env.user('bob')
    am.create(alice, 'congratulated', target=bob, recipients=[bob], public=True)
    am.create(alice, 'told the staff', public=False)  # a broadcast kept out of public streams
    assert [a.verb for a in am.get_actions(actor=alice)] == ['congratulated']
    assert [a.verb for a in am.get_by_recipient(bob)] == ['told the staff', 'congratulated']
    assert [(a.verb, a.public, a.broadcast) for a in am.get_actions(everything=True)] == [
        ('told the staff', False, True),
        ('congratulated', True, False),
    ]
    with pytest.raises(TypeError, match='public must be True, False or None'):
        am.create(alice, 'x', public='yes')
    with pytest.raises(TypeError, match=r'items\[0\]\.public must be'):
        am.create_many([dict(actor=alice, verb='x', public=1)])
    with pytest.raises(TypeError, match='everything must be True or False'):
        am.get_actions(everything='yes')
    assert am.get_actions(everything=True).count() == 2


def test_a_viewer_pages_through_many_private_actions_of_others(env):
    """Pages of a viewer skip what it may not see, across the backends' check batches."""
    alice, bob, carol = env.user('alice'), env.user('bob'), env.user('carol')
    items = []
    for i in range(260):
        to = [None, [bob], [carol], [carol]][i % 4]
        items.append(dict(actor=alice, verb=f'v{i}', recipients=to))
    am.create_many(items)
    expected = [f'v{i}' for i in reversed(range(260)) if i % 4 in (0, 1)]
    query = am.get_actions(actor=alice, viewer=bob)
    assert query.count() == len(expected) == 130
    seen, page = [], query.limit(17).all()
    while page:
        seen += [a.verb for a in page]
        page = query.limit(17).before(page[-1].cursor).all()
    assert seen == expected
    assert [a.verb for a in query.offset(100).limit(5)] == expected[100:105]


def test_anonymous_streams_can_be_switched_off(env):
    env = build_app(env.backend, anonymous_streams=False)
    alice = env.user('alice')
    am.create(alice, 'posted')
    env.commit()
    for url in actor_urls(alice):
        reply = env.app.get(url, status=401)
        assert reply.json['detail'] == 'log in to read activity streams'
        env.app.get(url, extra_environ=env.login(alice), status=200)


def only_staff(identity, entity):
    """A host rule: staff read every stream in full, others only their own, no one else's."""
    user = identity and identity['user']
    if user is None:
        return False
    if user.user_name == 'staff':
        return 'everything'
    return getattr(entity, 'user_name', None) == user.user_name


def test_stream_access_decides_per_reader(env):
    env = build_app(env.backend, stream_access='tests.test_visibility.only_staff')
    alice, bob, staff = env.user('alice'), env.user('bob'), env.user('staff')
    am.create(alice, 'whispered', recipients=[env.user('carol')])
    am.create(alice, 'posted')
    env.commit()
    as2, atom = actor_urls(alice)
    env.app.get(as2, status=401)
    assert env.app.get(atom, extra_environ=env.login(bob), status=403).json['detail'] == (
        'you may not read this activity stream'
    )
    own = env.app.get(as2, extra_environ=env.login(alice)).json
    assert [i['name'] for i in own['orderedItems']] == ['posted', 'whispered']
    full = env.app.get(as2, extra_environ=env.login(staff)).json
    assert [i['name'] for i in full['orderedItems']] == ['posted', 'whispered']


def test_stream_access_is_checked_at_plug_time(env):
    with pytest.raises(ConfigurationError, match='stream_access'):
        build_app(env.backend, stream_access='tests.test_visibility.nothing_here')
    with pytest.raises(ConfigurationError, match='stream_access must be a callable'):
        build_app(env.backend, stream_access=42)
    with pytest.raises(ConfigurationError, match='anonymous_streams must be True or False'):
        build_app(env.backend, anonymous_streams='no')


@pytest.mark.parametrize('backend', ['sqlite', 'postgresql'])  # composite keys: SQL only
def test_stream_access_on_a_class_no_reference_can_name_is_a_400(backend):
    env = build_app(backend, stream_access='tests.test_visibility.only_staff')
    reply = env.app.get('/activitystream/as2/actor/Membership/1', status=400)
    assert 'composite primary key' in reply.json['detail']
