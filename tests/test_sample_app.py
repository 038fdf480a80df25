"""The demo site (sample-app/) end to end: real login form, post, comment, navbar inbox,
subscriptions and the mails a real SMTP server receives."""

import subprocess
import sys
import time
from pathlib import Path

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

    settled()  # the badge counts the notification feeds, written by the delivery thread
    bob_home = bob.get('/')
    assert unseen(bob_home) == 1  # alice's post reached her follower
    assert 'Alice</b> posted' in bob_home.text

    comment = bob.get(post_page.request.path).forms['comment']
    comment['text'] = 'Count me in'
    comment.submit().maybe_follow()

    settled()
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
    settled()
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

    settled()
    bob_before, alice_before = unseen(bob.get('/')), unseen(alice.get('/'))
    comment = carol.get(post_url).forms['comment']
    comment['text'] = 'Only if there is <b>cake</b>'
    page = comment.submit().maybe_follow()
    assert 'Only if there is &lt;b&gt;cake&lt;/b&gt;' in page.text  # escaping intact
    assert toggle(page).action.endswith('/unsubscribe')  # commenting subscribed carol

    settled()
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
    settled()
    bob_before = unseen(bob.get('/'))
    comment = carol.get(post_url).forms['comment']
    comment['text'] = 'Or pie'
    comment.submit().maybe_follow()
    settled()
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
    [old] = [
        ' '.join(li.select_one('.activitystream-text').get_text().split())
        for li in menu.select('li')
        if 'Old news' in str(li)
    ]
    # unseen or not depends on alice's earlier visits in this module: dated 3 days back,
    # it may be older than what she has seen
    assert old.removeprefix('New: ') == 'Carol commented on “Old news” 3 days ago'  # 71 h: rounded


def test_smtp_down_keeps_the_mails_for_the_retry_command(site, smtp_port):
    from activitystream import subscriptions

    alice, bob = browser(site, 'alice'), browser(site, 'bob')
    publish = alice.get('/').forms['publish']
    publish['text'] = 'Is the mail server up?'
    post_url = publish.submit().maybe_follow().request.path
    settled()
    before = unseen(alice.get('/'))
    comment = bob.get(post_url).forms['comment']
    comment['text'] = 'Not yet'
    comment.submit().maybe_follow()  # the page works all the same
    settled()  # the notification feed is written, the mail failed
    assert unseen(alice.get('/')) == before + 1  # and the notification is there
    [kept] = subscriptions.failed_deliveries()
    assert kept.backend == 'email' and kept.error.startswith('email: 1 of 1 failed, Connection')
    with support.smtp_server(smtp_port) as (mailbox, _):
        subscriptions.retry_failed()  # gearbox activitystream-retry (or the thread, meanwhile)
        settled()
        assert [m['To'] for m in mailbox.messages] == ['alice@example.org']
        assert mailbox.messages[0]['Subject'] == 'Bob commented on “Is the mail server up?”'
    assert subscriptions.failed_deliveries() == []


def timeline_rows(page):
    """The home page's timeline rows, as their text."""
    return [' '.join(li.get_text().split()) for li in page.html.select('#timeline li')]


def follow_form(app, user_name):
    """The Follow / Unfollow form of a user's page."""
    return app.get(f'/users/{user_name}').forms['follow']


def test_the_timeline_shows_the_public_actions_of_the_people_followed(site):
    from sampleapp import model
    from sampleapp.lib import social

    from activitystream import am
    from activitystream.delivery import runner

    carol, dave = browser(site, 'carol'), browser(site, 'dave')
    publish = carol.get('/').forms['publish']
    publish['text'] = 'Before dave came'
    publish.submit()
    assert not any('Before dave came' in row for row in timeline_rows(dave.get('/')))

    form = follow_form(dave, 'carol')
    assert form.action == '/follow' and form['_csrf_token'].value
    with pytest.MonkeyPatch.context() as patch:  # the delivery thread is late
        patch.setattr(runner, 'kick', lambda: None)
        assert form.submit().maybe_follow().request.path == '/users/carol'  # back to the page
        rows = timeline_rows(dave.get('/'))  # the request copied carol's actions all the same
    assert rows[0].startswith('Carol posted “Before dave came”')

    publish = carol.get('/').forms['publish']
    publish['text'] = 'After dave came'
    publish.submit()
    am.create(
        model.find_user('carol'),
        'whispered to',
        target=model.find_user('alice'),
        recipients=[model.find_user('alice')],
    )  # private: in no timeline
    social.publish(model.find_user('alice'), 'Not followed by dave')
    transaction.commit()
    settled()  # the fan-out to carol's followers is the delivery thread's
    rows = timeline_rows(dave.get('/'))
    assert rows[0].startswith('Carol posted “After dave came”')
    assert rows[1].startswith('Dave started following Carol')  # his own, by the thread
    assert rows[2].startswith('Carol posted “Before dave came”')
    assert not any('whispered' in row or 'Not followed' in row for row in rows)
    assert 'Carol</b> whispered to' in browser(site, 'alice').get('/notifications')  # it exists

    follow_form(dave, 'carol').submit().maybe_follow()  # unfollow: her actions leave at once
    assert not any(row.startswith('Carol') for row in timeline_rows(dave.get('/')))


def test_the_timeline_pages_25_at_a_time_with_an_older_link(site):
    from datetime import timedelta

    from sampleapp import model
    from sampleapp.lib import social
    from sampleapp.model.common import utcnow

    alice = browser(site, 'alice')
    follow_form(alice, 'bob').submit()
    bob, start = model.find_user('bob'), utcnow()
    for n in range(1, 31):  # the 30 newest actions of alice's timeline
        social.publish(bob, f'Check-in {n}', start + timedelta(minutes=n))
    transaction.commit()
    settled()

    page, seen, pages = alice.get('/'), [], 0
    while True:
        pages += 1
        rows = timeline_rows(page)
        seen += rows
        older = page.html.select_one('#timeline a[rel=next]')
        if older is None:
            break
        assert len(rows) == 25
        page = alice.get(older['href'])
    first_page = seen[:25]
    assert [row.split('“')[1].split('”')[0] for row in first_page] == [
        f'Check-in {n}' for n in range(30, 5, -1)
    ]
    assert seen[25].startswith('Bob posted “Check-in 5”')
    assert pages == 2 and len(seen) == len(set(seen)) > 30  # nothing repeated, then older ones
    alice.get('/', params={'before': 'not-a-cursor'}, status=400)
    alice.get('/?before=a&before=b', status=400)


def test_follow_and_unfollow_need_a_post_with_the_csrf_token(site):
    from sampleapp import model

    bob = browser(site, 'bob')
    form = follow_form(bob, 'dave')
    assert form.action == '/follow'
    fields = dict(form.submit_fields())
    bob.get('/follow', params=fields, status=405)
    bob.post('/follow', {'user_name': 'dave'}, status=403)
    bob.post('/follow', {**fields, '_csrf_token': 'forged'}, status=403)
    bob.post('/follow', {**fields, 'came_from': 'https://elsewhere.example/'}, status=400)
    bob.post('/follow', {**fields, 'came_from': '//elsewhere.example/'}, status=400)
    users = model.find_user('bob'), model.find_user('dave')
    assert model.find_follow(*users) is None  # nothing changed
    assert follow_form(bob, 'dave').action == '/follow'

    reply = bob.post('/follow', {**fields, 'came_from': '/users/carol'}, status=302)
    assert reply.location.endswith('/users/carol')
    form = follow_form(bob, 'dave')
    assert form.action == '/unfollow'
    bob.post('/unfollow', {'user_name': 'dave'}, status=403)
    assert model.find_follow(*users) is not None
    form.submit(status=302)
    assert model.find_follow(*users) is None


def test_with_redis_down_the_home_page_shows_the_database_list(site, monkeypatch):
    from activitystream import model

    alice = browser(site, 'alice')
    assert not alice.get('/').html.select('#timeline .notice')
    closed = support.free_port()  # nothing listens there
    monkeypatch.setitem(model.options(), 'redis_url', f'redis://127.0.0.1:{closed}/0')
    page = alice.get('/')
    assert 'The timeline is unavailable right now' in page.html.select_one('#timeline').text
    rows = timeline_rows(page)
    assert rows and rows[0].startswith('Bob posted “Check-in 30”')  # the newest public action
    assert page.html.select_one('#timeline a[rel=next]') is None
    follow_form(alice, 'dave').submit(status=302)  # a follow too: its copy waits in the outbox


def menu(page):
    """(badge, [(who verb target, unseen)]) of activitystream's navbar menu."""
    rows = []
    for li in page.html.select('nav .activitystream-menu .activitystream-item'):
        words = [li.b.get_text(), li.b.next_sibling.strip()] + [i.get_text() for i in li('i')]
        rows.append((' '.join(words), 'activitystream-unseen' in li['class']))
    return unseen(page), rows


def publish_with_comments(site, author, text, commenters):
    """``author`` posts ``text``, each of ``commenters`` comments: the post's path."""
    form = browser(site, author).get('/').forms['publish']
    form['text'] = text
    path = form.submit().maybe_follow().request.path
    for name in commenters:
        comment = browser(site, name).get(path).forms['comment']
        comment['text'] = f'{name} is in'
        comment.submit()
    settled()  # the delivery thread has written the notification feeds
    return path


def unseen_in_inbox(user_name):
    """How many notifications (not groups) ``user_name`` has not seen."""
    from sampleapp import model

    from activitystream import am

    transaction.abort()
    return am.count_not_seen_by_recipient(model.find_user(user_name))


def test_the_navbar_menu_shows_the_feeds_groups_and_marks_them_seen_and_read(site):
    """One menu, on the site's notification feed: three comments are one row, one badge."""
    carol = browser(site, 'carol')
    settled()  # what the earlier tests queued
    badge_before, inbox_before = unseen(carol.get('/')), unseen_in_inbox('carol')
    post = publish_with_comments(site, 'carol', 'Tea party', ('alice', 'bob', 'dave'))

    home = carol.get('/')
    badge, rows = menu(home)
    assert rows[0] == ('Dave, Bob and 1 other commented on “Tea party”', True)
    assert unseen_in_inbox('carol') == inbox_before + 3
    assert badge == badge_before + 1  # the feed's unseen groups, not notifications
    page = carol.get('/activitystream/all?limit=100')
    assert badge == len(page.html.select('.activitystream-item.activitystream-unseen'))

    # opening the menu: activitystream.js posts the newest shown with the token
    nav = home.html.select_one('nav .activitystream-menu')
    seen = {'until': nav['data-newest'], '_csrf_token': nav['data-csrf-token']}
    carol.post(nav['data-seen-url'], {'until': seen['until']}, status=403)
    assert menu(carol.get('/'))[0] == badge
    carol.post(nav['data-seen-url'], seen)
    badge, rows = menu(carol.get('/'))
    assert badge == 0 and not any(new for _, new in rows)

    # the row's own form (what a click does without script) reads the whole group
    listed = carol.get('/activitystream/notifications.json').json
    group = listed['rows'][0]
    assert group['read'] is False and len(group['ids']) == 3
    form = next(f for f in carol.get('/').forms.values() if f.action.endswith('/see'))
    assert form['actions'].value == ','.join(group['ids'])
    form['_csrf_token'] = 'forged'
    form.submit(status=403)
    assert carol.get('/activitystream/notifications.json').json['rows'][0]['read'] is False
    form['_csrf_token'] = seen['_csrf_token']
    assert form.submit(status=303).location.endswith(post)
    after = carol.get('/activitystream/notifications.json').json
    assert after['rows'][0]['read'] is True
    assert after['unread_count'] == listed['unread_count'] - 1  # groups, as the badge
    read = {item['id']: item['read'] for item in after['items']}
    assert all(read[i] for i in group['ids'])  # and each notification in the inbox


def test_with_redis_down_the_navbar_menu_groups_the_inbox(site, monkeypatch, caplog):
    from activitystream import model

    publish_with_comments(site, 'bob', 'Soup night', ('alice', 'carol'))
    bob = browser(site, 'bob')
    on_the_feed = unseen(bob.get('/'))
    closed = support.free_port()
    monkeypatch.setitem(model.options(), 'redis_url', f'redis://127.0.0.1:{closed}/0')
    with caplog.at_level('WARNING', logger='activitystream.feedmenu'):
        page = bob.get('/')
    badge, rows = menu(page)
    assert badge == unseen_in_inbox('bob') > on_the_feed  # notifications, no longer groups
    assert rows[0] == ('Carol and Alice commented on “Soup night”', True)  # grouped all the same
    assert any('the inbox answers instead' in r.getMessage() for r in caplog.records)
    nav = page.html.select_one('nav .activitystream-menu')
    ids = page.html.select_one('nav .activitystream-item')['data-ids'].split(',')
    headers = {'X-CSRF-Token': nav['data-csrf-token']}
    opened = bob.post_json(nav['data-open-url'], {'actions': ids}, headers=headers)
    assert opened.json['changed'] == 2 and opened.json['unseen_count'] == badge


def settings_form(page):
    """activitystream's settings form on the site's /settings page."""
    forms = {f.action: f for f in page.forms.values()}  # by number and by id: twice
    return forms['/activitystream/settings']


def new_user(name):
    from sampleapp import model

    user = model.User(
        user_name=name, display_name=name.title(), email_address=f'{name}@example.org'
    )
    user.set_password(PASSWORD)
    model.save(user)
    transaction.commit()


def test_the_settings_page_shows_the_sites_kinds_and_saves_with_the_csrf_token(site):
    new_user('frank')
    frank = browser(site, 'frank')
    page = frank.get('/').click('Settings', href='/settings')
    legends = [legend.get_text() for legend in page.html.select('main fieldset legend')]
    assert legends == [
        'Comments on posts I follow',
        'New posts by people I follow',
        'New followers',
        'E-mail digest',
    ]
    form = settings_form(page)
    assert form['commented on:email'].checked and not form['posted:email'].checked
    form['commented on:email'] = False
    form['commented on:digest'] = True
    form['started following:web'] = False
    saved = form.submit(status=303)
    assert saved.location.endswith('/settings?saved=1')  # back to the site's page
    again = saved.follow()
    assert again.html.select_one('main [role=status]').get_text() == 'Your choices were saved.'
    form = settings_form(again)
    assert form['commented on:digest'].checked and not form['commented on:email'].checked
    assert not form['started following:web'].checked

    form['_csrf_token'] = 'forged'
    form.submit(status=403)
    frank.post('/activitystream/settings', {'posted:web': 'on'}, status=403)  # no token
    assert settings_form(frank.get('/settings'))['commented on:digest'].checked  # unchanged
    assert 'Settings' not in navbar(TestApp(site).get('/'))  # anonymous: no link


def test_gearbox_activitystream_digest_sends_the_demo_sites_digest(site, smtp, tmp_path):
    """As README.rst tells: comments to digest on /settings, a comment, then the command."""
    from sampleapp import model

    mailbox, port = smtp
    new_user('grace')
    grace, carol = browser(site, 'grace'), browser(site, 'carol')
    form = settings_form(grace.get('/settings'))
    form['commented on:email'] = False
    form['commented on:digest'] = True
    form.submit(status=303)
    publish = grace.get('/').forms['publish']
    publish['text'] = 'Digest me'
    post_url = publish.submit().maybe_follow().request.path
    comment = carol.get(post_url).forms['comment']
    comment['text'] = 'Held for your digest'
    comment.submit().maybe_follow()
    assert 'grace@example.org' not in mails(mailbox)  # held, not mailed

    sample = Path(__file__).parent.parent / 'sample-app'
    ini = tmp_path / 'digest.ini'
    ini.write_text(
        '\n'.join(
            [
                '[app:main]',
                f'use = config:{sample / "development.ini"}#main',  # the demo's, but for:
                f'sqlalchemy.url = {model.DBSession.get_bind().url}',
                f'activitystream.smtp_port = {port}',
                f'cache_dir = {tmp_path}',
                f'sampleapp.redis_prefix = {support.REDIS_PREFIX}:sample:digest',
            ]
        )
    )
    gearbox = Path(sys.executable).parent / 'gearbox'
    done = subprocess.run(
        [gearbox, 'activitystream-digest', '-c', str(ini)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert 'activitystream-digest: 1 digests queued, 1 jobs done' in done.stdout
    [digest] = [m for m in mailbox.messages if m['To'] == 'grace@example.org']
    assert digest['Subject'] == 'Your daily digest: 1 notification'
    assert digest['List-Unsubscribe-Post'] == 'List-Unsubscribe=One-Click'
    assert 'http://127.0.0.1:8080/activitystream/mail/unsubscribe?' in digest['List-Unsubscribe']
    text = digest.get_body(('plain',)).get_content()
    assert 'Carol commented on “Digest me”' in text
