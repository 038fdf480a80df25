"""``GET see?target_link=...``, as 0.1.1 templates link it: marks seen on the user's own clicks.

A browser says where a navigation comes from in ``Sec-Fetch-Site`` (which no
page can forge) or, older ones, in ``Referer``: only a navigation from this
site (or the address bar) marks seen; any other GET only redirects.
"""

import pytest

from activitystream import am

SEE = '/activitystream/see'


@pytest.fixture
def bob(env):
    """bob has two notifications, not seen and not read."""
    alice, bob = env.user('alice'), env.user('bob')
    am.create(alice, 'pinged', recipients=[bob])
    am.create(alice, 'poked', recipients=[bob])
    env.commit()
    return env, bob


def visit(env, user, headers, **params):
    params.setdefault('target_link', '/documents/Spec')
    return env.app.get(SEE, params, headers=headers, extra_environ=env.login(user), status='*')


@pytest.mark.parametrize(
    'headers',
    [
        {'Sec-Fetch-Site': 'same-origin'},
        {'Sec-Fetch-Site': 'none'},  # typed, or a bookmark
        {'Sec-Fetch-Site': 'same-origin', 'Referer': 'http://evil.example/'},
        {'Referer': 'http://localhost/dashboard?x=1'},
        {'Referer': 'http://localhost:80/'},
    ],
)
def test_a_navigation_from_this_site_marks_seen(bob, headers):
    env, user = bob
    reply = visit(env, user, headers)
    assert reply.status_int == 302
    assert reply.headers['Location'] == 'http://localhost/documents/Spec'
    assert am.count_not_seen_by_recipient(user) == 0
    assert am.count_unread_by_recipient(user) == 2  # only a POST marks one read


@pytest.mark.parametrize(
    'headers',
    [
        {},
        {'Sec-Fetch-Site': 'cross-site'},
        {'Sec-Fetch-Site': 'same-site'},  # another host under the same domain
        {'Sec-Fetch-Site': 'cross-site', 'Referer': 'http://localhost/'},
        {'Sec-Fetch-Site': ''},
        {'Referer': 'http://evil.example/'},
        {'Referer': 'http://localhost.evil.example/'},
        {'Referer': 'http://localhost@evil.example/'},
        {'Referer': 'http://localhost:8080/'},
        {'Referer': 'https://localhost/'},
        {'Referer': '/dashboard'},  # no browser sends a bare path
        {'Referer': '//localhost/'},
        {'Referer': 'http://[::1/'},
        {'Referer': ''},
    ],
)
def test_any_other_get_only_redirects(bob, headers):
    env, user = bob
    reply = visit(env, user, headers)
    assert reply.status_int == 302
    assert reply.headers['Location'] == 'http://localhost/documents/Spec'
    assert am.last_seen(user) is None
    assert am.count_not_seen_by_recipient(user) == 2


def test_a_bad_target_changes_nothing_even_from_this_site(bob):
    env, user = bob
    for link in ('http://evil.example/', '//evil.example', ''):
        reply = visit(env, user, {'Sec-Fetch-Site': 'same-origin'}, target_link=link)
        assert reply.status_int == 400
        assert 'target_link' in reply.json['detail']
    assert am.last_seen(user) is None


def test_anonymous_get_is_401_and_head_changes_nothing(bob):
    env, user = bob
    env.app.get(SEE, {'target_link': '/x'}, headers={'Sec-Fetch-Site': 'same-origin'}, status=401)
    env.app.head(
        SEE + '?target_link=/x',
        headers={'Sec-Fetch-Site': 'same-origin'},
        extra_environ=env.login(user),
        status=302,
    )
    assert am.last_seen(user) is None
