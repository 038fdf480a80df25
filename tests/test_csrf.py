"""CSRF tokens are bound to the login, not only to the user, and keyed apart from its cookie.

Through a real cookie login, as a quickstarted site has it (TG's login form
and ``auth_tkt`` cookie), on each backend: a token works for every request of
one login, also after the cookie is reissued, and no longer once the user has
logged out and in again.
"""

import hashlib
import hmac
import time

import pytest
import tg
from bs4 import BeautifulSoup

from activitystream import am, csrf, refs

from .harness import BACKENDS, build_app

COOKIE_LOGIN = {
    'skip_authentication': False,
    'sa_auth.post_login_url': '/',
    'sa_auth.post_logout_url': '/',
}
REISSUE = {'sa_auth.authtkt.reissue_time': 1, 'sa_auth.authtkt.timeout': 3600}
MARK_READ = '/activitystream/mark_read'


def cookie_site(backend, **auth):
    """A site with cookie logins where bob has one notification."""
    env = build_app(backend, blueprint={**COOKIE_LOGIN, **auth})
    am.create(env.user('alice'), 'pinged', recipients=[env.user('bob')])
    env.commit()
    return env


def log_in(env, name):
    """Log in through the form; the token the page gets, as scripts get it."""
    env.app.post('/login_handler', {'login': name, 'password': 'any'}, status=302)
    return env.app.get('/activitystream/notifications.json').json['csrf_token']


def log_out(env):
    env.app.get('/logout_handler', status=302)
    env.app.get('/activitystream/', status=401)


def mark_read(env, token, status=200):
    return env.app.post(MARK_READ, {csrf.FIELD: token}, status=status)


def let_a_second_pass():
    """Tickets hold whole seconds: a new login, or a reissue, needs the next one."""
    start = int(time.time())
    while time.time() <= start + 1:
        time.sleep(0.05)


@pytest.mark.parametrize('backend', BACKENDS)
def test_a_token_lasts_the_login_and_not_beyond(backend):
    env = cookie_site(backend)
    first = log_in(env, 'bob')
    mark_read(env, first)
    mark_read(env, first)  # any number of requests of one login
    log_out(env)
    let_a_second_pass()
    second = log_in(env, 'bob')
    assert mark_read(env, first, status=403).json['detail'] == 'missing or invalid CSRF token'
    mark_read(env, second)


@pytest.mark.parametrize('backend', BACKENDS)
def test_a_token_outlives_the_cookie_reissue_but_not_the_login(backend):
    env = cookie_site(backend, **REISSUE)
    first = log_in(env, 'bob')
    cookie = env.app.cookies['authtkt']
    let_a_second_pass()
    env.app.get('/activitystream/')
    assert env.app.cookies['authtkt'] != cookie  # reissued, with a new time
    mark_read(env, first)
    log_out(env)
    let_a_second_pass()
    second = log_in(env, 'bob')
    mark_read(env, first, status=403)
    mark_read(env, second)


@pytest.mark.parametrize('backend', BACKENDS)
def test_the_cached_menu_gives_each_login_its_own_token(backend):
    env = cookie_site(backend)

    def menu_token():
        page = env.app.get('/menu_of', {'user_name': 'bob', 'cache_expire': '600'})
        return BeautifulSoup(page.text, 'html.parser').select_one('[data-csrf-token]')[
            'data-csrf-token'
        ]

    log_in(env, 'bob')
    first = menu_token()
    assert menu_token() == first  # cached
    log_out(env)
    let_a_second_pass()
    log_in(env, 'bob')
    second = menu_token()
    assert second != first
    mark_read(env, second)


def test_no_token_is_signed_with_the_login_cookie_secret(env):
    bob = env.user('bob')
    env.commit()
    ref, issued = refs.ref_of(bob, 'user'), int(time.time())
    message = f'{ref.type}:{ref.id}:{issued}'.encode()
    raw = hmac.new(tg.config['sa_auth.cookie_secret'].encode(), message, hashlib.sha256)
    login = env.login(bob)
    for token in (f'{issued}.{raw.hexdigest()}', f'{issued}.\u00e9', '\u0661\u0662.x'):
        env.app.post(MARK_READ, {csrf.FIELD: token}, extra_environ=login, status=403)
    env.app.post(MARK_READ, {csrf.FIELD: csrf.token_for(bob)}, extra_environ=login, status=200)
