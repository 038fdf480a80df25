"""The bench's host app, per backend: the ``hosts`` package on its bench model.

The bench drives ``am`` in-process, outside requests, as a TG site's own code
(a controller, a script, a worker) would: the same host configuration as a
quickstarted project, one app per process (TG's configuration is global).
"""

import contextlib
import json
import os
import pathlib

import transaction

import hosts.app
import hosts.models

from .common import PG_URL
from .dataset import history_window

MONGO_URL = os.environ.get('ACTIVITYSTREAM_MONGO_URL')
DATA_DIR = pathlib.Path(__file__).resolve().parent / 'results' / 'db'
SQL_BACKENDS = hosts.app.SQL_BACKENDS


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
    """``(url, ming_db)`` of the bench's database on ``backend``."""
    if backend == 'sqlite':
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        return f'sqlite:///{DATA_DIR}/{size}.sqlite', ''
    if backend == 'postgresql':
        return postgresql_url(size, name), ''
    if backend == 'mongodb' and not MONGO_URL:
        raise RuntimeError('the mongodb backend needs ACTIVITYSTREAM_MONGO_URL')
    return MONGO_URL if backend == 'mongodb' else 'mim:///', database_name(size)


def build_app(backend, size, database=None):
    """The TG app for ``backend`` (sqlite, postgresql, ming, mongodb), as a :class:`Host`.

    ``database``: a PostgreSQL database other than the size's (a bench that writes).
    """
    model = hosts.models.model(sql=backend in SQL_BACKENDS, bench=True)
    conf = hosts.app.blueprint(model, *_database(backend, size, database))
    # the dataset lies before a fixed END: counts must look back past its first day
    window = history_window()
    app = hosts.app.make_app(conf, unseen_window=window)
    kind = SQLAHost if backend in SQL_BACKENDS else MingHost
    return kind(backend, app, model, size, window)


class BenchHost:
    """What the bench needs around a running host: its size, and its data in bulk."""

    def __init__(self, backend, app, model, size, unseen_window):
        super().__init__(backend, app, model)
        self.size = size
        self.unseen_window = unseen_window  # as plugged: the floor counts over the same


class SQLAHost(BenchHost, hosts.app.SQLAHost):
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

    def forget_entities(self):
        """Empty the session's identity map, as a request starts: a page's entities live
        until the garbage collector frees its cycles, and the next calls would find them."""
        self.session.expunge_all()

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
        """(sql, parameters, executemany) of each statement sent while the block runs."""
        calls = []
        with self.count_queries() as sent:
            yield calls
        calls.extend(zip(sent, sent.params, sent.executemany, strict=True))


class MingHost(BenchHost, hosts.app.MingHost):
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

    def read_meta(self):
        doc = self.db.bench_meta.find_one({'_id': 'dataset'})
        return None if doc is None else doc['value']

    def write_meta(self, meta):
        self.db.bench_meta.replace_one({'_id': 'dataset'}, {'value': meta}, upsert=True)

    def abort(self):
        self.session.clear()

    def forget_entities(self):
        self.session.clear()

    def raw_connection(self):
        """The same pymongo (or mim) database, used without Ming (for the floor)."""
        return self.db

    def statements(self):
        """The names of the top-level collection operations sent while the block runs."""
        return self.count_queries()
