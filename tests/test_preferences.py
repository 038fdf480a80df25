"""Notification kinds and per-recipient channel preferences, honoured by emit and am.create."""

import pytest

from activitystream import am, model, preferences, refs, subscriptions
from activitystream.options import ConfigurationError, validate

from . import subscription_support as support
from .harness import BACKENDS, build_app

EMAIL = 'activitystream.subscriptions.backends.EmailBackend'
NOTIFICATIONS = 'activitystream.subscriptions.backends.ActivityStreamBackend'
KINDS = {
    'commented': {'label': 'Comments on my posts', 'channels': ['web', 'email']},
    'liked': {'label': 'Likes', 'channels': ['web']},
}


@pytest.fixture(scope='module')
def smtp():
    with support.smtp_server() as server:
        yield server


def kinds_app(backend, port, **options):
    options.setdefault('email_address_attribute', 'user_name')
    options.setdefault('notification_kinds', KINDS)
    backends = {'email': EMAIL, 'activitystream': NOTIFICATIONS}
    conf = support.smtp_config(port)
    return build_app(backend, blueprint=conf, subscription_backends=backends, **options)


@pytest.fixture(params=BACKENDS)
def env(request, smtp):
    smtp[0].messages.clear()
    return kinds_app(request.param, smtp[1])


@pytest.mark.parametrize(
    ('kinds', 'message'),
    [
        ([], r'notification_kinds must be a dict'),
        ({'': {}}, r"notification_kinds\[''\]: the kind must be 1 to 255"),
        ({'*x': {}}, r"notification_kinds\['\*x'\]: the kind must not start with \*"),
        ({'a': 'web'}, r"notification_kinds\['a'\] must be a dict"),
        ({'a': {'colour': 1}}, r"notification_kinds\['a'\]: unknown key 'colour'"),
        ({'a': {'label': ''}}, r"notification_kinds\['a'\]: label must be a non-empty"),
        ({'a': {'channels': 'web'}}, r"notification_kinds\['a'\]: channels must be a list"),
        ({'a': {'channels': ['sms']}}, r"notification_kinds\['a'\]: channels has 'sms'"),
    ],
)
def test_kinds_are_checked_at_plug_time_naming_the_option(kinds, message):
    with pytest.raises(ConfigurationError, match=message):
        validate({'notification_kinds': kinds})


def test_digest_and_mail_options_are_checked():
    with pytest.raises(ConfigurationError, match='digest_period must be one of daily, weekly'):
        validate({'digest_period': 'hourly'})
    with pytest.raises(ConfigurationError, match='digest_subject must be a format string'):
        validate({'digest_subject': '{total}'})
    with pytest.raises(ConfigurationError, match='mail_transport must be one of smtp'):
        validate({'mail_transport': 'pigeon'})
    kinds = validate({'notification_kinds': {'x': {'channels': ['digest', 'web']}}})
    assert kinds['notification_kinds'] == {'x': {'label': 'x', 'channels': ('web', 'digest')}}


def test_get_gives_defaults_and_set_overrides_per_kind(env):
    bob = env.user('bob@example.com')
    assert preferences.get(bob) == {'commented': ['web', 'email'], 'liked': ['web']}
    assert preferences.set(bob, 'commented', ['digest', 'web']) == ['web', 'digest']
    assert preferences.set(bob, 'liked', []) == []
    env.commit()
    assert preferences.get(bob) == {'commented': ['web', 'digest'], 'liked': []}
    assert preferences.set(bob, 'liked', ['email']) == ['email']  # replaced, not added
    assert preferences.get(bob)['liked'] == ['email']
    assert preferences.digest_period(bob) == 'daily'
    preferences.set_digest_period(bob, 'weekly')
    assert preferences.digest_period(bob) == 'weekly'
    assert preferences.get(env.user('carol@example.com')) == {
        'commented': ['web', 'email'],
        'liked': ['web'],
    }


def test_bad_input_names_the_argument_and_stores_nothing(env):
    bob = env.user('bob@example.com')
    with pytest.raises(ValueError, match="kind 'shared' is not declared; declared kinds: "):
        preferences.set(bob, 'shared', ['web'])
    with pytest.raises(ValueError, match="channels has 'sms'"):
        preferences.set(bob, 'commented', ['web', 'sms'])
    with pytest.raises(ValueError, match='channels must be a list'):
        preferences.set(bob, 'commented', 'web')
    with pytest.raises(TypeError, match='kind must be a string'):
        preferences.set(bob, 3, ['web'])
    with pytest.raises(ValueError, match='period must be one of daily, weekly'):
        preferences.set_digest_period(bob, 'monthly')
    with pytest.raises(TypeError, match='kind must be a string'):
        subscriptions.emit('x', send_only_to=bob, actor=bob, kind=3)
    with pytest.raises(ValueError, match='kind must not start with'):
        am.create(bob, 'said', recipients=[env.user('carol')], kind='*x')
    assert model.storage().preferences(refs.ref_of(bob, 'bob')) == {}
    assert am.get_actions(actor=bob, everything=True).count() == 0


def _audience(env, doc, names):
    alice = env.user('alice@example.com', 'Alice')
    users = [env.user(f'{name}@example.com', name.title()) for name in names]
    for user in users:
        subscriptions.subscribe(user, doc)
    return alice, users


def _inbox(user):
    return [a.description for a in am.get_by_recipient(user).all()]


def test_emit_honours_web_and_email_per_recipient(env, smtp):
    mailbox, _ = smtp
    doc = env.document('Plan')
    alice, (bob, carol, dan) = _audience(env, doc, ['bob', 'carol', 'dan'])
    preferences.set(bob, 'commented', ['email'])  # no web
    preferences.set(carol, 'commented', ['web'])  # no mail
    preferences.set(dan, 'commented', [])  # nothing at all
    env.commit()
    subscriptions.emit('{actor} commented', subscribers_of=doc, actor=alice, verb='commented')
    env.commit()
    assert [_inbox(u) for u in (bob, carol, dan)] == [[], ['Alice commented'], []]
    assert [m['To'] for m in mailbox.messages] == ['bob@example.com']
    # another kind is not affected; kind= beats the verb
    subscriptions.emit('{actor} liked', subscribers_of=doc, actor=alice, verb='liked it')
    subscriptions.emit('{actor} wrote', subscribers_of=doc, actor=alice, kind='liked')
    env.commit()
    assert [len(_inbox(u)) for u in (bob, carol, dan)] == [2, 3, 2]
    assert len(mailbox.messages) == 1 + 3  # 'liked it' is undeclared: web and email


def test_a_large_audience_honours_them_page_by_page(smtp):
    """Past emit_inline_limit, the runner's deliver jobs filter each page."""
    mailbox, port = smtp
    mailbox.messages.clear()
    env = kinds_app('sqlite', port, emit_inline_limit=1, emit_page_size=2)
    doc = env.document('Plan')
    alice, users = _audience(env, doc, ['bob', 'carol', 'dan', 'erin', 'fay'])
    for user in users[::2]:
        preferences.set(user, 'commented', [])
    env.commit()
    subscriptions.emit('{actor} commented', subscribers_of=doc, actor=alice, verb='commented')
    env.commit()
    assert [bool(_inbox(u)) for u in users] == [False, True, False, True, False]
    assert sorted(m['To'] for m in mailbox.messages) == ['carol@example.com', 'erin@example.com']


@pytest.mark.parametrize('backend', BACKENDS)
def test_one_preference_query_per_page_whatever_its_size(smtp, backend):
    mailbox, port = smtp

    def queries(count):
        mailbox.messages.clear()
        env = kinds_app(backend, port, emit_inline_limit=0)
        doc = env.document('Plan')
        alice, users = _audience(env, doc, [f'u{n}' for n in range(count)])
        preferences.set(users[0], 'commented', ['web'])
        env.commit()
        subscriptions.emit('{actor} commented', subscribers_of=doc, actor=alice, verb='commented')
        with env.count_queries() as seen:
            env.commit()
        assert len(mailbox.messages) == count - 1
        return seen

    small, large = queries(3), queries(30)
    assert len(small) == len(large)
    if backend in ('sqlite', 'postgresql'):
        assert sum('activitystream_preferences' in s for s in large) == 1


def test_digest_choice_holds_the_notification_instead_of_mailing(env, smtp):
    mailbox, _ = smtp
    doc = env.document('Plan')
    alice, (bob, carol) = _audience(env, doc, ['bob', 'carol'])
    preferences.set(bob, 'commented', ['web', 'digest'])
    env.commit()
    subscriptions.emit('{actor} commented', subscribers_of=doc, actor=alice, verb='commented')
    env.commit()
    assert [m['To'] for m in mailbox.messages] == ['carol@example.com']
    storage = model.storage()
    held = storage.digest_items(refs.ref_of(bob, 'bob'), _far_future(), 10)
    assert [(i.kind, i.verb, i.text, i.target) for i in held] == [
        ('commented', 'commented', 'Alice commented', refs.ref_of(doc, 'doc'))
    ]
    assert storage.digest_items(refs.ref_of(carol, 'carol'), _far_future(), 10) == []


def test_am_create_honours_the_web_channel(env):
    alice = env.user('alice@example.com')
    bob, carol = env.user('bob@example.com'), env.user('carol@example.com')
    preferences.set(bob, 'commented', ['email'])
    env.commit()
    am.create(alice, 'commented', recipients=[bob, carol], description='by verb')
    am.create(alice, 'wrote', recipients=[bob, carol], description='by kind', kind='commented')
    am.create(alice, 'wrote', recipients=[bob, carol], description='undeclared')
    env.commit()
    assert _inbox(bob) == ['undeclared']
    assert _inbox(carol) == ['undeclared', 'by kind', 'by verb']


def _far_future():
    import datetime as dt

    return dt.datetime(2999, 1, 1)
