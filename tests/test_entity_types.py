"""Entity type names: what a reference stores for a host class, and reads that never flush.

A class is stored under its class name unless the ``entity_types`` option or
its own ``__activitystream_type__`` names it otherwise; two classes under one
name stop the application at start. Every body runs on every backend.
"""

import pytest

from activitystream import ConfigurationError, am, model, refs, subscriptions
from activitystream.storage.base import Ref

from .harness import BACKENDS, build_app, loader_criteria
from .test_plug import plug_into_fresh_config

SQL = ('sqlite', 'postgresql')


def host_model(backend):
    from hosts.models import model

    return model(backend in SQL)


def item_class(backend, host, module):
    """A class named ``Item`` of ``module`` mapped on the host's base (SQL) or session (Ming)."""
    body = {'__module__': module}
    if backend in SQL:
        from sqlalchemy import Column, Integer

        body.update(__tablename__=module.replace('.', '_'), id=Column(Integer, primary_key=True))
        return type('Item', (host.DeclarativeBase,), body)
    from ming import schema
    from ming.odm import FieldProperty, MappedClass

    meta = type('__mongometa__', (), {'session': host.DBSession, 'name': module})
    body.update(__mongometa__=meta, _id=FieldProperty(schema.ObjectId))
    return type('Item', (MappedClass,), body)


@pytest.fixture
def fresh_host(monkeypatch):
    """The test host's model with a base (SQL) and a session (Ming) no other test maps on."""

    def make(backend):
        model = host_model(backend)
        if backend in SQL:
            from sqlalchemy.orm import declarative_base

            monkeypatch.setattr(model, 'DeclarativeBase', declarative_base())
        else:  # the same database: flush_all() reaches every session ever made
            from ming.odm import ThreadLocalODMSession

            datastore = model.DBSession._get().impl
            monkeypatch.setattr(model, 'DBSession', ThreadLocalODMSession(datastore))
        return model

    return make


@pytest.mark.parametrize('backend', BACKENDS)
def test_two_classes_with_one_name_stop_the_application(backend, fresh_host):
    host = fresh_host(backend)
    items = [item_class(backend, host, m) for m in ('shop.models', 'blog.models')]  # noqa: F841 - kept alive: SQLAlchemy's registry holds them weakly
    with pytest.raises(ConfigurationError) as raised:
        build_app(backend)
    message = str(raised.value)
    assert "blog.models.Item and shop.models.Item are both entity type 'Item'" in message
    assert '__activitystream_type__' in message
    assert "entity_types={'NewName': 'shop.models.Item'}" in message


@pytest.mark.parametrize('backend', BACKENDS)
def test_a_second_name_for_one_of_them_starts_it(backend, fresh_host):
    host = fresh_host(backend)
    shop = item_class(backend, host, 'shop.models')
    blog = item_class(backend, host, 'blog.models')
    build_app(backend, entity_types={'BlogItem': blog})
    assert refs.entity_class('Item') is shop
    assert refs.entity_class('BlogItem') is blog


@pytest.mark.parametrize('backend', BACKENDS)
def test_a_name_given_to_a_class_cannot_be_another_class_name(backend):
    from activitystream.entities.registry import qualified

    model = host_model(backend)
    with pytest.raises(ConfigurationError) as raised:
        build_app(backend, entity_types={'User': model.Document})
    both = f'{qualified(model.Document)} and {qualified(model.User)}'
    assert f"{both} are both entity type 'User'" in str(raised.value)


@pytest.mark.parametrize('backend', BACKENDS)
def test_registered_names_round_trip(backend, monkeypatch):
    """A Team says its own name, Document gets one from the option: both are read back."""
    model = host_model(backend)
    monkeypatch.setattr(model.Team, '__activitystream_type__', 'Group', raising=False)
    env = build_app(backend, entity_types={'Doc': model.Document})
    team, doc, bob = env.team('ops'), env.document('Plan'), env.user('bob')
    action = am.create(team, 'published', target=doc, recipients=[bob])
    team_key, doc_key = refs.ref_of(team, 'team').id, refs.ref_of(doc, 'doc').id
    assert (action.actor_ref, action.target_ref) == (Ref('Group', team_key), Ref('Doc', doc_key))
    env.commit()
    env.clear_session()
    [read] = am.get_by_recipient(bob).all()
    assert (read.actor_ref, read.target_ref) == (Ref('Group', team_key), Ref('Doc', doc_key))
    assert isinstance(read.actor_entity, model.Team)
    assert refs.ref_of(read.actor_entity, 'actor').id == team_key
    assert read.target_entity.title == 'Plan'
    assert am.get_actions(actor=read.actor_entity, viewer=bob).count() == 1
    assert refs.find(am.storage, 'Doc', doc_key).title == 'Plan'
    assert refs.entity_class('Document') is None  # renamed: 'Document' names no class now


@pytest.mark.parametrize('backend', BACKENDS)
def test_references_stored_under_class_names_still_load(backend):
    """What 0.1.1 and every release since wrote: the class name, with another class renamed."""
    model = host_model(backend)
    env = build_app(backend, entity_types={'Group': model.Team})
    alice, doc, bob = env.user('alice', 'Alice'), env.document('Plan'), env.user('bob')
    alice_key, doc_key = refs.ref_of(alice, 'a').id, refs.ref_of(doc, 'd').id
    stored = Ref('User', alice_key), Ref('Document', doc_key), Ref('User', refs.ref_of(bob, 'b').id)
    am.create(stored[0], 'edited', target=stored[1], recipients=[stored[2]])
    env.commit()
    env.clear_session()
    [read] = am.get_by_recipient(bob).all()
    assert (read.actor, read.target_entity.title) == ('Alice', 'Plan')
    assert refs.ref_of(read.actor_entity, 'actor') == stored[0]
    assert refs.find(am.storage, 'Document', doc_key).title == 'Plan'


def still_pending(env, user):
    """Whether ``user``, added to the host's session, was never written."""
    if env.sql:
        return user in env.model.DBSession.new
    return env.db['tg_user'].count_documents({'_id': user._id}) == 0


@pytest.mark.parametrize('backend', BACKENDS)
def test_reads_never_flush_the_host_session(backend):
    env = build_app(backend)
    alice, bob, doc = env.user('alice'), env.user('bob'), env.document('Plan')
    am.create(alice, 'edited', target=doc, recipients=[bob])
    subscriptions.subscribe(bob, doc)
    env.commit()
    env.clear_session()
    carol = env.model.User(user_name='carol')  # the host's pending work, not ours to write
    if env.sql:
        env.model.DBSession.add(carol)
    [read] = am.get_by_recipient(bob).all()
    assert (read.actor_entity.user_name, read.target_entity.title) == ('alice', 'Plan')
    assert am.count_not_seen_by_recipient(bob) == 1
    assert am.get_actions(target=read.target_entity, viewer=bob).count() == 1
    assert [u.user_name for u in subscriptions.subscribers_of(read.target_entity).all()] == ['bob']
    assert refs.find(am.storage, 'User', refs.ref_of(read.actor_entity, 'a').id) is not None
    assert still_pending(env, carol)


def test_a_read_refuses_an_unflushed_entity_a_write_flushes_it(sqla_env):
    """SQLAlchemy only: a Ming entity has its key from construction."""
    env = sqla_env
    carol = env.model.User(user_name='carol')
    env.model.DBSession.add(carol)
    with pytest.raises(ValueError, match='recipient: User has no primary key yet; flush its'):
        am.get_by_recipient(carol).all()
    assert carol in env.model.DBSession.new
    am.create(carol, 'joined')
    assert carol.user_id is not None


@pytest.mark.parametrize(
    'options, words',
    [
        (dict(entity_types=['User']), 'entity_types must be a dict of type name -> class'),
        (dict(entity_types={'1st': dict}), r"entity_types\['1st'\]: the name must be 1 to 128"),
        (dict(entity_types={'a-b': dict}), r"entity_types\['a-b'\]: the name must be"),
        (
            dict(entity_types={'x': 'tests.nowhere.User'}),
            r"entity_types\['x'\]: cannot import 'tests.nowhere.User'",
        ),
        (dict(entity_types={'x': 42}), r"entity_types\['x'\] must be a class or its dotted path"),
        (dict(entity_types={'x': dict, 'y': dict}), r"entity_types\['y'\]: dict is named 'x'"),
    ],
)
def test_bad_entity_types_fail_at_plug_time(options, words):
    with pytest.raises(ConfigurationError, match=words):
        plug_into_fresh_config(**options)


@pytest.mark.parametrize('backend', BACKENDS)
def test_names_that_cannot_be_stored_stop_the_application(backend, monkeypatch):
    with pytest.raises(ConfigurationError, match=r"entity_types\['x'\]: builtins.dict is not a"):
        build_app(backend, entity_types={'x': dict})
    model = host_model(backend)
    monkeypatch.setattr(model.Team, '__activitystream_type__', 'a team', raising=False)
    with pytest.raises(ConfigurationError, match=r'Team.__activitystream_type__ must be 1 to 128'):
        build_app(backend)


def test_a_page_of_entities_of_three_classes_loads_in_one_query(sqla_env):
    """Integer, UUID and text keys in one statement; a missing or impossible key reads None."""
    env = sqla_env
    alice, bob, doc, team = env.user('alice'), env.user('bob'), env.document('Plan'), env.team('t')
    gone = env.document('Gone')
    env.commit()
    wanted = [refs.ref_of(e, 'e') for e in (alice, bob, doc, team, gone)]
    env.delete(gone)
    env.commit()
    env.clear_session()
    wanted += [Ref('User', 'not a number'), Ref('User', '999999'), Ref('Team', 'nobody')]
    with env.count_queries() as sent:
        found = refs.resolve(model.storage(), wanted)
    assert len(sent) == 1, list(sent)
    shown = [refs.display(found[ref]) for ref in wanted]
    assert shown == ['alice', 'bob', 'Plan', 'team t'] + [None] * 4
    assert all(e in env.model.DBSession for e in found.values() if e is not None)


@pytest.fixture
def odd_classes(sqla_env):
    """Classes the shared statement leaves to a query each, with one row each (and a plain one)."""
    from sqlalchemy import Column, ForeignKey, Integer, String, func
    from sqlalchemy.orm import column_property, declarative_base, relationship

    base = declarative_base()

    class Plain(base):
        __tablename__ = 'odd_plain'
        id = Column(Integer, primary_key=True)
        name = Column(String(20))

    class Twin(base):  # a second class on one table
        __table__ = Plain.__table__

    class Person(base):
        __tablename__ = 'odd_person'
        id = Column(Integer, primary_key=True)
        kind = Column(String(10))
        __mapper_args__ = {'polymorphic_on': kind, 'polymorphic_identity': 'person'}

    class Admin(Person):
        __tablename__ = 'odd_admin'
        id = Column(ForeignKey('odd_person.id'), primary_key=True)
        level = Column(Integer)
        __mapper_args__ = {'polymorphic_identity': 'admin'}

    class Shouting(base):
        __tablename__ = 'odd_shouting'
        id = Column(Integer, primary_key=True)
        name = Column(String(20))
        loud = column_property(func.upper(name))

    class Eager(base):
        __tablename__ = 'odd_eager'
        id = Column(Integer, primary_key=True)
        plain_id = Column(ForeignKey('odd_plain.id'))
        plain = relationship(Plain, lazy='joined')

    base.metadata.create_all(sqla_env.engine)
    session = sqla_env.model.DBSession
    session.add_all([Plain(id=i, name=f'p{i}') for i in range(1, 71)])
    session.add_all([Admin(id=1, level=3), Shouting(id=1, name='hey'), Eager(id=1, plain_id=2)])
    sqla_env.commit()
    sqla_env.clear_session()
    yield Plain, Twin, Admin, Shouting, Eager
    sqla_env.clear_session()
    base.metadata.drop_all(sqla_env.engine)


def test_classes_the_shared_query_cannot_read_load_as_before(sqla_env, odd_classes):
    """Inheritance, an SQL expression, an eager relationship, a second class on one table and
    more keys than the shared statement takes: each a query of its own, the same entities."""
    plain, twin, admin, shouting, eager = odd_classes
    storage = model.storage()
    with sqla_env.count_queries() as sent:
        found = storage.load_entities_of(
            {plain: [1, 2], twin: [3], admin: [1], shouting: [1], eager: [1]}
        )
        loaded = found[eager][0].plain.name, found[admin][0].level, found[shouting][0].loud
    assert len(sent) == 5, list(sent)  # the plain class alone shares, and nothing else runs
    assert loaded == ('p2', 3, 'HEY')
    assert sorted(p.name for p in found[plain]) == ['p1', 'p2']
    assert [t.name for t in found[twin]] == ['p3']
    with sqla_env.count_queries() as sent:
        many = storage.load_entities_of({plain: list(range(1, 71)), shouting: [1]})
    assert len(many[plain]) == 70 and len(sent) == 2


def test_a_session_that_rewrites_queries_loads_a_query_per_class(sqla_env):
    """A host filtering its ORM queries (here: no team named 'hidden', by loader criteria)
    keeps its filter: the shared statement's text cannot take it, each class loads alone."""
    env = sqla_env
    alice, team, hidden = env.user('alice'), env.team('shown'), env.team('hidden')
    env.commit()
    wanted = [refs.ref_of(e, 'e') for e in (alice, team, hidden)]
    env.clear_session()
    with loader_criteria(env, env.model.Team, lambda cls: cls.name != 'hidden'):
        with env.count_queries() as sent:
            found = refs.resolve(model.storage(), wanted)
    assert len(sent) == 2, list(sent)
    assert [refs.display(found[ref]) for ref in wanted] == ['alice', 'team shown', None]
