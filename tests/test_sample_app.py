"""The demo site (sample-app/) end to end: real login form, post, comment, navbar inbox,
subscriptions and the mails a real SMTP server receives."""

import time

import pytest
import transaction
from webtest import TestApp

from . import harness
from . import subscription_support as support

PASSWORD = 'secret'
SITE_URL = 'http://sample.test'


@pytest.fixture(scope='module')
def smtp_port():
    """Where the site sends its mail; a test starts the server there, or leaves it down."""
    return support.free_port()


@pytest.fixture
def smtp(smtp_port):
    """A real SMTP server (aiosmtpd) listening for the site: (Mailbox, port)."""
    with support.smtp_server(smtp_port) as server:
        yield server


def make_site(directory, smtp_port, **settings):
    """The sample app's WSGI app on a new SQLite file in ``directory``, with users alice, bob,
    carol and dave; its Redis keys under this run's prefix; ``settings`` join its config."""
    import sampleapp.config.app_cfg as app_cfg
    from sampleapp import model

    harness.reset_tg()  # also drops the hooks registered when app_cfg was first imported
    conf = {
        'sampleapp.backend': 'sqlalchemy',
        'sqlalchemy.url': f'sqlite:///{directory}/site.sqlite',
        'sa_auth.cookie_secret': 't',
        'activitystream.site_url': SITE_URL,
        'sampleapp.redis_url': support.REDIS_URL,
        'sampleapp.redis_prefix': f'{support.REDIS_PREFIX}:sample:{directory.name}',
        **support.smtp_config(smtp_port),
        **settings,
    }
    wsgi = app_cfg.make_base_config().make_wsgi_app({}, conf)
    harness._state['cached'] = None  # the harness's cached app belongs to the old TG config
    model.create_schema()
    for name in ('alice', 'bob', 'carol', 'dave'):
        user = model.User(
            user_name=name, display_name=name.title(), email_address=f'{name}@example.org'
        )
        user.set_password(PASSWORD)
        model.save(user)
    transaction.commit()
    return wsgi


@pytest.fixture(scope='module')
def redis():
    """The test Redis; the sample sites' keys are deleted at the end."""
    client = support.redis_client()
    yield client
    support.drop_redis_keys(client)


@pytest.fixture(scope='module')
def site(tmp_path_factory, smtp_port, redis):
    """The sample app (``make_site``) for the tests of this module."""
    from sampleapp import model

    yield make_site(tmp_path_factory.mktemp('sampleapp'), smtp_port)
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


def test_post_comment_notify_and_mark_seen(site, smtp):
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


def toggle(page):
    """The post page's Subscribe / Unsubscribe form (activitystream's partial)."""
    forms = {f.action: f for f in page.forms.values()}  # by number and by id: twice
    [form] = [f for action, f in forms.items() if action.endswith('subscribe')]
    return form


def navbar(page):
    return page.text.split('</nav>')[0]


def settled(timeout=10):
    """Wait until the sample app's delivery thread has done all it can (failures wait)."""
    from activitystream import model

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        transaction.abort()  # read what the worker committed
        if all(job.error is not None for job in model.storage().jobs(False, None)):
            return
        time.sleep(0.05)
    raise AssertionError('the delivery thread did not finish in time')


def mails(mailbox):
    """{address: [subject, ...]} of what the SMTP server received; empties the mailbox.

    Mails go out from the delivery thread after the request: wait for it first.
    """
    settled()
    received = {}
    for message in mailbox.messages:
        received.setdefault(message['To'], []).append(message['Subject'])
    mailbox.messages.clear()
    return received


def test_subscribe_to_a_post_and_hear_of_comments(site, smtp):
    mailbox, _ = smtp
    alice, bob, carol = (browser(site, name) for name in ('alice', 'bob', 'carol'))
    publish = alice.get('/').forms['publish']
    publish['text'] = 'Picnic on <i>Sunday</i>?'
    post_url = publish.submit().maybe_follow().request.path
    mailbox.messages.clear()

    page = bob.get(post_url)
    form = toggle(page)
    assert form.action.endswith('/activitystream/subscribe')
    assert form['_csrf_token'].value  # the form carries bob's token
    assert form.submit().maybe_follow().request.path == post_url  # back to the post
    assert toggle(bob.get(post_url)).action.endswith('/activitystream/unsubscribe')
    assert toggle(alice.get(post_url)).action.endswith('/unsubscribe')  # her own post
    assert toggle(carol.get(post_url)).action.endswith('/subscribe')
    assert TestApp(site).get(post_url).html.select_one('.activitystream-subscription') is None

    bob_before, alice_before = unseen(bob.get('/')), unseen(alice.get('/'))
    comment = carol.get(post_url).forms['comment']
    comment['text'] = 'Only if there is <b>cake</b>'
    page = comment.submit().maybe_follow()
    assert 'Only if there is &lt;b&gt;cake&lt;/b&gt;' in page.text  # escaping intact
    assert toggle(page).action.endswith('/unsubscribe')  # commenting subscribed carol

    home = bob.get('/')
    assert unseen(home) == bob_before + 1
    assert 'Carol</b> commented on' in navbar(home)
    assert 'Picnic on &lt;i&gt;Sunday&lt;/i&gt;' in navbar(home)
    assert unseen(alice.get('/')) == alice_before + 1  # the author, subscribed by posting
    assert 'commented on' not in navbar(carol.get('/'))  # not told of her own comment

    subject = 'Carol commented on “Picnic on <i>Sunday</i>?”'
    received = list(mailbox.messages)
    assert mails(mailbox) == {'alice@example.org': [subject], 'bob@example.org': [subject]}
    text = received[0].get_body(('plain',)).get_content()
    assert SITE_URL + post_url in text  # an absolute link to the post
    html = received[0].get_body(('html',)).get_content()
    assert 'Picnic on &lt;i&gt;Sunday&lt;/i&gt;' in html

    # bob unsubscribes: the next comment reaches alice only
    toggle(bob.get(post_url)).submit().maybe_follow()
    assert toggle(bob.get(post_url)).action.endswith('/subscribe')
    bob_before = unseen(bob.get('/'))
    comment = carol.get(post_url).forms['comment']
    comment['text'] = 'Or pie'
    comment.submit().maybe_follow()
    assert unseen(bob.get('/')) == bob_before
    assert mails(mailbox) == {'alice@example.org': [subject]}

    # and alice's own comment reaches carol, who commented
    comment = alice.get(post_url).forms['comment']
    comment['text'] = 'Both!'
    comment.submit().maybe_follow()
    assert mails(mailbox) == {'carol@example.org': [subject.replace('Carol', 'Alice')]}
    assert 'Alice</b> commented on' in navbar(carol.get('/'))


def test_toggle_needs_the_csrf_token(site):
    bob = browser(site, 'bob')
    post_url = bob.get('/').html.select_one('.post a[href^="/posts/"]')['href']
    form = toggle(bob.get(post_url))
    action = form.action
    form['_csrf_token'] = 'forged'
    form.submit(status=403)
    assert toggle(bob.get(post_url)).action == action  # nothing changed


def test_the_demo_history_is_dated_and_sends_no_mail(site, smtp):
    """demo_data.py comments through social.comment(when=..., backends=['activitystream'])."""
    from datetime import timedelta

    from sampleapp import demo_data, model
    from sampleapp.lib import social
    from sampleapp.model.common import utcnow

    mailbox, _ = smtp
    mailbox.messages.clear()
    alice, carol = model.find_user('alice'), model.find_user('carol')
    past = utcnow() - timedelta(days=3)
    post = social.publish(alice, 'Old news', past)
    social.comment(
        carol, post, 'Old reply', past + timedelta(hours=1), backends=demo_data.NOTIFY_BY
    )
    transaction.commit()
    settled()
    assert mailbox.messages == []
    menu = browser(site, 'alice').get('/').html.select_one('.activitystream-list')
    [old] = [' '.join(li.get_text().split()) for li in menu.select('li') if 'Old news' in str(li)]
    assert old == 'Carol commented on “Old news” about 2 days ago'  # 71 hours ago


def test_smtp_down_keeps_the_mails_for_the_retry_command(site, smtp_port):
    from activitystream import subscriptions

    alice, bob = browser(site, 'alice'), browser(site, 'bob')
    publish = alice.get('/').forms['publish']
    publish['text'] = 'Is the mail server up?'
    post_url = publish.submit().maybe_follow().request.path
    before = unseen(alice.get('/'))
    comment = bob.get(post_url).forms['comment']
    comment['text'] = 'Not yet'
    comment.submit().maybe_follow()  # the page works all the same
    assert unseen(alice.get('/')) == before + 1  # and the notification is there

    settled()
    [kept] = subscriptions.failed_deliveries()
    assert kept.backend == 'email' and kept.error.startswith('email: 1 of 1 failed, Connection')
    with support.smtp_server(smtp_port) as (mailbox, _):
        subscriptions.retry_failed()  # gearbox activitystream-retry (or the thread, meanwhile)
        settled()
        assert [m['To'] for m in mailbox.messages] == ['alice@example.org']
        assert mailbox.messages[0]['Subject'] == 'Bob commented on “Is the mail server up?”'
    assert subscriptions.failed_deliveries() == []
