"""One-click unsubscribe (RFC 8058) from a mail client's point of view, and the settings page."""

from urllib.parse import parse_qs, urlsplit

import pytest

from activitystream import am, preferences, subscriptions

from . import subscription_support as support
from .harness import BACKENDS, build_app

EMAIL = 'activitystream.subscriptions.backends.EmailBackend'
NOTIFICATIONS = 'activitystream.subscriptions.backends.ActivityStreamBackend'
KINDS = {
    'commented': {'label': 'Comments on my posts', 'channels': ['web', 'email']},
    'liked': {'label': 'Likes', 'channels': ['web', 'digest']},
}
SITE = 'http://localhost'


@pytest.fixture(scope='module')
def smtp():
    with support.smtp_server() as server:
        yield server


def site(backend, port, renderer='kajiki'):
    conf = dict(
        support.smtp_config(port),
        **{'activitystream.site_url': SITE + '/', 'default_renderer': renderer},
    )
    return build_app(
        backend,
        blueprint=conf,
        subscription_backends={'email': EMAIL, 'activitystream': NOTIFICATIONS},
        email_address_attribute='user_name',
        notification_kinds=KINDS,
    )


@pytest.fixture(params=BACKENDS)
def env(request, smtp):
    smtp[0].messages.clear()
    return site(request.param, smtp[1])


def comment(env, doc, alice, text='{actor} commented'):
    subscriptions.emit(text, subscribers_of=doc, actor=alice, verb='commented')
    env.commit()


def people(env):
    doc = env.document('Plan')
    alice = env.user('alice@example.com', 'Alice')
    bob = env.user('bob@example.com', 'Bob')
    subscriptions.subscribe(bob, doc)
    env.commit()
    return doc, alice, bob


def unsubscribe_url(message):
    """What a mail client reads: the https/http URL of List-Unsubscribe, if it offers one-click."""
    assert message['List-Unsubscribe-Post'] == 'List-Unsubscribe=One-Click'
    links = [part.strip().strip('<>') for part in str(message['List-Unsubscribe']).split(',')]
    [url] = [link for link in links if link.startswith('http')]
    return url


def test_a_mail_clients_one_click_post_stops_that_kinds_mail(env, smtp):
    mailbox, _ = smtp
    doc, alice, bob = people(env)
    comment(env, doc, alice)
    [message] = mailbox.messages
    url = unsubscribe_url(message)
    parts = urlsplit(url)
    assert f'{parts.scheme}://{parts.netloc}' == SITE
    assert parts.path == '/activitystream/mail/unsubscribe'
    assert parse_qs(parts.query)['kind'] == ['commented']

    # the client POSTs exactly this body, with no cookie and no login (RFC 8058, 3.2)
    answer = env.app.post(
        parts.path + '?' + parts.query,
        'List-Unsubscribe=One-Click',
        headers={'Content-Type': 'application/x-www-form-urlencoded'},
    )
    assert answer.status_int == 200 and 'no more e-mails about: Comments on my posts' in answer
    env.clear_session()
    assert preferences.get(bob)['commented'] == ['web']  # mail off, the menu stays

    mailbox.messages.clear()
    comment(env, doc, alice, '{actor} commented again')
    assert mailbox.messages == []
    assert [a.description for a in am.get_by_recipient(bob).all()] == [
        'Alice commented again',
        'Alice commented',
    ]


def test_the_get_of_the_link_asks_first_and_changes_nothing(env, smtp):
    mailbox, _ = smtp
    doc, alice, bob = people(env)
    comment(env, doc, alice)
    parts = urlsplit(unsubscribe_url(mailbox.messages[0]))
    page = env.app.get(parts.path + '?' + parts.query)
    assert page.headers['Cache-Control'] == 'no-store'
    form = page.forms[0]
    assert form.method.upper() == 'POST'
    assert {form[name].value for name in ('type', 'id', 'kind')} >= {'commented'}
    env.clear_session()
    assert preferences.get(bob)['commented'] == ['web', 'email']
    form.submit()  # the person confirms
    env.clear_session()
    assert preferences.get(bob)['commented'] == ['web']


def test_a_forged_or_reused_link_is_refused(env, smtp):
    mailbox, _ = smtp
    doc, alice, bob = people(env)
    comment(env, doc, alice)
    query = parse_qs(urlsplit(unsubscribe_url(mailbox.messages[0])).query)
    params = {k: v[0] for k, v in query.items()}
    url = '/activitystream/mail/unsubscribe'
    for changed in ({'kind': 'liked'}, {'sig': '0' * 64}, {'id': params['id'] + '0'}):
        refused = env.app.post(url, dict(params, **changed), status=403)
        assert refused.json == {'detail': 'this unsubscribe link is not valid'} or (
            'not valid' in refused.text
        )
    env.clear_session()
    assert preferences.get(bob) == {'commented': ['web', 'email'], 'liked': ['web', 'digest']}


def test_the_settings_page_shows_and_stores_the_choice(env):
    bob = env.user('bob@example.com', 'Bob')
    env.commit()
    page = env.app.get('/activitystream/settings', extra_environ=env.login(bob))
    html = page.text
    assert html.count('<fieldset') == 3 and '<legend>Comments on my posts</legend>' in html
    assert '<label for="activitystream-0-web">On this site</label>' in html
    form = page.forms[0]
    assert form['commented:web'].checked and form['commented:email'].checked
    assert not form['commented:digest'].checked and form['liked:digest'].checked
    form['commented:email'].checked = False
    form['commented:digest'].checked = True
    form['liked:web'].checked = False
    form['liked:digest'].checked = False
    form['digest_period'] = 'weekly'
    done = form.submit(extra_environ=env.login(bob), status=303)
    assert done.location.endswith('/activitystream/settings?saved=1')
    env.clear_session()
    assert preferences.get(bob) == {'commented': ['web', 'digest'], 'liked': []}
    assert preferences.digest_period(bob) == 'weekly'
    again = done.follow(extra_environ=env.login(bob))
    assert 'role="status"' in again.text and 'Your choices were saved.' in again.text
    assert not again.forms[0]['liked:web'].checked


@pytest.mark.parametrize(
    'language, words',
    [
        ('it', ['Impostazioni delle notifiche', 'Su questo sito', 'Ogni settimana', 'Salva']),
        ('ru', ['Настройки уведомлений', 'В моей e-mail-сводке', 'Ежедневно', 'Сохранить']),
    ],
)
def test_the_settings_and_unsubscribe_pages_speak_the_request_language(env, smtp, language, words):
    doc, alice, bob = people(env)
    comment(env, doc, alice)
    headers = {'Accept-Language': language}
    page = env.app.get('/activitystream/settings', headers=headers, extra_environ=env.login(bob))
    assert all(f'>{word}<' in page.text for word in words)
    asked = env.app.get(unsubscribe_url(smtp[0].messages[-1]), headers=headers).text
    assert 'Stop' not in asked and 'Comments on my posts' in asked  # the host's label as given
    done = env.app.post(unsubscribe_url(smtp[0].messages[-1]), headers=headers).text
    assert {'it': 'Fatto', 'ru': 'Готово'}[language] in done


def test_the_settings_post_needs_the_token_and_known_fields(env):
    bob = env.user('bob@example.com')
    env.commit()
    login = env.login(bob)
    env.app.get('/activitystream/settings', status=401)
    env.app.post('/activitystream/settings', {'liked:web': 'on'}, extra_environ=login, status=403)
    form = env.app.get('/activitystream/settings', extra_environ=login).forms[0]
    token = form['_csrf_token'].value
    bad = env.app.post(
        '/activitystream/settings',
        {'_csrf_token': token, 'shared:web': 'on'},
        extra_environ=login,
        status=400,
    )
    assert 'shared:web is not a field of the settings form' in bad.text
    env.app.post(
        '/activitystream/settings',
        {'_csrf_token': token, 'digest_period': 'hourly'},
        extra_environ=login,
        status=400,
    )
    env.clear_session()
    assert preferences.get(bob) == {'commented': ['web', 'email'], 'liked': ['web', 'digest']}


@pytest.mark.parametrize('backend', BACKENDS)
def test_the_genshi_pages(smtp, backend):
    env = site(backend, smtp[1], renderer='genshi')
    bob = env.user('bob@example.com')
    env.commit()
    page = env.app.get('/activitystream/settings', extra_environ=env.login(bob))
    assert page.text.startswith('<!DOCTYPE html>')
    assert '<legend>Likes</legend>' in page.text and page.forms[0]['liked:web'].checked
