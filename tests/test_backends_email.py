"""The email backend against a real SMTP server (aiosmtpd) started by the tests."""

import pytest
import transaction

from activitystream import am, subscriptions

from . import subscription_support as support
from .harness import BACKENDS, build_app

EMAIL = 'activitystream.subscriptions.backends.EmailBackend'
NOTIFICATIONS = 'activitystream.subscriptions.backends.ActivityStreamBackend'
SQLA_BACKENDS = [b for b in BACKENDS if b in ('sqlite', 'postgresql')]


@pytest.fixture(scope='module')
def smtp():
    with support.smtp_server() as server:
        yield server


def mail_app(backend, port, blueprint=None, **options):
    options.setdefault('email_address_attribute', 'user_name')
    conf = dict(support.smtp_config(port), **(blueprint or {}))
    backends = {'email': EMAIL, 'activitystream': NOTIFICATIONS}
    return build_app(backend, blueprint=conf, subscription_backends=backends, **options)


@pytest.fixture(params=BACKENDS)
def env(request, smtp):
    mailbox, port = smtp
    mailbox.messages.clear()
    return mail_app(request.param, port)


def people(env, doc):
    """alice writes; bob and carol (who have addresses) are subscribed to ``doc``."""
    alice = env.user('alice@example.com', 'Alice')
    for name in ('bob', 'carol'):
        subscriptions.subscribe(env.user(f'{name}@example.com', name.title()), doc)
    return alice


def parts(message):
    """The plain-text and HTML bodies, with the wire's CRLF read as newlines."""
    return tuple(
        message.get_body((kind,)).get_content().replace('\r\n', '\n') for kind in ('plain', 'html')
    )


def test_one_mail_per_recipient_after_the_commit(env, smtp):
    mailbox, _ = smtp
    doc = env.document('Plan')
    alice = people(env, doc)
    subscriptions.emit('{actor} commented on <Plan>', subscribers_of=doc, actor=alice)
    env.commit()
    received = sorted(mailbox.messages, key=lambda m: m['To'])
    assert [m['To'] for m in received] == ['bob@example.com', 'carol@example.com']
    message = received[0]
    assert message['From'] == 'notifications@example.com'
    assert message['Subject'] == 'Alice commented on <Plan>'
    text, html = parts(message)
    assert text == 'Alice commented on <Plan>\n'
    assert 'Alice commented on &lt;Plan&gt;</p>' in html and '<a href' not in html


@pytest.mark.parametrize('backend', BACKENDS)
def test_links_are_absolute_with_the_site_url(smtp, backend):
    mailbox, port = smtp
    mailbox.messages.clear()
    env = mail_app(backend, port, {'activitystream.site_url': 'https://example.com/app/'})
    doc = env.document('Plan')
    people(env, doc)
    subscriptions.emit('Plan changed', subscribers_of=doc, backends=['email'])
    env.commit()
    text, html = parts(mailbox.messages[0])
    settings = 'https://example.com/activitystream/settings'
    assert text == (
        f'Plan changed\n\nhttps://example.com/documents/Plan\n\n--\n'
        f'Choose which e-mails you get: {settings}\n'
    )
    assert '<a href="https://example.com/documents/Plan">' in html
    assert f'<a href="{settings}">Choose which e-mails you get</a>' in html
    unsubscribe = str(mailbox.messages[0]['List-Unsubscribe'])
    assert unsubscribe.startswith('<https://example.com/activitystream/mail/unsubscribe?')
    assert mailbox.messages[0]['List-Unsubscribe-Post'] == 'List-Unsubscribe=One-Click'


@pytest.mark.parametrize('backend', BACKENDS)
def test_subject_option_and_keyword(smtp, backend):
    mailbox, port = smtp
    mailbox.messages.clear()
    env = mail_app(backend, port, email_subject='[Site] {text}')
    doc = env.document('Plan')
    people(env, doc)
    long_text = 'A very long\nmessage ' + 'word ' * 30
    subscriptions.emit(long_text, subscribers_of=doc, backends=['email'])
    subscriptions.emit('x', subscribers_of=doc, backends=['email'], subject='Your own subject')
    env.commit()
    subjects = {m['Subject'] for m in mailbox.messages}
    [cut] = subjects - {'Your own subject'}
    assert cut.startswith('[Site] A very long message word') and cut.endswith('…')
    assert len(cut) == 78


@pytest.mark.parametrize('backend', BACKENDS)
def test_the_genshi_templates(smtp, backend):
    mailbox, port = smtp
    mailbox.messages.clear()
    env = mail_app(
        backend, port, {'activitystream.site_url': 'https://example.com'}, email_renderer='genshi'
    )
    doc = env.document('Plan')
    people(env, doc)
    subscriptions.emit('Plan & co changed', subscribers_of=doc, backends=['email'])
    env.commit()
    text, html = parts(mailbox.messages[0])
    assert text == (
        'Plan & co changed\n\nhttps://example.com/documents/Plan\n\n--\n'
        'Choose which e-mails you get: https://example.com/activitystream/settings\n'
    )
    assert 'Plan &amp; co changed</p>' in html


@pytest.mark.parametrize('backend', BACKENDS)
def test_recipients_without_an_address_get_no_mail(smtp, backend):
    mailbox, port = smtp
    mailbox.messages.clear()
    env = mail_app(backend, port, email_address_attribute='display_name')
    doc = env.document('Plan')
    subscriptions.subscribe(env.user('bob', 'bob@example.com'), doc)
    subscriptions.subscribe(env.user('carol'), doc)  # no display_name: no address
    subscriptions.emit('x', subscribers_of=doc, backends=['email'])
    env.commit()
    assert [m['To'] for m in mailbox.messages] == ['bob@example.com']
    assert subscriptions.failed_deliveries() == []


@pytest.mark.parametrize('backend', SQLA_BACKENDS)
def test_a_rolled_back_request_sends_nothing(smtp, backend):
    mailbox, port = smtp
    mailbox.messages.clear()
    env = mail_app(backend, port)
    doc = env.document('Plan')
    people(env, doc)
    env.commit()
    subscriptions.emit('x', subscribers_of=doc, backends=['email'])
    transaction.abort()
    env.commit()
    assert mailbox.messages == []


@pytest.mark.parametrize('backend', BACKENDS)
def test_smtp_down_keeps_the_mails_for_the_retry_command(backend):
    port = support.free_port()  # nothing listens there yet
    env = mail_app(backend, port)
    doc = env.document('Plan')
    alice = people(env, doc)
    subscriptions.emit('{actor} changed Plan', subscribers_of=doc, actor=alice, verb='changed')
    env.commit()
    assert (
        am.get_actions(target=doc, everything=True).count() == 1
    )  # the notifications are stored anyway
    kept = subscriptions.failed_deliveries()
    assert sorted(f.recipient for f in kept) == sorted(subscriptions.subscribers_of(doc).refs())
    assert all(f.backend == 'email' for f in kept)
    assert all(f.error.startswith('email: 2 of 2 failed, ConnectionRefusedError') for f in kept)

    report = subscriptions.retry_failed()  # still down: given back again, one more attempt
    assert (report.done, report.retried, report.dead) == (0, 1, 0)
    assert [f.attempts for f in subscriptions.failed_deliveries()] == [2, 2]

    with support.smtp_server(port) as (mailbox, _):
        assert subscriptions.retry_failed().done == 1
        assert sorted(m['To'] for m in mailbox.messages) == ['bob@example.com', 'carol@example.com']
        assert {m['Subject'] for m in mailbox.messages} == {'Alice changed Plan'}
        assert subscriptions.retry_failed().jobs == 0  # each one once
        assert len(mailbox.messages) == 2
    ids = [str(m['Message-ID']).strip() for m in mailbox.messages]  # long: folded
    assert len(set(ids)) == 2 and all(i.startswith('<activitystream.') for i in ids)
    assert subscriptions.failed_deliveries() == []


@pytest.mark.parametrize('backend', BACKENDS)
def test_a_missing_template_is_told_before_sending(smtp, backend):
    env = mail_app(backend, smtp[1], email_template='tests.nowhere.mail')
    with pytest.raises(ValueError, match='email template tests.nowhere.mail.txt not found'):
        subscriptions.emit('x', send_only_to=env.user('bob@example.com'), backends=['email'])


def test_subject_must_be_a_string(env):
    with pytest.raises(TypeError, match='subject must be a string'):
        subscriptions.emit('x', send_only_to=env.user('bob@example.com'), subject=3)


@pytest.mark.parametrize('backend', BACKENDS)
def test_a_refused_address_fails_alone(smtp, backend):
    mailbox, port = smtp
    mailbox.messages.clear()
    env = mail_app(backend, port)
    doc = env.document('Plan')
    for name in ('bob@example.com', 'refused@example.com', 'carol@example.com'):
        subscriptions.subscribe(env.user(name), doc)
    subscriptions.emit('x', subscribers_of=doc, backends=['email'])
    env.commit()
    assert sorted(m['To'] for m in mailbox.messages) == ['bob@example.com', 'carol@example.com']
    [kept] = subscriptions.failed_deliveries()
    assert kept.error.startswith('email: 1 of 3 failed, SMTPRecipientsRefused')


@pytest.mark.parametrize('backend', BACKENDS)
def test_nobody_with_an_address_needs_no_smtp_server(backend):
    env = mail_app(backend, support.free_port(), email_address_attribute='display_name')
    subscriptions.emit('x', send_only_to=[env.user('bob'), env.user('carol')], backends=['email'])
    env.commit()
    assert subscriptions.failed_deliveries() == []


@pytest.mark.parametrize('backend', BACKENDS)
def test_entities_given_as_keywords_survive_the_commit(smtp, backend):
    """An entity keyword (action_obj=comment) reaches mails sent, and kept, after the commit."""
    mailbox, port = smtp
    env = mail_app(backend, port)
    doc, note = env.document('Plan'), env.document('Note')
    alice = people(env, doc)
    mailbox.messages.clear()
    subscriptions.emit('{actor} noted', subscribers_of=doc, actor=alice, action_obj=note)
    env.commit()
    assert len(mailbox.messages) == 2
    assert am.get_actions(target=doc, everything=True).first().action_obj.title == 'Note'

    down = mail_app(backend, support.free_port())
    doc, note = down.document('Plan'), down.document('Note')
    alice = people(down, doc)
    subscriptions.emit('{actor} noted', subscribers_of=doc, actor=alice, action_obj=note)
    if hasattr(down, 'engine'):  # as a host whose session expires its objects at commit
        down.model.DBSession.expire(note)
    down.commit()
    kept = subscriptions.failed_deliveries()
    assert len(kept) == 2 and all('Document' in f.kwargs for f in kept)


@pytest.mark.parametrize('backend', BACKENDS)
def test_emit_can_date_what_it_stores(smtp, backend):
    """Back-filled history keeps its own time (the demo data is dated days ago)."""
    import datetime as dt

    _, port = smtp
    env = mail_app(backend, port)
    doc = env.document('Plan')
    alice = people(env, doc)
    when = dt.datetime(2026, 1, 2, 3, 4, 5)
    subscriptions.emit(
        '{actor} wrote', subscribers_of=doc, actor=alice, timestamp=when,
        backends=['activitystream'],
    )  # fmt: skip
    assert am.get_actions(target=doc, everything=True).first().timestamp == when
    with pytest.raises(TypeError, match='timestamp must be a datetime'):
        subscriptions.emit('x', subscribers_of=doc, actor=alice, timestamp='yesterday')
