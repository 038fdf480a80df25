"""Property-based tests of the public Python API, on every backend.

Whatever text, window or visibility a caller passes, the API either does what
it says (and reads back exactly what was stored) or raises TypeError /
ValueError, leaving nothing written. Fixed seed, bounded examples: CI stays fast
and a failure reproduces.
"""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from activitystream import am

from .clock import recent

PROPERTY_SETTINGS = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
ANY_TEXT = st.text(alphabet=st.characters(codec=None), max_size=300)
ANY_VALUE = st.one_of(ANY_TEXT, st.none(), st.integers(), st.binary(max_size=5), st.booleans())


@PROPERTY_SETTINGS
@given(verb=ANY_VALUE, description=ANY_VALUE, public=st.one_of(st.none(), st.booleans(), ANY_TEXT))
def test_create_stores_exactly_what_it_was_given_or_nothing(env, verb, description, public):
    env.clear()
    alice, bob = env.user('alice'), env.user('bob')
    try:
        action = am.create(alice, verb, description=description, recipients=[bob], public=public)
    except (TypeError, ValueError):
        assert am.get_actions(everything=True).count() == 0
        return
    env.commit()
    env.clear_session()  # read back what the database has, not what the session holds
    [stored] = am.get_by_recipient(bob).all()
    assert (stored.verb, stored.description) == (verb, description) == (action.verb, description)
    assert stored.public is (public is True)
    assert am.count_not_seen_by_recipient(bob) == 1


@PROPERTY_SETTINGS
@given(
    limit=st.one_of(st.none(), st.integers(min_value=-3, max_value=2**64)),
    offset=st.integers(min_value=-3, max_value=2**64),
    index=st.integers(min_value=-3, max_value=2**64),
)
def test_windows_give_a_page_or_an_error_naming_them(env, limit, offset, index):
    env.clear()
    bob, alice = env.user('bob'), env.user('alice')
    am.create_many([dict(actor=alice, verb=f'v{i}', recipients=[bob]) for i in range(5)])
    query = am.get_by_recipient(bob)
    try:
        page = query.limit(limit).offset(offset).all()
    except (TypeError, ValueError) as exc:
        assert 'limit' in str(exc) or 'offset' in str(exc)
    else:
        expected = max(0, min(5 - offset, 5 if limit is None else limit))
        assert len(page) == expected
    try:
        found = query[index]
    except IndexError:
        assert index >= 5
    except ValueError as exc:
        assert 'index' in str(exc)
    else:
        assert found.verb == f'v{4 - index}'


@PROPERTY_SETTINGS
@given(
    marks=st.lists(
        st.one_of(st.sampled_from(['seen', 'read', 'read one']), st.integers(0, 4)),
        max_size=8,
    )
)
def test_counts_agree_with_pages_whatever_is_marked(env, marks):
    """After any sequence of marks, the counts are what a full page shows."""
    env.clear()
    bob, alice = env.user('bob'), env.user('alice')
    start = recent(days=1)
    created = am.create_many(
        [
            dict(actor=alice, verb=f'v{i}', recipients=[bob] if i % 2 else None, timestamp=start)
            for i in range(5)
        ]
    )
    for mark in marks:
        if mark == 'seen':
            am.mark_seen(bob)
        elif mark == 'read':
            am.mark_read(bob)
        elif isinstance(mark, int):
            am.mark_seen(bob, until=created[mark].timestamp)
        else:
            am.mark_read(bob, created[:2])
    page = am.get_by_recipient(bob).all()
    assert am.count_not_seen_by_recipient(bob) == sum(not a.seen for a in page)
    assert am.count_unread_by_recipient(bob) == sum(not a.read for a in page)


@pytest.mark.parametrize('bad', [0.5, '3', b'3', True, [1]])
def test_window_arguments_of_the_wrong_type(env, bad):
    query = am.get_by_recipient(env.user('bob'))
    for call, name in ((query.limit, 'limit'), (query.offset, 'offset')):
        with pytest.raises(TypeError, match=f'{name} must be an integer'):
            call(bad)
