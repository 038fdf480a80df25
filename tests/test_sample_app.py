"""The demo site (sample-app/) end to end: real login form, post, comment, navbar inbox."""

import pytest
import transaction
from webtest import TestApp

from . import harness

PASSWORD = 'secret'


@pytest.fixture(scope='module')
def site(tmp_path_factory):
    """The sample app's WSGI app on a new SQLite file, with users alice and bob."""
    import sampleapp.config.app_cfg as app_cfg
    from sampleapp import model

    harness.reset_tg()  # also drops the hooks registered when app_cfg was first imported
    url = 'sqlite:///' + str(tmp_path_factory.mktemp('sampleapp') / 'site.sqlite')
    wsgi = app_cfg.make_base_config().make_wsgi_app(
        {}, {'sampleapp.backend': 'sqlalchemy', 'sqlalchemy.url': url, 'sa_auth.cookie_secret': 't'}
    )
    harness._state['cached'] = None  # the harness's cached app belongs to the old TG config
    model.create_schema()
    for name in ('alice', 'bob'):
        user = model.User(user_name=name, display_name=name.title())
        user.set_password(PASSWORD)
        model.save(user)
    transaction.commit()
    yield wsgi
    model.DBSession.remove()


def browser(site, user_name, password=PASSWORD):
    """A TestApp with its own cookies, logged in through the login form."""
    app = TestApp(site)
    form = app.get('/login').forms['login']
    form['login'], form['password'] = user_name, password
    form.submit().maybe_follow()
    return app


def unseen(page):
    return int(page.html.select_one('nav .activitystream-menu .activitystream-badge').get_text())


def test_wrong_password_stays_anonymous(site):
    page = browser(site, 'alice', 'wrong').get('/')
    assert 'Log in' in page.text
    assert page.html.select_one('.activitystream-menu') is None


def test_post_comment_notify_and_mark_seen(site):
    alice, bob = browser(site, 'alice'), browser(site, 'bob')
    assert unseen(alice.get('/')) == 0

    follow = bob.get('/users/alice').forms['follow']
    follow.submit().maybe_follow()

    publish = alice.get('/').forms['publish']
    publish['text'] = 'Tea at <b>four</b>'
    post_page = publish.submit().maybe_follow()
    assert 'Tea at &lt;b&gt;four&lt;/b&gt;' in post_page.text

    bob_home = bob.get('/')
    assert unseen(bob_home) == 1  # alice's post reached her follower
    assert 'Alice</b> posted' in bob_home.text

    comment = bob.get(post_page.request.path).forms['comment']
    comment['text'] = 'Count me in'
    comment.submit().maybe_follow()

    home = alice.get('/')
    assert unseen(home) == 2
    navbar = home.text.split('</nav>')[0]
    assert 'Bob</b> started following' in navbar
    assert 'Bob</b> commented on' in navbar
    assert unseen(bob.get('/')) == 1  # not told about his own comment

    assert unseen(alice.get('/notifications')) == 2  # reading changes nothing
    menu = home.html.select_one('.activitystream-menu')
    seen_url = menu['data-seen-url']
    alice.post(seen_url, status=403)  # no CSRF token
    alice.post(seen_url, {'until': menu['data-newest'], '_csrf_token': menu['data-csrf-token']})
    assert unseen(alice.get('/')) == 0
