"""Digests through a real SMTP server: grouped, once per period, again after a crash."""

import datetime as dt

import pytest

from activitystream import digest, model, preferences, refs, subscriptions
from activitystream.timeutil import utcnow

from . import subscription_support as support
from .harness import BACKENDS, build_app

KINDS = {
    'commented': {'label': 'Comments', 'channels': ['web', 'digest']},
    'liked': {'label': 'Likes', 'channels': ['web', 'email']},
}
NOW = dt.datetime(2030, 5, 3, 8, 0)


@pytest.fixture(scope='module')
def smtp():
    with support.smtp_server() as server:
        yield server


def digest_app(backend, port, renderer='kajiki', blueprint=None, **options):
    conf = dict(support.smtp_config(port), **{'activitystream.site_url': 'http://localhost/'})
    conf.update(blueprint or {})
    backends = {
        'email': 'activitystream.subscriptions.backends.EmailBackend',
        'activitystream': 'activitystream.subscriptions.backends.ActivityStreamBackend',
    }
    return build_app(
        backend,
        blueprint=conf,
        subscription_backends=backends,
        email_address_attribute='user_name',
        notification_kinds=KINDS,
        email_renderer=renderer,
        **options,
    )


@pytest.fixture(params=BACKENDS)
def env(request, smtp):
    smtp[0].messages.clear()
    return digest_app(request.param, smtp[1])


def story(env):
    """bob follows two documents; alice and carol comment, dan likes: bob's digest holds 4."""
    plan, memo = env.document('Plan'), env.document('Memo')
    alice, carol = env.user('alice@example.com', 'Alice'), env.user('carol@example.com', 'Carol')
    dan, bob = env.user('dan@example.com', 'Dan'), env.user('bob@example.com', 'Bob')
    for doc in (plan, memo):
        subscriptions.subscribe(bob, doc)
    preferences.set(bob, 'liked', ['digest'])
    env.commit()
    for actor, doc, verb in ((alice, plan, 'commented'), (carol, plan, 'commented'),
                             (alice, memo, 'commented'), (dan, plan, 'liked')):  # fmt: skip
        subscriptions.emit(f'{{actor}} {verb} {doc.title}', subscribers_of=doc, actor=actor,
                           verb=verb)  # fmt: skip
    env.commit()
    return bob


def bodies(message):
    return tuple(
        message.get_body((kind,)).get_content().replace('\r\n', '\n') for kind in ('plain', 'html')
    )


def test_one_grouped_digest_per_period_even_when_run_twice(env, smtp):
    mailbox, _ = smtp
    bob = story(env)
    assert mailbox.messages == []  # nothing mailed at once: all of it was for the digest
    queued, report = digest.run('daily', now=NOW)
    assert (queued, report.done, report.dead) == (1, 1, 0)
    [message] = mailbox.messages
    assert message['To'] == 'bob@example.com'
    assert message['Subject'] == 'Your daily digest: 4 notifications'
    assert message['List-Unsubscribe-Post'] == 'List-Unsubscribe=One-Click'
    assert 'kind=%2A' in str(message['List-Unsubscribe'])  # every kind
    text, html = bodies(message)
    assert text.splitlines()[:5] == [
        'Your daily digest: 4 notifications',
        '',
        '* liked Plan (1)',
        '  - Dan liked Plan',
        '  http://localhost/documents/Plan',
    ]
    assert '* commented Plan (2)\n  - Carol commented Plan\n  - Alice commented Plan\n' in text
    assert '* commented Memo (1)' in text
    assert '<a href="http://localhost/documents/Plan">commented Plan</a> (2)' in html
    assert 'http://localhost/activitystream/settings' in text

    assert digest.run('daily', now=NOW + dt.timedelta(hours=3)) == (0, digest.drain())
    assert len(mailbox.messages) == 1  # the same day: nothing more
    storage = model.storage()
    assert storage.digest_items(refs.ref_of(bob, 'bob'), NOW + dt.timedelta(days=9), 9) == []

    subscriptions.emit('{actor} commented', subscribers_of=env.document('Plan'), actor=bob,
                       send_only_to=bob, verb='commented')  # fmt: skip
    env.commit()
    assert digest.run('daily', now=NOW + dt.timedelta(days=1))[0] == 0  # their own doing


@pytest.mark.parametrize(
    'language, period, subject, settings',
    [
        (
            'it',
            'daily',
            'Il tuo riepilogo giornaliero: 4 notifiche',
            'Scegli quali e-mail ricevere',
        ),
        (
            'ru',
            'weekly',
            'Ваша еженедельная сводка: 4 уведомления',
            'Выберите, какие письма получать',
        ),
    ],
)
def test_the_digest_speaks_the_sites_language(smtp, language, period, subject, settings):
    """A worker has no request: the subject and the settings link follow ``i18n.lang``."""
    mailbox, port = smtp
    mailbox.messages.clear()
    bob = story(digest_app('sqlite', port, blueprint={'i18n.lang': language}))
    preferences.set_digest_period(bob, period)
    model.storage().commit()
    digest.run(period, now=NOW)
    [message] = mailbox.messages
    assert message['Subject'] == subject
    text, html = bodies(message)
    assert f'{settings}: http://localhost/activitystream/settings' in text
    assert f'>{settings}</a>' in html


def test_a_crash_after_sending_sends_the_same_message_again_and_never_a_third(env, smtp):
    """The worker dies after the SMTP server took the mail, before its job ended."""
    mailbox, _ = smtp
    story(env)
    assert digest.schedule('daily', now=NOW) == 1
    storage = type(model.storage())
    original = storage.advance_digest_mark

    def dies(self, *args):
        raise SystemError('the worker died')

    storage.advance_digest_mark = dies  # after the mail went, before the mark moved
    try:
        first = digest.drain()
    finally:
        storage.advance_digest_mark = original
    assert (first.done, first.retried) == (0, 1)
    assert len(mailbox.messages) == 1
    model.storage().hasten_jobs(None, utcnow())
    model.storage().commit()
    assert digest.drain().done == 1
    assert digest.schedule('daily', now=NOW + dt.timedelta(hours=1)) == 0
    assert digest.drain().jobs == 0
    first_id, second_id = (str(m['Message-ID']) for m in mailbox.messages)
    assert len(mailbox.messages) == 2 and first_id == second_id  # a client shows it once


def test_weekly_recipients_wait_for_the_weekly_run(env, smtp):
    mailbox, _ = smtp
    bob = story(env)
    preferences.set_digest_period(bob, 'weekly')
    env.commit()
    assert digest.run('daily', now=NOW)[0] == 0
    assert digest.run('weekly', now=NOW)[0] == 1
    assert digest.run('weekly', now=NOW + dt.timedelta(days=1))[0] == 0  # the same ISO week
    assert [m['Subject'] for m in mailbox.messages] == ['Your weekly digest: 4 notifications']
    with pytest.raises(ValueError, match='period must be one of daily, weekly'):
        digest.run('monthly')


@pytest.mark.parametrize('backend', BACKENDS)
def test_the_genshi_digest(smtp, backend):
    mailbox, port = smtp
    mailbox.messages.clear()
    env = digest_app(backend, port, renderer='genshi')
    story(env)
    digest.run('daily', now=NOW)
    text, html = bodies(mailbox.messages[0])
    assert '* commented Plan (2)\n  - Carol commented Plan\n  - Alice commented Plan\n' in text
    assert '<a href="http://localhost/documents/Plan">commented Plan</a> (2)' in html


@pytest.mark.parametrize('backend', BACKENDS)
def test_the_sites_tgext_mailer_can_carry_the_mails(smtp, backend):
    """mail_transport='tgext.mailer': the site's mailer (its mail.* settings) sends."""
    from tgext.pluggable import plug

    mailbox, port = smtp
    mailbox.messages.clear()

    def with_mailer(cfg):
        cfg.update_blueprint({'mail.host': '127.0.0.1', 'mail.port': str(port)})
        plug(cfg, 'tgext.mailer')

    conf = {'activitystream.smtp_port': str(support.free_port())}  # ours would fail
    env = build_app(
        backend,
        blueprint=dict(support.smtp_config(conf['activitystream.smtp_port']), **conf),
        configure=with_mailer,
        subscription_backends={'email': 'activitystream.subscriptions.backends.EmailBackend'},
        email_address_attribute='user_name',
        mail_transport='tgext.mailer',
        notification_kinds=KINDS,
    )
    bob = env.user('bob@example.com')
    subscriptions.emit('hello', send_only_to=bob)
    subscriptions.emit(
        '{actor} commented', send_only_to=bob, actor=env.user('alice@example.com'), verb='commented'
    )  # fmt: skip - held for the digest
    env.commit()
    assert [m['To'] for m in mailbox.messages] == ['bob@example.com']
    assert subscriptions.failed_deliveries() == []
    assert digest.run('daily', now=NOW)[1].done == 1  # outside a request, through the mailer
    assert [m['Subject'] for m in mailbox.messages[1:]] == ['Your daily digest: 1 notification']
