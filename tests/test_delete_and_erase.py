"""Deleting, dismissing, marking unread and erasing: every count agrees with every page at once."""

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from activitystream import am, digest, model, preferences, subscriptions
from activitystream.erasure import erase_on_delete, keep_on_delete
from activitystream.refs import ref_of
from activitystream.storage.base import NewJob
from activitystream.timeutil import utcnow

from .clock import recent
from .harness import BACKENDS, build_app
from .test_digest import NOW, digest_app, smtp  # noqa: F401 - smtp: a fixture

T0 = recent()


def at(minutes):
    return T0 + dt.timedelta(minutes=minutes)


def state(recipient):
    """What a recipient's badge and menu say: (count, unseen, unread, verbs of the page)."""
    query = am.get_by_recipient(recipient)
    verbs = [a.verb for a in query.all()]
    assert query.count() == len(verbs)  # the badge never disagrees with the menu
    return (
        len(verbs),
        am.count_not_seen_by_recipient(recipient),
        am.count_unread_by_recipient(recipient),
        verbs,
    )


def seed(env):
    """alice: d0 to bob and carol, b1 to everyone, d2 to bob; bob read d0."""
    alice, bob, carol = env.user('alice'), env.user('bob'), env.user('carol')
    actions = am.create_many(
        [
            dict(actor=alice, verb='d0', recipients=[bob, carol], timestamp=at(0)),
            dict(actor=alice, verb='b1', timestamp=at(1)),
            dict(actor=alice, verb='d2', recipients=[bob], timestamp=at(2)),
        ]
    )
    am.mark_read(bob, [actions[0]])
    return (alice, bob, carol), actions


def test_delete_takes_deliveries_and_read_marks_with_it(env):
    (alice, bob, carol), (d0, b1, d2) = seed(env)
    assert state(bob) == (3, 3, 2, ['d2', 'b1', 'd0'])
    removed = am.delete(d0)
    assert removed == {'actions': 1, 'deliveries': 2, 'dismissals': 0, 'read_marks': 1}
    assert state(bob) == (2, 2, 2, ['d2', 'b1'])
    assert state(carol) == (1, 1, 1, ['b1'])
    env.commit()
    env.clear_session()
    assert state(bob) == (2, 2, 2, ['d2', 'b1'])
    assert am.get_actions(actor=alice, everything=True).count() == 2


def test_delete_a_broadcast_and_ids_given_as_text(env):
    (alice, bob, carol), (d0, b1, d2) = seed(env)
    removed = am.delete([str(b1.id), d2])
    assert removed == {'actions': 2, 'deliveries': 1, 'dismissals': 0, 'read_marks': 0}
    assert state(bob) == (1, 1, 0, ['d0'])
    assert state(carol) == (1, 1, 1, ['d0'])
    assert am.delete([b1]) == {'actions': 0, 'deliveries': 0, 'dismissals': 0, 'read_marks': 0}


def test_bad_input_names_the_argument_and_deletes_nothing(env):
    (alice, bob, carol), (d0, b1, d2) = seed(env)
    with pytest.raises(TypeError, match='actions must be'):
        am.delete(42)
    with pytest.raises(ValueError, match=r'actions\[1\]'):
        am.delete([d0, 'not-an-id'])
    with pytest.raises(ValueError, match='needs actor, target or action_obj'):
        am.delete_actions()
    with pytest.raises(TypeError, match='target'):
        am.delete_actions(target=object())
    with pytest.raises(ValueError, match='batch'):
        am.delete_actions(actor=alice, batch=0)
    with pytest.raises(TypeError, match='entity'):
        am.erase('alice')
    with pytest.raises(TypeError, match=r'actions must be'):
        am.dismiss(bob, 'x')
    assert state(bob) == (3, 3, 2, ['d2', 'b1', 'd0'])


def test_delete_actions_of_a_removed_post(env):
    alice, bob = env.user('alice'), env.user('bob')
    post, other = env.document('Post'), env.document('Other')
    am.create_many(
        [
            dict(actor=alice, verb='commented on', target=post, recipients=[bob], timestamp=at(i))
            for i in range(7)
        ]
        + [dict(actor=alice, verb='liked', action_obj=post, timestamp=at(8))]
        + [dict(actor=alice, verb='commented on', target=other, recipients=[bob], timestamp=at(9))]
    )
    removed = am.delete_actions(target=post, batch=3)  # three batches
    assert removed == {'actions': 7, 'deliveries': 7, 'dismissals': 0, 'read_marks': 0}
    assert state(bob) == (2, 2, 2, ['commented on', 'liked'])
    assert am.delete_actions(action_obj=post)['actions'] == 1
    assert state(bob)[3] == ['commented on']
    assert am.get_actions(target=other, everything=True).count() == 1


def test_dismiss_hides_from_one_inbox_only(env):
    (alice, bob, carol), (d0, b1, d2) = seed(env)
    assert am.dismiss(bob, [d0, b1]) == 2  # a delivery and a broadcast
    assert state(bob) == (1, 1, 1, ['d2'])  # d0's read mark went with it
    assert state(carol) == (2, 2, 2, ['b1', 'd0'])
    assert am.dismiss(bob, [d0, b1]) == 0  # once is enough
    assert am.dismiss(carol, [d2]) == 0  # not hers
    env.commit()
    env.clear_session()
    assert state(bob) == (1, 1, 1, ['d2'])
    # bob still took part in d0: he sees it in alice's stream and among its recipients
    stream = am.get_actions(actor=alice, viewer=bob)
    assert [a.verb for a in stream.all()] == ['d2', 'b1', 'd0'] and stream.count() == 3
    [found] = [a for a in stream.all() if a.verb == 'd0']
    assert sorted(r.user_name for r in found.recipients) == ['bob', 'carol']
    assert am.mark_read(bob, [d0]) == 0  # no longer in his inbox
    removed = am.delete(d0)
    assert removed == {'actions': 1, 'deliveries': 1, 'dismissals': 1, 'read_marks': 0}
    assert am.delete(b1)['dismissals'] == 1
    assert state(bob) == (1, 1, 1, ['d2'])
    assert state(carol) == (0, 0, 0, [])


def test_a_dismissed_broadcast_is_skipped_in_every_window(env):
    alice, bob = env.user('alice'), env.user('bob')
    made = am.create_many(
        [dict(actor=alice, verb=f'b{i}', timestamp=at(i)) for i in range(10)]
        + [dict(actor=alice, verb=f'd{i}', recipients=[bob], timestamp=at(i)) for i in range(10)]
    )
    am.dismiss(bob, [a for a in made if a.verb in ('b9', 'b8', 'b5', 'd7')])
    whole = state(bob)[3]
    assert len(whole) == 16 and not {'b9', 'b8', 'b5', 'd7'} & set(whole)
    query = am.get_by_recipient(bob)
    first = query.limit(4).all()
    assert [a.verb for a in first] == whole[:4]
    assert [a.verb for a in query.before(first[-1].cursor).limit(5).all()] == whole[4:9]
    assert [a.verb for a in query.offset(3).limit(4).all()] == whole[3:7]
    am.mark_seen(bob, until=at(6))
    assert am.count_not_seen_by_recipient(bob) == 3  # b7, d8, d9: d7, b8, b9 are dismissed
    assert am.count_unread_by_recipient(bob) == 16


def test_mark_unread_undoes_a_mark_and_a_watermark(env):
    alice, bob = env.user('alice'), env.user('bob')
    made = am.create_many(
        [dict(actor=alice, verb=f'd{i}', recipients=[bob], timestamp=at(i)) for i in range(6)]
        + [dict(actor=alice, verb='b', timestamp=at(3))]
    )
    by_verb = {a.verb: a for a in made}
    am.mark_read(bob, [by_verb['d5']])
    assert am.mark_unread(bob, [by_verb['d5']]) == 1
    assert am.count_unread_by_recipient(bob) == 7
    assert am.mark_read(bob) == 7  # the watermark moves past all of them
    assert am.mark_unread(bob, [by_verb['d2'], by_verb['d4']]) == 2
    assert am.count_unread_by_recipient(bob) == 2
    read = {a.verb: a.read for a in am.get_by_recipient(bob).all()}
    assert read == {'d5': True, 'd4': False, 'b': True, 'd3': True, 'd2': False, 'd1': True,
                    'd0': True}  # fmt: skip
    assert am.mark_unread(bob, [by_verb['d2']]) == 0  # unread already
    env.commit()
    env.clear_session()
    assert am.count_unread_by_recipient(bob) == 2
    assert am.mark_read(bob, [by_verb['d4']]) == 1
    assert am.count_unread_by_recipient(bob) == 1


def test_erase_takes_everything_of_an_entity(env):
    (alice, bob, carol), (d0, b1, d2) = seed(env)
    doc = env.document('Plan')
    am.create(bob, 'replied', recipients=[alice, carol], timestamp=at(3))
    am.create(carol, 'wrote', target=doc, recipients=[alice], timestamp=at(4))
    am.mark_seen(alice)
    am.mark_read(alice, None)
    am.dismiss(alice, am.get_by_recipient(alice).limit(1).all())
    for subscriber, obj in ((bob, alice), (alice, doc), (carol, doc), (alice, carol)):
        subscriptions.subscribe(subscriber, obj)
    storage = model.storage()
    pair = ['User', ref_of(alice, 'alice').id]
    jobs = [
        NewJob('deliver', {'actor': pair, 'obj': None}),  # pending work of one of her emits,
        NewJob('deliver', {'actor': ['User', 'y'], 'obj': pair}),  # of one to her subscribers
        NewJob('deliver', {'actor': ['User', 'x'], 'obj': ['Document', '1']}),  # and neither
    ]
    storage.add_jobs(jobs, utcnow(), ready=False)
    removed = am.erase(alice, batch=2)
    assert removed == {
        'actions': 3,
        'deliveries': 4,  # d0 to bob and carol, d2 to bob; bob's reply to her
        'dismissals': 1,  # carol's note, out of her inbox
        'read_marks': 1,  # bob's of d0 (hers is a watermark)
        'seen': 1,
        'subscriptions': 3,  # bob to her, hers to the plan and to carol
        'outbox_jobs': 2,
        'preferences': 0,
        'digest_items': 0,
        'digest_marks': 0,
    }
    assert state(bob) == (0, 0, 0, [])
    assert state(carol) == (1, 1, 1, ['replied'])
    assert state(alice) == (0, 0, 0, [])
    assert am.last_seen(alice) is None
    assert subscriptions.subscribers_of(alice).count() == 0
    assert [s.user_name for s in subscriptions.subscribers_of(doc).all()] == ['carol']
    assert subscriptions.subscribers_of(doc).count() == 1
    assert subscriptions.subscriptions_of(bob).count() == 0
    left = [j.payload['actor'] for j in storage.jobs(None, None) if j.kind == 'deliver']
    assert left == [['User', 'x']]
    assert am.get_actions(actor=alice, everything=True).count() == 0
    assert am.erase(alice) == dict.fromkeys(removed, 0)


def test_erase_counts_each_kind_exactly(env):
    alice, bob, carol = env.user('alice'), env.user('bob'), env.user('carol')
    am.create(alice, 'a1', recipients=[bob, carol], timestamp=at(0))
    am.create(alice, 'a2', timestamp=at(1))  # a broadcast: no delivery row
    am.create(bob, 'b1', recipients=[alice], timestamp=at(2))
    am.create(carol, 'c1', recipients=[alice, bob], timestamp=at(3))
    am.mark_read(alice, None)  # a watermark: no per-item mark
    am.mark_read(bob, am.get_by_recipient(bob).all())  # a1, a2, c1
    removed = am.erase(alice)
    assert removed == {
        'actions': 2,
        'deliveries': 2 + 2,  # a1's two, then b1 and c1 to her
        'dismissals': 0,
        'read_marks': 2,  # bob's marks of a1 and a2
        'seen': 1,
        'subscriptions': 0,
        'outbox_jobs': 0,
        'preferences': 0,
        'digest_items': 0,
        'digest_marks': 0,
    }
    assert state(bob) == (1, 1, 0, ['c1'])


@pytest.fixture(params=BACKENDS)
def digesting(request, smtp):  # noqa: F811 - the fixture imported above
    smtp[0].messages.clear()
    return digest_app(request.param, smtp[1])


LATER = NOW + dt.timedelta(days=9)


def held(user):
    """The verbs and actors' names of what ``user`` holds for its next digest."""
    items = model.storage().digest_items(ref_of(user, 'user'), LATER, 99)
    return sorted((i.verb, i.actor.id) for i in items)


def people_and_plan(env):
    """alice, bob and carol (named by their addresses), and a plan."""
    users = (env.user(f'{n}@example.com') for n in ('alice', 'bob', 'carol'))
    return (*users, env.document('Plan'))


def test_erase_takes_preferences_digest_items_and_marks(digesting, smtp):  # noqa: F811
    """Bob's choices, his mark, what is held for him and what he did held for others go."""
    env = digesting
    alice, bob, carol, plan = people_and_plan(env)
    for user in (alice, bob):
        subscriptions.subscribe(user, plan)
    preferences.set(bob, 'liked', ['digest'])
    preferences.set(bob, 'commented', ['web'])
    preferences.set_digest_period(bob, 'daily')
    env.commit()

    def emit(actor, verb):
        subscriptions.emit(f'{{actor}} {verb} Plan', subscribers_of=plan, actor=actor, verb=verb)
        env.commit()

    emit(carol, 'liked')
    assert digest.run('daily', now=NOW)[1].done == 1  # bob's digest: his mark for the day
    emit(carol, 'liked')  # held for bob
    emit(bob, 'commented')  # held for alice: commented goes to web and digest by default
    emit(carol, 'commented')  # held for alice; bob chose web only
    assert held(bob) == [('liked', ref_of(carol, 'carol').id)]
    assert held(alice) == sorted(('commented', ref_of(u, 'u').id) for u in (bob, carol))
    removed = am.erase(bob)
    assert {k: removed[k] for k in ('preferences', 'digest_items', 'digest_marks')} == {
        'preferences': 3,  # liked, commented and his period
        'digest_items': 2,  # carol's like held for him, his comment held for alice
        'digest_marks': 1,
    }
    env.commit()
    env.clear_session()
    assert held(bob) == []
    assert held(alice) == [('commented', ref_of(carol, 'carol').id)]
    assert preferences.get(bob) == {'commented': ['web', 'digest'], 'liked': ['web', 'email']}
    assert model.storage().digest_marks([ref_of(bob, 'bob')], 'daily') == {}
    assert digest.run('daily', now=NOW + dt.timedelta(days=1))[0] == 1  # alice's, not his
    digests = [m['To'] for m in smtp[0].messages if 'digest' in m['Subject']]
    assert digests == ['bob@example.com', 'alice@example.com']
    assert {k: am.erase(bob)[k] for k in removed} == dict.fromkeys(removed, 0)


def test_erase_takes_the_digest_items_about_it(digesting, smtp):  # noqa: F811
    """Held for others, carol's comment on bob's profile names him: it goes with him."""
    env = digesting
    alice, bob, carol, plan = people_and_plan(env)
    for obj in (bob, plan):
        subscriptions.subscribe(alice, obj)
    env.commit()
    for obj, name in ((bob, 'bob@example.com'), (plan, 'Plan')):
        subscriptions.emit(
            f'{{actor}} commented on {name}', subscribers_of=obj, actor=carol, verb='commented'
        )
        env.commit()
    assert [i.text for i in model.storage().digest_items(ref_of(alice, 'alice'), LATER, 99)] == [
        'carol@example.com commented on bob@example.com',
        'carol@example.com commented on Plan',
    ]
    assert am.erase(bob)['digest_items'] == 1
    env.commit()
    env.clear_session()
    texts = [i.text for i in model.storage().digest_items(ref_of(alice, 'alice'), LATER, 99)]
    assert texts == ['carol@example.com commented on Plan']
    assert digest.run('daily', now=NOW + dt.timedelta(days=1))[0] == 1
    [mail] = [m for m in smtp[0].messages if 'digest' in m['Subject']]
    assert 'bob@' not in mail.as_string() and 'commented on Plan' in mail.as_string()


@pytest.fixture
def erasing(env):
    erase_on_delete(env.model.User)
    yield env
    keep_on_delete(env.model.User)


def test_erase_on_delete_erases_when_the_host_deletes(erasing):
    env = erasing
    alice, bob = env.user('alice'), env.user('bob')
    am.create(alice, 'hello', recipients=[bob], timestamp=at(0))
    am.create(bob, 'hi', recipients=[alice], timestamp=at(1))
    subscriptions.subscribe(bob, alice)
    env.commit()
    env.delete(alice)
    env.commit()
    env.clear_session()
    assert state(bob) == (0, 0, 0, [])
    assert am.get_actions(everything=True).count() == 1  # bob's "hi", to nobody now
    assert subscriptions.subscriptions_of(bob).count() == 0


def test_without_the_hook_deleting_a_user_keeps_its_actions(env):
    alice, bob = env.user('alice'), env.user('bob')
    am.create(alice, 'hello', recipients=[bob], timestamp=at(0))
    env.commit()
    env.delete(alice)
    env.commit()
    env.clear_session()
    [kept] = am.get_by_recipient(bob).all()
    assert kept.actor_entity is None  # a deleted entity reads as None


@pytest.mark.parametrize('backend', BACKENDS)
def test_hide_orphans_fills_pages_past_actions_of_deleted_actors(backend):
    env = build_app(backend, hide_orphans=True)
    alice, carol, bob = env.user('alice'), env.user('carol'), env.user('bob')
    am.create_many(
        [
            dict(actor=alice if i % 2 else carol, verb=f'v{i}', recipients=[bob], timestamp=at(i))
            for i in range(10)
        ]
    )
    env.commit()
    env.delete(alice)
    env.commit()
    env.clear_session()
    query = am.get_by_recipient(bob)
    page = query.limit(3).all()
    assert [a.verb for a in page] == ['v8', 'v6', 'v4']
    assert [a.actor for a in page] == ['carol'] * 3
    assert [a.verb for a in query.before(page[-1].cursor).limit(3).all()] == ['v2', 'v0']
    assert [a.verb for a in am.get_actions(everything=True).all()] == ['v8', 'v6', 'v4', 'v2', 'v0']


PROPERTY_SETTINGS = settings(
    max_examples=15,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
OPERATIONS = st.lists(
    st.tuples(
        st.sampled_from(
            ['direct', 'broadcast', 'own', 'dismiss', 'delete', 'read', 'unread', 'seen']
        ),
        st.integers(min_value=0, max_value=20),
    ),
    max_size=14,
)


@PROPERTY_SETTINGS
@given(operations=OPERATIONS)
def test_counts_follow_any_sequence_of_writes(env, operations):
    env.clear()
    alice, bob = env.user('alice'), env.user('bob')
    made = []
    for step, (operation, n) in enumerate(operations):
        chosen = made[n % len(made)] if made else None
        if operation in ('direct', 'broadcast'):
            recipients = [bob] if operation == 'direct' else None
            made.append(am.create(alice, 'v', recipients=recipients, timestamp=at(step)))
        elif operation == 'own':  # bob's own broadcast: in no count of his
            am.create(bob, 'v', timestamp=at(step))
        elif chosen is None:
            continue
        elif operation == 'dismiss':
            am.dismiss(bob, [chosen])
        elif operation == 'delete':
            am.delete(chosen)
            made.remove(chosen)
        elif operation == 'read':
            am.mark_read(bob, [chosen] if n % 3 else None)
        elif operation == 'unread':
            am.mark_unread(bob, [chosen])
        else:
            am.mark_seen(bob, until=chosen.timestamp)
        page = am.get_by_recipient(bob).all()
        assert am.get_by_recipient(bob).count() == len(page)
        assert am.count_not_seen_by_recipient(bob) == sum(not a.seen for a in page)
        assert am.count_unread_by_recipient(bob) == sum(not a.read for a in page)
