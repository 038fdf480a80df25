"""Build a real TG 2.5 application with activitystream plugged, per backend.

The bench drives ``am`` in-process, outside requests, as a TG site's own code
(a controller, a script, a worker) would: the same host configuration as a
quickstarted project, one app per process (TG's configuration is global).
"""

import contextlib
import json
import os
import pathlib

import tg
import transaction
from tg import FullStackApplicationConfigurator
from tgext.pluggable import plug

from ..common import PG_URL
from ..dataset import history_window

MONGO_URL = os.environ.get('ACTIVITYSTREAM_MONGO_URL')
DATA_DIR = pathlib.Path(__file__).resolve().parent.parent / 'results' / 'db'
SQL_BACKENDS = ('sqlite', 'postgresql')


def database_name(size):
    return f'activitystream_bench_{size}'


def postgresql_url(size, name=None):
    """The bench's own database on the PostgreSQL server, created if missing.

    ``name`` defaults to the size's database.
    """
    import sqlalchemy as sa

    name = name or database_name(size)
    admin = sa.create_engine(PG_URL, isolation_level='AUTOCOMMIT')
    with admin.connect() as conn:
        found = conn.execute(sa.text('SELECT 1 FROM pg_database WHERE datname = :n'), {'n': name})
        if found.first() is None:
            conn.execute(sa.text(f'CREATE DATABASE {name}'))
    admin.dispose()
    return PG_URL.rsplit('/', 1)[0] + '/' + name


def _database(backend, size, name=None):
    if backend == 'sqlite':
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        return {'use_sqlalchemy': True, 'sqlalchemy.url': f'sqlite:///{DATA_DIR}/{size}.sqlite'}
    if backend == 'postgresql':
        return {'use_sqlalchemy': True, 'sqlalchemy.url': postgresql_url(size, name)}
    if backend == 'mongodb' and not MONGO_URL:
        raise RuntimeError('the mongodb backend needs ACTIVITYSTREAM_MONGO_URL')
    return {
        'use_ming': True,
        'use_sqlalchemy': False,
        'ming.url': MONGO_URL if backend == 'mongodb' else 'mim:///',
        'ming.db': database_name(size),
    }


def build_app(backend, size, database=None):
    """The TG app for ``backend`` (sqlite, postgresql, ming, mongodb), as a :class:`Host`.

    ``database``: a PostgreSQL database other than the size's (a bench that writes).
    """
    if backend in SQL_BACKENDS:
        from . import sahost as package
    else:
        from . import minghost as package
    model = package.model
    cfg = FullStackApplicationConfigurator()
    cfg.update_blueprint(
        {
            'package': package,
            'model': model,
            'DBSession': model.DBSession,
            'renderers': ['json', 'kajiki'],
            'default_renderer': 'kajiki',
            'session.enabled': False,
            'cache.enabled': True,
            'debug': False,
            'trace_errors.enable': False,
            'errorpage.enabled': False,
            'tm.enabled': backend in SQL_BACKENDS,
            **_database(backend, size, database),
        }
    )
    # the dataset lies before a fixed END: counts must look back past its first day
    window = history_window()
    plug(cfg, 'activitystream', unseen_window=window)
    app = cfg.make_wsgi_app({}, {})
    kind = SQLAHost if backend in SQL_BACKENDS else MingHost
    return kind(backend, size, app, model, window)


class Host:
    """A running host app: its model, and what the bench needs around it."""

    def __init__(self, backend, size, app, model, unseen_window):
        self.backend = backend
        self.size = size
        self.app = app
        self.model = model
        self.unseen_window = unseen_window  # as plugged: the floor counts over the same


class SQLAHost(Host):
    @property
    def engine(self):
        return tg.config['tg.app_globals'].sa_engine

    @property
    def session(self):
        return self.model.DBSession

    def reset_schema(self):
        """Drop and create the host's and activitystream's tables."""
        transaction.abort()
        self.session.remove()
        self.model.metadata.drop_all(self.engine)
        self.model.metadata.create_all(self.engine)

    def bulk_insert(self, cls, rows):
        from sqlalchemy import insert

        if rows:
            self.session.execute(insert(cls), rows)

    def all(self, cls):
        """Every row of ``cls``, detached: a commit or rollback never reloads them."""
        from sqlalchemy import select

        found = list(self.session.execute(select(cls)).scalars())
        self.session.expunge_all()
        return found

    def commit(self):
        transaction.commit()

    def read_meta(self):
        from sqlalchemy import inspect, select

        if not inspect(self.engine).has_table('bench_meta'):
            return None
        row = self.session.execute(select(self.model.BenchMeta).filter_by(key='dataset')).first()
        self.abort()
        return None if row is None else json.loads(row[0].value)

    def write_meta(self, meta):
        self.session.merge(self.model.BenchMeta(key='dataset', value=json.dumps(meta)))
        self.commit()

    def abort(self):
        transaction.abort()

    def raw_connection(self):
        """A DBAPI connection of the same driver, outside SQLAlchemy (for the floor)."""
        url = self.engine.url
        if self.backend == 'sqlite':
            import sqlite3

            return sqlite3.connect(url.database)
        import psycopg2

        return psycopg2.connect(
            host=url.host, port=url.port, user=url.username, password=url.password,
            dbname=url.database,
        )  # fmt: skip

    @contextlib.contextmanager
    def statements(self):
        """The SQL statements sent while the block runs: (sql, parameters, executemany)."""
        from sqlalchemy import event

        seen = []

        def record(conn, cursor, statement, parameters, context, executemany):
            seen.append((statement, parameters, executemany))

        event.listen(self.engine, 'before_cursor_execute', record)
        try:
            yield seen
        finally:
            event.remove(self.engine, 'before_cursor_execute', record)

    def close(self):
        transaction.abort()
        self.session.remove()
        self.engine.dispose()


class MingHost(Host):
    @property
    def session(self):
        return self.model.DBSession

    @property
    def db(self):
        return self.session.impl.db

    def reset_schema(self):
        self.session.clear()
        for name in list(self.db.list_collection_names()):
            self.db.drop_collection(name)

    def bulk_insert(self, cls, docs):
        if docs:
            self.db[cls.__mongometa__.name].insert_many(docs)

    def all(self, cls):
        found = cls.query.find().all()
        self.session.clear()
        return found

    def commit(self):
        self.session.flush_all()

    def read_meta(self):
        doc = self.db.bench_meta.find_one({'_id': 'dataset'})
        return None if doc is None else doc['value']

    def write_meta(self, meta):
        self.db.bench_meta.replace_one({'_id': 'dataset'}, {'value': meta}, upsert=True)

    def abort(self):
        self.session.clear()

    def raw_connection(self):
        """The same pymongo (or mim) database, used without Ming (for the floor)."""
        return self.db

    @contextlib.contextmanager
    def statements(self):
        """The top-level collection operations sent while the block runs."""
        from ming import mim
        from pymongo.collection import Collection

        cls = mim.Collection if self.backend == 'ming' else Collection
        names = ('find', 'find_one', 'count_documents', 'insert_one', 'insert_many', 'aggregate')
        originals = {name: getattr(cls, name) for name in names}
        seen, depth = [], [0]

        def spy(name, original):
            def wrapper(*args, **kwargs):
                if depth[0] == 0:
                    seen.append((name, args[1:2]))
                depth[0] += 1
                try:
                    return original(*args, **kwargs)
                finally:
                    depth[0] -= 1

            return wrapper

        for name, original in originals.items():
            setattr(cls, name, spy(name, original))
        try:
            yield seen
        finally:
            for name, original in originals.items():
                setattr(cls, name, original)

    def close(self):
        self.session.close_all()
