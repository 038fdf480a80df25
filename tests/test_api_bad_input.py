"""Bad input to the Python API: an error naming the argument, nothing written, on every backend."""

import pytest

from activitystream import am, subscriptions
from activitystream.query import MAX_WINDOW

from .test_emit import plugged

BAD_TEXTS = [('nul', 'a\x00b', 'NUL character'), ('surrogate', 'a\udc80b', 'lone surrogate')]


@pytest.mark.parametrize('call', ['limit', 'offset', 'index', 'slice'])
def test_windows_beyond_what_databases_take(env, call):
    bob = env.user('bob')
    am.create(env.user('alice'), 'hi', recipients=[bob])
    query = am.get_by_recipient(bob)
    attempts = {
        'limit': (lambda: query.limit(2**63), 'limit must be at most'),
        'offset': (lambda: query.offset(10**20), 'offset must be at most'),
        'index': (lambda: query[2**63], 'index must be at most'),
        'slice': (lambda: query.offset(MAX_WINDOW)[5:], 'offset must be at most'),
    }
    attempt, message = attempts[call]
    with pytest.raises(ValueError, match=message):
        attempt()
    assert query.limit(MAX_WINDOW).offset(MAX_WINDOW).all() == []  # the largest is fine
    assert [a.verb for a in query] == ['hi']


def test_mark_read_with_something_that_is_no_action_id(env):
    bob = env.user('bob')
    action = am.create(env.user('alice'), 'hi', recipients=[bob])
    for bad in (['abc'], [action, -1], [None], [2**70], [True]):
        with pytest.raises(ValueError, match=r'actions\[\d\] is not an action or an action id'):
            am.mark_read(bob, bad)
    # the transaction is still good (PostgreSQL would refuse everything after an error)
    assert am.mark_read(bob, [str(action.id)]) == 1
    assert am.count_unread_by_recipient(bob) == 0


@pytest.mark.parametrize('name, text, problem', BAD_TEXTS)
def test_texts_no_database_stores(env, name, text, problem):
    alice, bob = env.user('alice'), env.user('bob')
    for argument in ('verb', 'description'):
        arguments = {'actor': alice, 'verb': 'said', 'recipients': [bob], argument: text}
        with pytest.raises(ValueError, match=f'{argument} must not contain a {problem}'):
            am.create(**arguments)
        with pytest.raises(ValueError, match=f'items.1..{argument} must not contain'):
            am.create_many([dict(actor=alice, verb='fine'), arguments])
    with pytest.raises(ValueError, match=f'verb must not contain a {problem}'):
        am.get_actions(verb=text)
    assert am.get_actions(everything=True).count() == 0
    assert am.create(alice, 'said', description='fine', recipients=[bob]).description == 'fine'


@pytest.mark.parametrize('backend', ['sqlite', 'postgresql', 'ming'])
@pytest.mark.parametrize('name, text, problem', BAD_TEXTS)
def test_emit_refuses_bad_texts_before_anything_is_queued(backend, name, text, problem):
    env = plugged(
        backend,
        activitystream='activitystream.subscriptions.backends.ActivityStreamBackend',
        later='tests.subscription_support.LaterRecorder',
    )
    doc, alice = env.document('Plan'), env.user('alice')
    subscriptions.subscribe(env.user('bob'), doc)
    attempts = [
        (dict(verb=f'bad{text}verb'), f'verb must not contain a {problem}'),
        (dict(), f'text, once formatted, must not contain a {problem}', {'x': text}),
        (dict(actor_display_other=text), f'actor_display_other must not contain a {problem}'),
    ]
    for kwargs, message, *values in attempts:
        format_kwargs = values[0] if values else None
        with pytest.raises(ValueError, match=message):
            subscriptions.emit(
                '{actor} wrote {x}',
                subscribers_of=doc,
                actor=alice,
                format_kwargs=format_kwargs or {'x': 'y'},
                **kwargs,
            )
    env.commit()
    assert am.get_actions(everything=True).count() == 0
    assert subscriptions.failed_deliveries() == []


@pytest.mark.parametrize('backend', ['sqlite', 'postgresql', 'ming'])
def test_emit_names_a_keyword_no_backend_takes(backend):
    env = plugged(
        backend, activitystream='activitystream.subscriptions.backends.ActivityStreamBackend'
    )
    doc, alice = env.document('Plan'), env.user('alice')
    subscriptions.subscribe(env.user('bob'), doc)
    with pytest.raises(TypeError, match="unexpected keyword argument 'verbe'"):
        subscriptions.emit('x', subscribers_of=doc, actor=alice, verbe='liked')
    env.commit()
    assert am.get_actions(everything=True).count() == 0
    subscriptions.emit('x', subscribers_of=doc, actor=alice, verb='liked', public=True)
    assert [a.verb for a in am.get_actions(target=doc)] == ['liked']


@pytest.mark.parametrize('backend', ['sqlite', 'ming'])
def test_a_backend_taking_any_keyword_lets_them_through(backend):
    """A mail template may use any keyword: with such a backend chosen, none is refused."""
    env = plugged(
        backend,
        activitystream='activitystream.subscriptions.backends.ActivityStreamBackend',
        later='tests.subscription_support.LaterRecorder',
    )
    doc, alice = env.document('Plan'), env.user('alice')
    subscriptions.subscribe(env.user('bob'), doc)
    subscriptions.emit('x', subscribers_of=doc, actor=alice, comment_id=3)
    env.commit()
    assert am.get_actions(everything=True).count() == 1
