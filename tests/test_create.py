"""am.create / am.create_many: what is stored, and what is refused."""

import datetime as dt
import uuid
from contextlib import nullcontext

import pytest

from activitystream import am
from activitystream.delivery import runner
from activitystream.storage.sqla import copy


def test_create_returns_the_stored_action(env):
    alice, bob = env.user('alice', 'Alice'), env.user('bob')
    post = env.document('First post')
    when = dt.datetime(2026, 1, 2, 3, 4, 5, 678901)
    action = am.create(
        alice,
        'commented',
        target=post,
        action_obj=bob,
        description='nice',
        extra={'n': 1, 'tags': ['a']},
        recipients=[bob],
        timestamp=when,
    )
    assert action.id is not None
    assert (action.actor, action.verb, action.target) == ('Alice', 'commented', 'First post')
    assert action.action_obj is bob and action.actor_entity is alice
    assert action.description == 'nice'
    assert action.extra == {'n': 1, 'tags': ['a']}
    assert action.timestamp == dt.datetime(2026, 1, 2, 3, 4, 5, 678000)  # milliseconds kept
    assert action.recipients == [bob]
    assert action.broadcast is False

    stored = am.get_by_recipient(bob).first()
    assert stored.id == action.id
    assert stored.extra == {'n': 1, 'tags': ['a']}
    assert stored.timestamp == action.timestamp
    assert stored.description == 'nice'
    assert stored.target_entity.title == 'First post'
    assert [u.user_name for u in stored.recipients] == ['bob']


def test_extra_string_is_given_back_as_a_string(env):
    alice = env.user('alice')
    am.create(alice, 'did', extra='{"raw": "json text"}')
    assert am.get_actions(actor=alice).first().extra == '{"raw": "json text"}'


def test_timestamps_are_utc(env):
    alice = env.user('alice')
    rome = dt.timezone(dt.timedelta(hours=2))
    aware = am.create(alice, 'aware', timestamp=dt.datetime(2026, 5, 1, 12, 0, tzinfo=rome))
    naive = am.create(alice, 'naive', timestamp=dt.datetime(2026, 5, 1, 12, 0))
    assert aware.timestamp == dt.datetime(2026, 5, 1, 10, 0)
    assert naive.timestamp == dt.datetime(2026, 5, 1, 12, 0)
    before = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None) - dt.timedelta(seconds=1)
    default = am.create(alice, 'now')
    assert before <= default.timestamp <= before + dt.timedelta(seconds=5)


def test_entities_of_any_class_and_key_type(env):
    alice, team, doc = env.user('alice'), env.team('core'), env.document('Spec')
    member = env.member('mia')
    action = am.create(team, 'published', target=doc, action_obj=alice, recipients=[alice, member])
    for recipient in (alice, member):
        got = am.get_by_recipient(recipient).all()
        assert [a.id for a in got] == [action.id]
        assert got[0].actor == 'team core'  # no as_str: str() of the entity
        assert got[0].actor_entity.name == 'core'
        assert got[0].target == 'Spec'
        assert got[0].action_obj.user_name == 'alice'
    assert action.actor_ref.type == 'Team' and action.actor_ref.id == 'core'
    if env.backend in ('sqlite', 'postgresql'):
        assert uuid.UUID(action.target_ref.id) == doc.uid
    else:
        assert action.target_ref.id == str(doc._id)


def test_duplicate_recipients_are_delivered_once(env):
    alice, bob = env.user('alice'), env.user('bob')
    am.create(alice, 'pinged', recipients=[bob, bob])
    assert am.get_by_recipient(bob).count() == 1


def test_a_single_recipient_entity_is_a_list_of_one(env):
    alice, bob = env.user('alice'), env.user('bob')
    am.create(alice, 'pinged', recipients=bob)
    assert am.get_by_recipient(bob).count() == 1
    assert am.get_by_recipient(alice).count() == 0


@pytest.mark.parametrize(
    'kwargs, error, words',
    [
        (dict(actor=None), ValueError, 'actor is required'),
        (dict(actor='alice'), TypeError, 'actor must be a mapped entity'),
        (dict(actor=42), TypeError, 'actor must be a mapped entity'),
        (dict(verb=''), ValueError, 'verb must not be empty'),
        (dict(verb='   '), ValueError, 'verb must not be empty'),
        (dict(verb=None), ValueError, 'verb is required'),
        (dict(verb=7), TypeError, 'verb must be a string'),
        (dict(verb='x' * 256), ValueError, 'verb is 256 characters long'),
        (dict(target=object()), TypeError, 'target must be a mapped entity'),
        (dict(action_obj={'id': 1}), TypeError, 'action_obj must be a mapped entity'),
        (dict(description=5), TypeError, 'description must be a string'),
        (
            dict(extra={'when': dt.datetime(2020, 1, 1)}),
            TypeError,
            'extra is not JSON-serializable',
        ),
        (dict(extra=float('nan')), TypeError, 'extra is not JSON-serializable'),
        (dict(recipients='bob'), TypeError, 'recipients must be a list of mapped entities'),
        (dict(recipients=5), TypeError, 'recipients must be a list of mapped entities'),
        (dict(recipients=['USER', 'bob']), TypeError, 'recipients[1] must be a mapped entity'),
        (dict(recipients=['USER', None]), TypeError, 'recipients[1] is None'),
        (dict(timestamp='2020-01-01'), TypeError, 'timestamp must be a datetime'),
        (dict(timestamp=dt.date(2020, 1, 1)), TypeError, 'timestamp must be a datetime'),
    ],
)
def test_bad_input_names_the_argument_and_writes_nothing(env, kwargs, error, words):
    alice, bob = env.user('alice'), env.user('bob')
    args = dict(actor=alice, verb='did', recipients=[bob])
    args.update(kwargs)
    if isinstance(args['recipients'], list):
        args['recipients'] = [bob if r == 'USER' else r for r in args['recipients']]
    with pytest.raises(error, match=words.replace('[', r'\[').replace(']', r'\]')):
        am.create(**args)
    assert am.get_actions(everything=True).count() == 0
    assert am.get_by_recipient(bob).count() == 0


def test_the_longest_verb_fits(env):
    alice = env.user('alice')
    am.create(alice, 'x' * 255)
    assert am.get_actions(actor=alice).first().verb == 'x' * 255


def test_create_many_writes_all_items(env):
    alice, bob, carol = env.user('alice'), env.user('bob'), env.user('carol')
    base = dt.datetime(2026, 3, 1)
    created = am.create_many(
        [
            dict(actor=alice, verb='posted', recipients=[bob, carol], timestamp=base),
            dict(actor=bob, verb='liked', target=alice, timestamp=base + dt.timedelta(hours=1)),
            dict(actor=carol, verb='said', recipients=[bob], extra={'k': 'v'}),
        ]
    )
    assert [a.verb for a in created] == ['posted', 'liked', 'said']
    # bob's own broadcast is not a notification for bob
    assert [a.verb for a in am.get_by_recipient(bob)] == ['said', 'posted']
    assert [a.verb for a in am.get_by_recipient(carol)] == ['liked', 'posted']
    assert am.create_many([]) == []


def test_create_many_refuses_a_bad_item_and_writes_nothing(env):
    alice, bob = env.user('alice'), env.user('bob')
    good = dict(actor=alice, verb='posted', recipients=[bob])
    with pytest.raises(TypeError, match=r'items\[1\]\.recipients\[0\] must be a mapped entity'):
        am.create_many([good, dict(actor=alice, verb='x', recipients=['bob'])])
    with pytest.raises(ValueError, match=r'items\[2\]\.verb must not be empty'):
        am.create_many([good, good, dict(actor=alice, verb='')])
    with pytest.raises(TypeError, match=r'items\[0\]\.colour is not an argument of create'):
        am.create_many([dict(good, colour='red')])
    with pytest.raises(TypeError, match=r'items\[0\] must be a dict'):
        am.create_many([('alice', 'posted')])
    with pytest.raises(TypeError, match='items must be a list of dicts'):
        am.create_many(good)
    assert am.get_actions(everything=True).count() == 0


def test_unsaved_sqlalchemy_entity_gets_its_key(sqla_env):
    """Ming entities have their ObjectId from construction; SQLAlchemy ones get it on flush."""
    env = sqla_env
    alice = env.model.User(user_name='alice')
    env.model.DBSession.add(alice)  # pending, no key yet
    action = am.create(alice, 'joined')
    assert action.actor_ref.id == str(alice.user_id)


def test_a_request_that_only_creates_an_action_commits_it(env):
    """TG commits through zope.sqlalchemy, which must notice our bulk inserts."""
    alice, bob = env.user('alice'), env.user('bob')
    env.commit()
    env.app.get('/greet', params={'to': 'bob'}, extra_environ=env.login(alice))
    env.clear_session()
    reply = env.app.get('/my_notifications', extra_environ=env.login(bob))
    assert reply.json['unseen'] == 1
    assert [item['verb'] for item in reply.json['items']] == ['greeted']


def test_a_write_to_many_recipients_is_one_bulk_statement(env, monkeypatch):
    alice = env.user('alice')
    recipients = [env.user(f'r{i}') for i in range(2000)]
    env.commit()
    monkeypatch.setattr(runner, 'kick', lambda: None)  # create's own writes, not the runner's
    copies = []  # PostgreSQL's COPY goes past the statement events: counted where it is built
    monkeypatch.setattr(
        copy,
        'copy_text',
        lambda rows, columns, text=copy.copy_text: copies.append(1) or text(rows, columns),
    )
    # the action, every delivery at once, the two push jobs of its 2,000 live updates
    # (MongoDB: written not ready, then made ready: it has no transaction); on SQL, the
    # recipients' keys too: PostgreSQL reads them (and registers the missing on an engine
    # of its own, which these events do not see), SQLite reads them, and the first time
    # registers the missing and reads theirs
    for first in (True, False):
        with env.count_queries() as sent:
            am.create(alice, 'announced', recipients=recipients)
        env.commit()
        written = len(sent) + len(copies)
        assert written == (6 if first and env.backend == 'sqlite' else 4), sent
        assert len(copies) == (env.backend == 'postgresql')
        copies.clear()
    assert am.get_by_recipient(recipients[1999]).count() == 2


def test_a_batch_of_actions_with_different_empty_fields_is_one_insert(env, monkeypatch):
    """PostgreSQL: one multi-row INSERT of actions, whichever of their columns are None."""
    alice, bob = env.user('alice'), env.user('bob')
    doc = env.document('Doc')
    env.commit()
    monkeypatch.setattr(runner, 'kick', lambda: None)
    items = [
        dict(actor=alice, verb=f'v{i}', recipients=[bob], target=doc if i % 2 else None,
             description='d' if i % 3 else None, extra={'i': i} if i % 5 else None)
        for i in range(30)
    ]  # fmt: skip
    with env.count_queries() if env.sql else nullcontext([]) as sent:
        made = am.create_many(items)
    assert [a.verb for a in made] == [f'v{i}' for i in range(30)]
    assert [a.target_entity is doc for a in made] == [bool(i % 2) for i in range(30)]
    inserts = [s for s in sent if s.startswith('INSERT INTO activitystream_actions')]
    if env.backend == 'postgresql':  # SQLite returns ids row by row: no ordered RETURNING
        assert len(inserts) == 1, inserts


def test_references_can_stand_for_entities(env):
    """An import can name entities by Ref(type, id) without loading them."""
    from activitystream.refs import ref_of

    alice, bob = env.user('alice', 'Alice'), env.user('bob')
    doc = env.document('Doc')
    action = am.create(ref_of(alice, 'a'), 'edited', target=doc, recipients=[ref_of(bob, 'b')])
    assert action.actor == 'Alice'  # loaded when asked
    assert action.target_entity is doc
    assert [u.user_name for u in action.recipients] == ['bob']
    assert am.get_actions(actor=ref_of(alice, 'a'), viewer=ref_of(bob, 'b')).count() == 1
