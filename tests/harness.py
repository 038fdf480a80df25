"""Real TG2 applications that plug activitystream, one per database backend.

``environment(name)`` gives an :class:`Env`: a WebTest ``TestApp`` of a TG 2.5
FullStack application (the ``hosts`` package on the tests' model, SQLAlchemy's
or Ming's) with activitystream plugged, plus helpers to make host entities.
Apps are cached per backend and their data wiped between tests; building any
other app (``build_app``) drops the cache, since TG's configuration is process-global.
"""

import contextlib
import itertools
import os
import tempfile
import urllib.parse

import pytest
import tg
import transaction
from sampleapp.lib.auth import AuthMetadata
from tg import TGController
from tg.configuration import milestones
from webtest import TestApp

import hosts.app
import hosts.models
from hosts.controllers.root import RootController

from . import secantus

IN_CI = os.environ.get('CI', '').lower() == 'true'
PG_URL = os.environ.get(
    'ACTIVITYSTREAM_PG_URL', 'postgresql+psycopg2://postgres@127.0.0.1:5432/test'
)
# a MongoDB server: the one named, else SecantusDB started for this run (tests/secantus.py)
MONGO_URL = os.environ.get('ACTIVITYSTREAM_MONGO_URL') or secantus.start()

BACKENDS = [*hosts.app.SQL_BACKENDS, 'ming'] + (['mongodb'] if MONGO_URL else [])

_state = {'generation': 0, 'cached': None, 'live': None, 'pg_url': None, 'tmpdir': None}


def _all_subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _all_subclasses(sub)


def reset_tg():
    """TG's milestones and hooks are process-global: clear them before a new app.

    ``@expose`` waits for the renderers_ready milestone; a controller imported
    since the last app was built is still waiting, and the reset would drop
    its wait (a 404 later), so its pending expositions wait again. And
    tgext.pluggable mounts on the host's controller *class*: unmount.
    """
    from tg.decorators import Decoration

    import activitystream.controllers.root

    milestones._reset_all()
    tg.hooks._clear()
    plugged = activitystream.controllers.root.RootController
    for name, value in list(vars(RootController).items()):
        if isinstance(value, plugged):
            delattr(RootController, name)
    for controller in _all_subclasses(TGController):
        for member in vars(controller).values():
            deco = getattr(member, 'decoration', None)
            if isinstance(deco, Decoration) and deco._expositions:
                milestones.renderers_ready.register(deco._resolve_expositions)


def _unavailable(what, error):
    message = f'{what} is not reachable: {error}'
    if IN_CI:
        pytest.fail(f'{message} (CI=true: a missing server is a failure)')
    pytest.skip(message)


def new_postgresql_database(name):
    """A new, empty database ``name`` on the running PostgreSQL server: its URL."""
    import sqlalchemy as sa

    try:
        admin = sa.create_engine(PG_URL, isolation_level='AUTOCOMMIT')
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS {name}'))
            conn.execute(sa.text(f'CREATE DATABASE {name}'))
        admin.dispose()
    except Exception as exc:  # noqa: BLE001 - any connection problem means "not here"
        _unavailable('PostgreSQL', exc)
    return PG_URL.rsplit('/', 1)[0] + '/' + name


def postgresql_url():
    """A fresh database on the running PostgreSQL server, made once per test run."""
    if _state['pg_url'] is None:
        _state['pg_url'] = new_postgresql_database(f'activitystream_test_{os.getpid()}')
    return _state['pg_url']


def drop_postgresql_database(url=None):
    """Drop the database of ``url`` (default: the one of :func:`postgresql_url`, if made)."""
    url = url or _state['pg_url']
    if url is None:
        return
    import sqlalchemy as sa

    name = url.rsplit('/', 1)[1]
    admin = sa.create_engine(PG_URL, isolation_level='AUTOCOMMIT')
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS {name} WITH (FORCE)'))
    admin.dispose()


def sqlite_url():
    if _state['tmpdir'] is None:
        _state['tmpdir'] = tempfile.mkdtemp(prefix='activitystream-tests-')
    return 'sqlite:///' + os.path.join(_state['tmpdir'], f'test-{_state["generation"]}.sqlite')


def mongo_url(database: str) -> str:
    """``ACTIVITYSTREAM_MONGO_URL`` naming ``database``, its options kept.

    TG appends ``ming.db`` to ``ming.url`` as text, which breaks a URL with
    options (``mongodb://h/?directConnection=true`` + ``/db``): the database
    goes into the URL's path instead, and pymongo checks the result.
    """
    from pymongo.uri_parser import parse_uri

    url = urllib.parse.urlunsplit(urllib.parse.urlsplit(MONGO_URL)._replace(path=f'/{database}'))
    parse_uri(url)
    return url


def blueprint_for(backend):
    """Host configuration for ``backend``, as a quickstarted app would have it."""
    sql = backend in hosts.app.SQL_BACKENDS
    name = f'activitystream_test_{os.getpid()}'
    if sql:
        url, ming_db = sqlite_url() if backend == 'sqlite' else postgresql_url(), ''
    elif backend == 'mongodb':
        url, ming_db = mongo_url(name), ''  # the URL names the database (see mongo_url)
    else:
        url, ming_db = 'mim:///', name
    model = hosts.models.model(sql)
    return {
        **hosts.app.blueprint(model, url, ming_db),
        'renderers': ['json', 'kajiki', 'genshi'],
        'i18n.enabled': True,
        'sa_auth.enabled': True,
        'skip_authentication': True,
        'sa_auth.cookie_secret': 'test',
        'sa_auth.authmetadata': AuthMetadata(lambda name: _find_user(model, name)),
    }


def _find_user(model, user_name):
    if hasattr(model.User, '__tablename__'):
        return model.DBSession.query(model.User).filter_by(user_name=user_name).first()
    return model.User.query.get(user_name=user_name)


def build_app(backend, blueprint=None, configure=None, **plug_options):
    """A new TG app on ``backend`` with activitystream plugged with ``plug_options``.

    ``configure(cfg)`` runs on the configurator before ``plug()``.
    """
    reset_tg()
    _state['generation'] += 1
    if _state['live'] is not None:
        _state['live'].close()
    _state['live'] = _state['cached'] = None
    conf = blueprint_for(backend)
    conf.update(blueprint or {})
    plug_options.setdefault('delivery_runner', 'inline')  # deliveries done by commit time
    app = TestApp(hosts.app.make_app(conf, configure, **plug_options))
    kind = SQLAEnv if backend in hosts.app.SQL_BACKENDS else MingEnv
    env = kind(backend, app, conf['model'])
    env.renderer = conf['default_renderer']
    env.create_schema()
    env.clear()
    _state['live'] = env
    return env


def environment(backend, renderer='kajiki'):
    """The cached app for ``backend`` and default ``renderer``, with empty tables."""
    cached = _state['cached']
    if cached is None or (cached.backend, cached.renderer) != (backend, renderer):
        cached = build_app(backend, blueprint={'default_renderer': renderer})
        _state['cached'] = cached
    cached.clear()
    return cached


class Env:
    """Ways to make the host's entities, on the tests' SQLAlchemy or Ming host."""

    def user(self, user_name, display_name=None):
        return self.add(self.model.User(user_name=user_name, display_name=display_name))

    def team(self, slug):
        return self.add(self.model.Team(**{self.team_key: slug}, name=slug))

    def document(self, title):
        return self.add(self.model.Document(title=title, **self.document_key()))

    def member(self, name, last_activity_seen=None):
        return self.add(self.model.Member(name=name, last_activity_seen=last_activity_seen))

    def login(self, user):
        return {'REMOTE_USER': user.user_name}


class SQLAEnv(Env, hosts.app.SQLAHost):
    team_key = 'slug'

    def document_key(self):
        return {}

    def create_schema(self):
        self.model.metadata.create_all(self.engine)

    def add(self, obj):
        self.model.DBSession.add(obj)
        self.model.DBSession.flush()
        return obj

    def clear_session(self):
        """Forget what this thread's session holds: read what the database has."""
        transaction.abort()
        self.model.DBSession.remove()

    def delete(self, obj):
        self.model.DBSession.delete(obj)
        self.model.DBSession.flush()

    def clear(self):
        transaction.abort()
        self.model.DBSession.remove()
        with self.engine.begin() as conn:
            for table in reversed(self.model.metadata.sorted_tables):
                conn.execute(table.delete())


@contextlib.contextmanager
def loader_criteria(env, cls, where):
    """While the block runs, the host's session adds loader criteria on ``cls`` to every
    ORM SELECT (a host hiding soft-deleted rows or other tenants' does so)."""
    from sqlalchemy import event
    from sqlalchemy.orm import with_loader_criteria

    session = env.model.DBSession.registry()
    criteria = with_loader_criteria(cls, where)

    def hide(state):
        if state.is_select:
            state.statement = state.statement.options(criteria)

    event.listen(session, 'do_orm_execute', hide)
    try:
        yield
    finally:
        event.remove(session, 'do_orm_execute', hide)


class MingEnv(Env, hosts.app.MingHost):
    team_key = '_id'

    def __init__(self, backend, app, model):
        super().__init__(backend, app, model)
        self._numbers = itertools.count(1)

    def document_key(self):
        return {'_id': next(self._numbers)}

    def create_schema(self):
        """Ming collections need no creation."""

    def add(self, obj):
        self.model.DBSession.flush(obj)
        return obj

    def clear_session(self):
        self.model.DBSession.clear()

    def delete(self, obj):
        obj.delete()
        self.model.DBSession.flush_all()

    def clear(self):
        self.model.DBSession.clear()
        for name in self.db.list_collection_names():
            self.db[name].delete_many({})
