"""subscriptions.emit(): recipients, per-recipient text, backend choice, kwargs, failures."""

import logging

import pytest
import transaction

from activitystream import am, model, subscriptions

from . import subscription_support as support
from .harness import BACKENDS, build_app

BACKENDS_OPTION = {
    'now': 'tests.subscription_support.Recorder',
    'later': 'tests.subscription_support.LaterRecorder',
    'activitystream': 'activitystream.subscriptions.backends.ActivityStreamBackend',
}


def plugged(backend, **backends):
    support.deliveries.clear()
    return build_app(backend, subscription_backends=backends or BACKENDS_OPTION)


@pytest.fixture(params=BACKENDS)
def env(request):
    """An app on each database backend whose emit() records what it delivers."""
    return plugged(request.param)


@pytest.fixture(params=[b for b in BACKENDS if b in ('sqlite', 'postgresql')])
def sqla_env(request):
    return plugged(request.param)


@pytest.fixture
def post(env):
    """A document with four subscribers: alice (who will act), bob, carol and dan."""
    doc = env.document('Plan')
    people = {name: env.user(name, name.title()) for name in ('alice', 'bob', 'carol', 'dan')}
    for person in people.values():
        subscriptions.subscribe(person, doc)
    return doc, people


def now(backend='now'):
    return sorted(support.recorded(backend))


def test_the_subscribers_of_an_object_get_the_text(env, post):
    doc, people = post
    assert (
        subscriptions.emit('Something happened to Plan', subscribers_of=doc, backends=['now'])
        is None
    )
    assert now() == [(n, 'Something happened to Plan') for n in ('alice', 'bob', 'carol', 'dan')]


def test_dont_send_to_an_entity_or_a_list(env, post):
    doc, people = post
    subscriptions.emit('x', subscribers_of=doc, dont_send_to=people['alice'], backends=['now'])
    assert [n for n, _ in now()] == ['bob', 'carol', 'dan']
    support.deliveries.clear()
    leave_out = [people['bob'], people['dan'], env.user('stranger')]
    subscriptions.emit('x', subscribers_of=doc, dont_send_to=leave_out, backends=['now'])
    assert [n for n, _ in now()] == ['alice', 'carol']


def test_send_only_to_restricts_the_subscribers(env, post):
    doc, people = post
    stranger = env.user('stranger')
    only = [people['bob'], people['carol'], stranger]  # the stranger is no subscriber
    subscriptions.emit('x', subscribers_of=doc, send_only_to=only, backends=['now'])
    assert [n for n, _ in now()] == ['bob', 'carol']


def test_send_only_to_without_subscribers_of_is_exactly_those(env, post):
    doc, people = post
    stranger = env.user('stranger')
    subscriptions.emit('hi', send_only_to=stranger, backends=['now'])
    assert now() == [('stranger', 'hi')]
    support.deliveries.clear()
    subscriptions.emit(
        'hi',
        send_only_to=[stranger, people['bob'], stranger],
        dont_send_to=people['bob'],
        backends=['now'],
    )
    assert now() == [('stranger', 'hi')]  # once, and bob is left out


def test_the_actor_reads_you_and_everyone_else_the_actors_name(env, post):
    doc, people = post
    subscriptions.emit(
        '{actor} commented on {title}',
        subscribers_of=doc,
        actor=people['alice'],
        format_kwargs={'title': 'Plan'},
        backends=['now'],
    )
    assert now() == [
        ('alice', 'You commented on Plan'),
        ('bob', 'Alice commented on Plan'),
        ('carol', 'Alice commented on Plan'),
        ('dan', 'Alice commented on Plan'),
    ]


def test_actor_display_self_and_other(env, post):
    doc, people = post
    subscriptions.emit(
        '{actor} moved it',
        subscribers_of=doc,
        actor=people['carol'],
        actor_display_self='You yourself',
        actor_display_other='Someone',
        backends=['now'],
    )
    assert now() == [
        ('alice', 'Someone moved it'),
        ('bob', 'Someone moved it'),
        ('carol', 'You yourself moved it'),
        ('dan', 'Someone moved it'),
    ]


def test_an_actor_without_as_str_shows_as_str(env, post):
    doc, people = post
    team = env.team('ops')
    subscriptions.emit('{actor} took it', subscribers_of=doc, actor=team, backends=['now'])
    assert {text for _, text in now()} == {'team ops took it'}


def test_formatting_never_leaks_between_recipients(env, post):
    """The actor is delivered first and last: everyone else still reads the actor's name."""
    doc, people = post
    format_kwargs = {'title': 'Plan'}
    for actor in (people['dan'], people['alice']):  # the newest and the oldest subscriber
        support.deliveries.clear()
        subscriptions.emit(
            '{actor} edited {title}',
            subscribers_of=doc,
            actor=actor,
            format_kwargs=format_kwargs,
            backends=['now'],
        )
        texts = dict(now())
        assert texts.pop(actor.user_name) == 'You edited Plan'
        assert set(texts.values()) == {f'{actor.user_name.title()} edited Plan'}
    assert format_kwargs == {'title': 'Plan'}  # the caller's dict is not touched


def test_format_kwargs_without_an_actor(env, post):
    doc, _ = post
    subscriptions.emit(
        '{n} new {{things}}', subscribers_of=doc, format_kwargs={'n': 3}, backends=['now']
    )
    assert {text for _, text in now()} == {'3 new {things}'}


def test_backends_picks_some_of_the_configured(env, post):
    doc, _ = post
    subscriptions.emit('x', subscribers_of=doc, backends=['later'])
    env.commit()
    assert support.recorded('now') == [] and len(support.recorded('later')) == 4
    assert am.get_actions(target=doc, everything=True).count() == 0
    subscriptions.emit('y', subscribers_of=doc, backends=[])
    env.commit()
    assert len(support.deliveries) == 4


def test_every_configured_backend_by_default(env, post):
    doc, people = post
    subscriptions.emit('{actor} changed it', subscribers_of=doc, actor=people['alice'])
    env.commit()
    assert len(support.recorded('now')) == len(support.recorded('later')) == 4
    # one action for everyone else; alice is not notified of her own change
    assert am.get_actions(target=doc, everything=True).count() == 1


def test_kwargs_reach_the_backends_untouched(env, post):
    doc, people = post
    payload = {'comment_id': 7, 'tags': ['a', 'b']}
    subscriptions.emit(
        'x',
        subscribers_of=doc,
        send_only_to=people['bob'],
        backends=['now', 'later'],
        payload=payload,
        priority=2,
        about=people['carol'],
    )
    env.commit()
    for name in ('now', 'later'):
        [(_, _, _, kwargs)] = [d for d in support.deliveries if d[0] == name]
        assert {k: v for k, v in kwargs.items() if k != 'about'} == {
            'payload': payload,
            'priority': 2,
        }
        assert kwargs['about'].user_name == people['carol'].user_name
    [(_, _, _, kwargs)] = [d for d in support.deliveries if d[0] == 'now']
    assert kwargs['payload'] is payload and kwargs['about'] is people['carol']
    # after the commit (SQLAlchemy) the host's session is closed: entities come loaded again


def test_nobody_subscribed_delivers_nothing(env):
    doc = env.document('Lonely')
    subscriptions.emit('x', subscribers_of=doc)
    env.commit()
    assert support.deliveries == []
    assert model.storage().job_counts() == {'pending': 0, 'dead': 0}  # the emit job is done


def test_emitting_to_many_subscribers_costs_a_few_queries(env):
    doc = env.document('Plan')
    for i in range(30):
        subscriptions.subscribe(env.user(f'user{i}'), doc)
    subscriptions.subscribe(env.team('ops'), doc)
    env.commit()
    env.clear_session()
    with env.count_queries() as queries:
        subscriptions.emit('x', subscribers_of=doc, backends=['now'])
    assert len(now()) == 31
    # the audience's size, the subscribers, their entities (one query per class on Ming), the job
    assert len(queries) <= 5


def test_the_activitystream_backend_stores_notifications(env, post):
    doc, people = post
    alice = people['alice']
    subscriptions.emit(
        '{actor} commented on Plan',
        subscribers_of=doc,
        actor=alice,
        backends=['activitystream'],
        verb='commented on',
        action_obj=env.team('ops'),
        extra={'comment': 3},
    )
    env.commit()
    [for_bob] = am.get_by_recipient(people['bob']).all()
    assert (for_bob.actor, for_bob.verb, for_bob.target) == ('Alice', 'commented on', 'Plan')
    assert for_bob.description == 'Alice commented on Plan'
    assert str(for_bob.action_obj) == 'team ops' and for_bob.extra == {'comment': 3}
    assert sorted(u.user_name for u in for_bob.recipients) == ['bob', 'carol', 'dan']
    assert am.get_by_recipient(alice).all() == []  # nobody is notified of their own action
    assert am.count_not_seen_by_recipient(people['carol']) == 1


def test_the_activitystream_backend_without_an_actor_uses_the_object(env, post):
    doc, people = post
    subscriptions.emit('Plan was archived', subscribers_of=doc, backends=['activitystream'])
    env.commit()
    [action] = am.get_by_recipient(people['bob']).all()
    assert (action.actor, action.verb, action.target) == ('Plan', 'notified', 'Plan')
    assert action.description == 'Plan was archived'


def test_deferred_backends_deliver_after_the_commit(sqla_env):
    doc, bob = sqla_env.document('Plan'), sqla_env.user('bob')
    subscriptions.subscribe(bob, doc)
    subscriptions.emit('x', subscribers_of=doc, backends=['now', 'later'])
    assert support.recorded() == [('bob', 'x')]  # only the one inside the transaction
    sqla_env.commit()
    assert support.recorded('later') == [('bob', 'x')]


def test_a_rolled_back_emit_delivers_nothing_later(sqla_env):
    doc, bob = sqla_env.document('Plan'), sqla_env.user('bob')
    subscriptions.subscribe(bob, doc)
    sqla_env.commit()
    subscriptions.emit('x', subscribers_of=doc, backends=['later', 'activitystream'], actor=bob)
    transaction.abort()
    sqla_env.commit()
    assert support.deliveries == []
    assert am.get_actions(everything=True).count() == 0


def test_after_the_commit_entities_are_loaded_again(sqla_env):
    """The host's session expires and closes its entities at commit (quickstart's default)."""
    doc, bob = sqla_env.document('Plan'), sqla_env.user('bob')
    alice = sqla_env.user('alice', 'Alice')
    subscriptions.subscribe(bob, doc)
    subscriptions.emit('{actor} did it', subscribers_of=doc, actor=alice, backends=['later'])
    sqla_env.model.DBSession.expire_all()
    sqla_env.commit()
    [(_, recipient, text, _)] = support.deliveries
    assert (recipient.user_name, text) == ('bob', 'Alice did it')
    assert subscriptions.failed_deliveries() == []


@pytest.mark.parametrize(
    'arguments, error, words',
    [
        (dict(text=3), TypeError, 'text must be a string'),
        (dict(subscribers_of=None), ValueError, 'needs subscribers_of or send_only_to'),
        (dict(subscribers_of='Plan'), TypeError, 'subscribers_of must be a mapped entity'),
        (dict(actor=object()), TypeError, 'actor must be a mapped entity'),
        (dict(dont_send_to=['bob']), TypeError, r'dont_send_to\[0\] must be a mapped entity'),
        (dict(send_only_to=3), TypeError, 'send_only_to must be a list of mapped entities'),
        (dict(actor_display_self=None), TypeError, 'actor_display_self must be a string'),
        (dict(actor_display_other=1), TypeError, 'actor_display_other must be a string'),
        (dict(format_kwargs=['x']), TypeError, 'format_kwargs must be a dict'),
        (dict(text='{missing}'), ValueError, r'text uses \{missing\}, which format_kwargs'),
        (dict(text='{0}'), ValueError, 'text has positional fields'),
        (dict(text='{x:d}', format_kwargs={'x': 'a'}), ValueError, 'text cannot be formatted'),
        (dict(backends='now'), TypeError, 'backends must be a list of backend names'),
        (dict(backends=['now', 'fax']), ValueError, r"backends\[1\] 'fax' is not configured"),
        (dict(verb=''), ValueError, 'verb must not be empty'),
        (dict(extra=object()), TypeError, 'extra is not JSON-serializable'),
        (dict(subscribers_of=None, send_only_to=[]), ValueError, 'activitystream backend needs'),
    ],
)
def test_bad_arguments_are_named_and_nothing_is_delivered(env, post, arguments, error, words):
    doc, people = post
    call = dict(dict(text='x', subscribers_of=doc), **arguments)
    with pytest.raises(error, match=words):
        subscriptions.emit(call.pop('text'), **call)
    env.commit()
    assert support.deliveries == []
    assert am.get_actions(everything=True).count() == 0


@pytest.mark.parametrize('backend', BACKENDS)
def test_one_failing_backend_stops_nothing_else(backend, caplog):
    env = plugged(
        backend,
        broken='tests.subscription_support.Broken',
        now='tests.subscription_support.Recorder',
        activitystream='activitystream.subscriptions.backends.ActivityStreamBackend',
    )
    doc = env.document('Plan')
    for name in ('bob', 'carol'):
        subscriptions.subscribe(env.user(name), doc)
    with caplog.at_level(logging.ERROR, logger='activitystream.subscriptions'):
        subscriptions.emit('x', subscribers_of=doc, actor=doc, verb='changed', level=3)
        env.commit()
    assert sorted(support.recorded('now')) == [('bob', 'x'), ('carol', 'x')]
    assert am.get_actions(target=doc, everything=True).count() == 1
    assert 'broken backend failed to deliver 2 of 2 messages' in caplog.text
    kept = subscriptions.failed_deliveries()
    assert [(f.backend, f.text, f.attempts) for f in kept] == [('broken', 'x', 1)] * 2
    assert {f.error for f in kept} == {'broken: 2 of 2 failed, ConnectionError: the server is down'}
    assert kept[0].kwargs == '{"level": 3, "verb": "changed"}'
    assert kept[0].obj == kept[0].actor


@pytest.mark.parametrize('backend', BACKENDS)
def test_a_failure_for_one_recipient_keeps_only_that_one(backend):
    env = plugged(backend, picky='tests.subscription_support.FailsForBob')
    doc = env.document('Plan')
    for name in ('bob', 'carol', 'dan'):
        subscriptions.subscribe(env.user(name), doc)
    subscriptions.emit('x', subscribers_of=doc)
    env.commit()
    assert sorted(support.recorded('picky')) == [('carol', 'x'), ('dan', 'x')]
    [kept] = subscriptions.failed_deliveries()
    assert kept.error == 'picky: ValueError: no channel to bob'
