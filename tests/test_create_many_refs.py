"""am.create_many (and create) take stored references where they take entities.

An import names users and documents by ``Ref(class name, key string)``, as
they are stored, without loading them as ORM objects first; what it writes is
what the same entities would have written. A malformed reference is a
ValueError naming its argument, and nothing of the batch is written.
"""

import pytest

from activitystream import Ref, am, entities, manager, refs
from activitystream.delivery import runner


def ref(entity):
    """The entity's reference, as a script that never loaded it would write it."""
    return Ref(entities.active().name_of(type(entity)), refs.primary_key_of(entity))


def stored(env):
    """(verb, actor, target, action_obj, sorted recipients' names) of every action, by verb."""
    env.clear_session()
    found = []
    for action in am.get_actions(everything=True):
        names = sorted(u.user_name for u in action.recipients or ())
        found.append(
            (action.verb, action.actor_ref, action.target_ref, action.action_obj_ref, names)
        )
    return sorted(found, key=lambda row: row[0])


@pytest.fixture
def people(env, monkeypatch):
    """alice, bob, carol and a document, committed; the runner is not kicked."""
    monkeypatch.setattr(runner, 'kick', lambda: None)
    found = [env.user(n) for n in ('alice', 'bob', 'carol')] + [env.document('Doc')]
    env.commit()
    return found


def batch(alice, bob, carol, doc, to=lambda e: e, suffix=''):
    """Two actions naming every entity through ``to`` (an entity or its Ref)."""
    return [
        dict(actor=to(alice), verb='shared' + suffix, target=to(doc),
             recipients=[to(bob), to(carol)]),
        dict(actor=to(bob), verb='mentioned' + suffix, action_obj=to(carol), target=to(doc),
             recipients=[to(alice)]),
    ]  # fmt: skip


def test_refs_write_what_the_entities_write(env, people):
    am.create_many(batch(*people))
    created = am.create_many(batch(*people, to=ref, suffix=' by ref'))
    assert [a.verb for a in created] == ['shared by ref', 'mentioned by ref']
    env.commit()
    by_ref = [row for row in stored(env) if row[0].endswith(' by ref')]
    by_entity = [row for row in stored(env) if not row[0].endswith(' by ref')]
    assert [(verb + ' by ref', *rest) for verb, *rest in by_entity] == by_ref
    alice, bob, carol, _ = people
    assert am.get_by_recipient(carol).count() == 2
    action = am.get_by_recipient(alice).first()
    assert (action.verb, action.actor) == ('mentioned by ref', 'bob')  # loaded when read


def test_an_entity_and_its_ref_are_one_recipient(env, people):
    alice, bob, carol, doc = people
    items = [dict(actor=ref(alice), verb='v', recipients=[bob, ref(bob), alice, ref(carol)])]
    assert am.create_many(iter(items)) == 1  # a generator: streamed, counted
    env.commit()
    assert stored(env) == [('v', ref(alice), None, None, ['bob', 'carol'])]  # not the actor


def test_a_ref_to_no_class_reads_back_as_a_deleted_entity(env, people):
    alice, bob, _, _ = people
    am.create_many([dict(actor=alice, verb='v', target=Ref('Gone', '1'), recipients=[bob])])
    env.commit()
    env.clear_session()
    [action] = am.get_by_recipient(bob).all()
    assert action.target_ref == Ref('Gone', '1')
    assert action.target_entity is None


MALFORMED = [
    (Ref('User', 5), 'its id must be a string, got int'),
    (Ref(None, '1'), 'its type must be a string, got NoneType'),
    (
        Ref('', '1'),
        'its type must be 1 to 128 letters, digits or underscores, not starting '
        "with a digit; got ''",
    ),
    (Ref('2User', '1'), "got '2User'"),
    (Ref('User', ''), 'its id must not be empty'),
    (Ref('User', 'a\x00b'), 'its id must not contain a NUL character'),
    (Ref('User', 'a\ud800'), 'its id must not contain a lone surrogate'),
    (Ref('Us\ud800er', '1'), "got 'Us\\ud800er'"),
    (Ref('User', '7' * 129), 'its id is 129 characters long; at most 128 fit'),
]


@pytest.mark.parametrize(('bad', 'message'), MALFORMED, ids=[m for _, m in MALFORMED])
def test_a_malformed_recipient_ref_names_it_and_nothing_is_written(env, people, bad, message):
    items = batch(*people, to=ref) + batch(*people, to=ref, suffix=' again')
    items[3]['recipients'] = [ref(people[1]), bad]
    with pytest.raises(ValueError, match=r'^items\[3\]\.recipients\[1\] is a malformed Ref: '):
        am.create_many(items)
    with pytest.raises(ValueError) as raised:
        am.create_many(items)
    assert str(raised.value).endswith(message)
    env.commit()
    assert stored(env) == []


@pytest.mark.parametrize('where', ['actor', 'target', 'action_obj'])
def test_a_malformed_ref_anywhere_names_its_argument(env, people, monkeypatch, where):
    monkeypatch.setattr(manager, 'CREATE_CHUNK', 1)  # a list is still checked whole first
    items = batch(*people, to=ref)
    items[1][where] = Ref('Document', 1)
    with pytest.raises(ValueError, match=rf'^items\[1\]\.{where} is a malformed Ref: its id '):
        am.create_many(items)
    with pytest.raises(ValueError, match=rf'^{where} is a malformed Ref: its id must be a str'):
        am.create(**items[1])
    env.commit()
    assert stored(env) == []


def test_reads_take_a_ref_and_refuse_a_malformed_one(env, people):
    alice, bob, _, _ = people
    am.create(alice, 'v', recipients=[ref(bob)])
    assert am.get_by_recipient(ref(bob)).count() == 1
    with pytest.raises(
        ValueError, match=r'^recipient is a malformed Ref: its type must be 1 to 128 letters'
    ):
        am.get_by_recipient(Ref('', refs.primary_key_of(bob)))
