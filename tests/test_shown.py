"""Rows read only the attributes a class lists in ``__activitystream_display__``.

The hosts' User lists ``user_name`` and ``display_name``, their Post ``title``
and ``slug`` (``hosts/display.py``); Document, Team and Member list nothing.
The same bodies run on SQLite, PostgreSQL and Ming.
"""

import datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tgext.pluggable import instance_primary_key

from activitystream import am, entities, grouping, model, refs
from activitystream.entities.shown import Shown
from activitystream.options import ConfigurationError

from .harness import loader_criteria


def post(env, title, slug):
    return env.add(env.model.Post(title=title, slug=slug, author_id=_author_id(env)))


def _author_id(env):
    return 7 if env.sql else None


def rows_of(user):
    actions = am.get_by_recipient(user).limit(10).all()
    return actions, grouping.as_rows(grouping.group(actions, 0, lambda a: False), read=False)


@pytest.fixture
def posted(env):
    return _posted(env)


def _posted(env):
    """alice and bob (no display name) commented on a post, for carol."""
    alice, bob, carol = env.user('alice', 'Alice A.'), env.user('bob'), env.user('carol')
    tea = post(env, 'Tea party', 'tea-party')
    am.create(alice, 'commented on', target=tea, recipients=[carol])
    am.create(bob, 'commented on', target=tea, recipients=[carol])
    env.commit()
    carol = refs.ref_of(carol, 'carol')
    env.clear_session()
    return env, carol


def test_rows_show_the_listed_attributes_without_the_orm(posted):
    env, carol = posted
    with env.count_queries() as sent:
        actions, rows = rows_of(carol)
    assert [(r['who'], r['target'], r['link'], r['avatar']) for r in rows] == [
        ('bob', 'Tea party', '/posts/tea-party', '/avatars/bob.png'),
        ('Alice A.', 'Tea party', '/posts/tea-party', '/avatars/alice.png'),
    ]
    assert isinstance(actions[0].actor_shown, Shown) and isinstance(actions[0].target_shown, Shown)
    if env.sql:  # the page, then users and posts in one statement of their listed columns
        entity_statement = _text(env, sent[-1])
        assert 'display_name' in entity_statement and 'author_id' not in entity_statement
    assert len(sent) == (2 if env.sql else 4)
    # the entities themselves are the ORM's, loaded when asked for
    assert type(actions[0].actor_entity) is env.model.User
    assert actions[0].actor_entity.user_name == 'bob'


def _text(env, sql):
    """The SQL of ``sql``, or of the prepared statement it executes (PostgreSQL)."""
    if not sql.startswith('EXECUTE '):
        return sql
    from sqlalchemy import text

    name = sql.split()[1].split('(')[0]
    query = text('SELECT statement FROM pg_prepared_statements WHERE name = :name')
    return env.model.DBSession.execute(query, {'name': name}).scalar_one()


def test_an_attribute_not_listed_is_an_error_naming_it(posted):
    env, carol = posted
    actions, _ = rows_of(carol)
    target = actions[0].target_shown
    with pytest.raises(ConfigurationError, match=r"Post\.author_id .*add 'author_id'"):
        target.author_id  # noqa: B018
    with pytest.raises(AttributeError):
        target.no_such_attribute  # noqa: B018
    assert target.as_link == '/posts/tea-party'  # the class's own property, on the stand-in
    assert refs.ref_of(target, 'target') == actions[0].target_ref
    assert target.__class__ is env.model.Post and isinstance(target, env.model.Post)
    assert instance_primary_key(target, as_string=True) == actions[0].target_ref.id
    assert repr(target) == '<PostShown>'


def test_rows_show_what_the_session_holds(posted):
    """An entity the request holds (changed, not flushed yet) shows as the request has it."""
    env, carol = posted
    bob = _find(env, 'bob')
    bob.display_name = 'Bobby'
    actions, rows = rows_of(carol)
    assert [r['who'] for r in rows] == ['Bobby', 'Alice A.']
    assert actions[0].actor_shown is bob
    assert isinstance(actions[1].actor_shown, Shown)


def test_an_expired_entity_the_session_holds_is_read_with_the_others(sqla_env):
    """Expired (as after a commit), bob would be read again on first use, a query of his
    own: rows read him in their one statement instead."""
    env, carol = _posted(sqla_env)
    bob = _find(env, 'bob')
    env.model.DBSession.expire(bob)
    with env.count_queries() as sent:
        actions, rows = rows_of(carol)
        assert [r['who'] for r in rows] == ['bob', 'Alice A.']
    assert len(sent) == 2
    assert isinstance(actions[0].actor_shown, Shown)


def _find(env, user_name):
    if env.sql:
        return env.model.DBSession.query(env.model.User).filter_by(user_name=user_name).one()
    return env.model.User.query.get(user_name=user_name)


def test_a_deleted_entity_shows_as_someone(posted):
    env, carol = posted
    env.delete(_find(env, 'bob'))
    env.commit()
    env.clear_session()
    actions, rows = rows_of(carol)
    assert [r['who'] for r in rows] == ['someone', 'Alice A.']
    assert actions[0].actor_shown is None


def test_a_page_naming_a_class_that_lists_nothing_loads_entities(env):
    """Document lists nothing: the whole page loads as entities, in as many queries as
    before (one on SQL), rather than a query more for the classes that list."""
    alice, carol = env.user('alice'), env.user('carol')
    am.create(alice, 'edited', target=env.document('Notes'), recipients=[carol])
    env.commit()
    carol = refs.ref_of(carol, 'carol')
    env.clear_session()
    with env.count_queries() as sent:
        actions, rows = rows_of(carol)
    assert (rows[0]['who'], rows[0]['target']) == ('alice', 'Notes')
    assert type(actions[0].actor_shown) is env.model.User
    assert len(sent) == (2 if env.sql else 4)


def test_a_session_that_rewrites_queries_keeps_its_criteria(sqla_env):
    """A host filtering its ORM queries (loader criteria: no user named 'bob') keeps its
    filter: rows then load entities, through the ORM."""
    env, carol = _posted(sqla_env)
    with loader_criteria(env, env.model.User, lambda cls: cls.user_name != 'bob'):
        actions, rows = rows_of(carol)
    assert [r['who'] for r in rows] == ['someone', 'Alice A.']
    assert type(actions[1].actor_shown) is env.model.User


@pytest.fixture
def listing(env, monkeypatch):
    """Give a class a ``__activitystream_display__`` for one test (the registry reads a
    class's once: it starts afresh)."""
    types = entities.active()
    monkeypatch.setattr(types, '_shown', {})
    monkeypatch.setattr(types, '_stand_ins', {})

    def listing(cls, names):
        monkeypatch.setattr(cls, '__activitystream_display__', names, raising=False)

    return env, listing


def told_carol(env, actor):
    """``actor`` joined a post, for carol: her reference, the session emptied."""
    carol = env.user('carol')
    am.create(actor, 'joined', target=post(env, 'Tea', 'tea'), recipients=[carol])
    env.commit()
    carol = refs.ref_of(carol, 'carol')
    env.clear_session()
    return carol


def test_a_class_s_own_str_shows_its_stand_in(listing):
    env, listing = listing
    listing(env.model.Team, ('name',))
    actions, rows = rows_of(told_carol(env, env.team('blue')))
    assert isinstance(actions[0].actor_shown, Shown)
    assert rows[0]['who'] == 'team blue'


def test_a_display_attribute_not_listed_is_an_error(listing):
    """Member shows by its ``name`` column: listing nothing would show 'Member #1' where
    its entity shows its name, so reading ``name`` is an error that says to list it."""
    env, listing = listing
    listing(env.model.Member, ())
    carol = told_carol(env, env.member('Mo'))
    with pytest.raises(ConfigurationError, match=r"Member\.name .*add 'name'"):
        rows_of(carol)
    listing(env.model.Member, ('name',))
    entities.active()._shown.clear()
    assert rows_of(carol)[1][0]['who'] == 'Mo'


@pytest.mark.parametrize('names', ['name', 3, ('name', 3), ('name', 'no_such_column')])
def test_a_bad_listing_is_an_error_naming_it(listing, names):
    env, listing = listing
    listing(env.model.Team, names)
    carol = told_carol(env, env.team('blue'))
    with pytest.raises(ConfigurationError, match=r'Team\.__activitystream_display__'):
        rows_of(carol)


def test_the_storage_reads_nothing_for_no_keys(env):
    assert model.storage().read_shown({env.model.User: (('user_name',), [])}) == {
        env.model.User: []
    }


def test_notifications_json_reads_its_entities_once(posted, monkeypatch):
    """Its items and its rows show the same entities: one read of them, as stand-ins."""
    env, carol = posted
    storage_class = type(model.storage())
    calls = []
    for name in ('read_shown', 'load_entities_of'):
        original = getattr(storage_class, name)

        def spy(self, wanted, original=original, name=name):
            calls.append(name)
            return original(self, wanted)

        monkeypatch.setattr(storage_class, name, spy)
    reply = env.app.get(
        '/activitystream/notifications.json', extra_environ={'REMOTE_USER': 'carol'}
    )
    items = [(i['actor'], i['target'], i['link']) for i in reply.json['items']]
    assert items == [
        ('bob', 'Tea party', '/posts/tea-party'),
        ('Alice A.', 'Tea party', '/posts/tea-party'),
    ]
    assert [r['who'] for r in reply.json['rows']] == ['bob and Alice A.']
    assert calls == ['read_shown']


# what the host's columns take (PostgreSQL's text refuses NUL)
TEXT = st.characters(codec='utf-8', exclude_characters='\x00')
NAMES = st.one_of(st.none(), st.text(alphabet=TEXT, max_size=20))


@settings(
    max_examples=20,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    display_names=st.lists(NAMES, min_size=3, max_size=3),
    titles=st.lists(st.text(alphabet=TEXT, min_size=1, max_size=20), min_size=2, max_size=2),
    acts=st.lists(
        st.tuples(st.integers(0, 2), st.integers(0, 2), st.sampled_from(['liked', 'shared'])),
        min_size=1,
        max_size=12,
    ),
)
def test_stand_ins_show_what_entities_show(env, display_names, titles, acts):
    """Rows from the listed columns are the rows from the ORM's entities, field by field
    (target 2: no target; a deleted actor among them), grouped or not."""
    env.clear()
    users = [env.user(f'u{n}', name) for n, name in enumerate(display_names)]
    posts = [post(env, title, f'slug-{n}') for n, title in enumerate(titles)]
    carol = env.user('carol')
    am.create_many(
        [
            dict(actor=users[a], verb=verb, target=posts[t] if t < 2 else None, recipients=[carol])
            for a, t, verb in acts
        ]
    )
    gone = refs.ref_of(users[2], 'gone')
    env.delete(users[2])
    env.commit()
    carol = refs.ref_of(carol, 'carol')
    now = datetime.datetime.utcnow()

    def rows(actions, window):
        groups = grouping.group(actions, window, lambda a: False)
        return [grouping.as_row(g, read=False, now=now) for g in groups]

    for window in (0, 1):
        env.clear_session()
        actions = am.get_by_recipient(carol).limit(10).all()
        shown = rows(actions, window)
        assert all(isinstance(a.actor_shown, Shown) for a in actions if a.actor_ref != gone)
        env.clear_session()
        actions = am.get_by_recipient(carol).limit(10).all()
        assert all(
            a.actor_entity is None or type(a.actor_entity) is env.model.User for a in actions
        )
        assert shown == rows(actions, window)  # of the entities loaded first
        assert not any(isinstance(a.actor_shown, Shown) for a in actions)
