"""am.create_many in chunks: memory stays one chunk whatever the batch, lists stay all-or-nothing.

A generator is written chunk by chunk and its count returned; a list is
checked whole before its first chunk is written, so a bad item still leaves
nothing of the batch.
"""

import tracemalloc

import pytest

from activitystream import am, manager, model
from activitystream.delivery import runner

from .harness import BACKENDS, environment


@pytest.fixture
def small_chunks(monkeypatch):
    """Chunks of 3 items; committed work is not drained (its push jobs stay to be read)."""
    monkeypatch.setattr(manager, 'CREATE_CHUNK', 3)
    monkeypatch.setattr(runner, 'kick', lambda: None)


def items(actor, people, count, bad_at=None):
    """``count`` items to rotating pairs of ``people``; the one at ``bad_at`` has no verb."""
    for i in range(count):
        pair = [people[i % len(people)], people[(i + 1) % len(people)]]
        yield dict(actor=actor, verb='' if i == bad_at else f'v{i}', recipients=pair)


def verbs(env):
    return sorted(a.verb for a in am.get_actions(everything=True))


def test_a_generator_is_written_chunk_by_chunk(env, small_chunks):
    alice, people = env.user('alice'), [env.user(f'u{i}') for i in range(4)]
    assert am.create_many(items(alice, people, 10)) == 10
    env.commit()
    assert verbs(env) == sorted(f'v{i}' for i in range(10))
    assert am.get_by_recipient(people[1]).count() == 6
    assert am.create_many(iter([])) == 0
    pushed = [row for job in model.storage().jobs(False, None) for row in job.payload['to']]
    assert sorted(pushed) == sorted(
        ['User', str(p.user_id if env.sql else p._id)] for p in people
    )  # each recipient told once, all chunks


def test_a_bad_item_of_a_generator_stops_before_its_chunk(env, small_chunks):
    alice, people = env.user('alice'), [env.user(f'u{i}') for i in range(4)]
    with pytest.raises(ValueError, match=r'items\[7\]\.verb must not be empty'):
        am.create_many(items(alice, people, 10, bad_at=7))
    assert verbs(env) == sorted(f'v{i}' for i in range(6))  # the chunks before it
    if env.sql:  # the caller's transaction takes them back
        env.clear_session()
        assert verbs(env) == []


def test_a_bad_item_of_a_long_list_leaves_nothing_written(env, small_chunks):
    alice, people = env.user('alice'), [env.user(f'u{i}') for i in range(4)]
    with pytest.raises(ValueError, match=r'items\[9\]\.verb must not be empty'):
        am.create_many(list(items(alice, people, 10, bad_at=9)))
    assert verbs(env) == []
    created = am.create_many(list(items(alice, people, 10)))
    assert [a.verb for a in created] == [f'v{i}' for i in range(10)]
    assert [p.user_name for p in created[7].recipients] == ['u3', 'u0']


def peak(env, count):
    """The peak of Python memory (bytes) while create_many writes ``count`` generated items."""
    alice = env.user('alice')
    people = [env.user(f'u{i}') for i in range(20)]
    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        am.create_many(items(alice, people, count))
        return tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()
        env.clear()


# mim:// holds its database in this process's memory: what it stores would count
@pytest.mark.parametrize('backend', [b for b in BACKENDS if b != 'ming'])
def test_the_memory_of_create_many_stays_one_chunk(backend, monkeypatch):
    env = environment(backend)
    monkeypatch.setattr(manager, 'CREATE_CHUNK', 200)
    small, large = peak(env, 400), peak(env, 4000)
    assert large < 1.5 * small, (small, large)  # ten times the items, not ten times the memory
