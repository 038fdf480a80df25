"""Build a host app: a TG 2.5 FullStack application with activitystream plugged.

The same configuration as a quickstarted project, on one of :mod:`hosts.models`;
the tests and the bench add their own options and wrap the app in their own
:class:`Host` subclasses. One app per process at a time: TG's configuration is global.
"""

import contextlib
from collections.abc import Callable
from types import ModuleType
from typing import Any

import tg
import transaction
from tg import FullStackApplicationConfigurator
from tgext.pluggable import plug

import hosts

from . import spy

SQL_BACKENDS = ('sqlite', 'postgresql')  # the others: ming (mim://) and mongodb (a server)


def blueprint(model: ModuleType, url: str, ming_db: str = '') -> dict[str, Any]:
    """TG's options of a host on ``model`` (one of :mod:`hosts.models`) at database ``url``.

    ``url``: SQLAlchemy's URL for a SQLAlchemy model; for a Ming one, Ming's
    (``mim:///``, ``mongodb://...``) and its database ``ming_db``.
    """
    sql = hasattr(model, 'metadata')
    if sql:
        database = {'use_sqlalchemy': True, 'sqlalchemy.url': url}
    else:
        database = {'use_ming': True, 'use_sqlalchemy': False, 'ming.url': url, 'ming.db': ming_db}
    return {
        'package': hosts,
        'model': model,
        'DBSession': model.DBSession,
        'renderers': ['json', 'kajiki'],
        'default_renderer': 'kajiki',
        'session.enabled': False,
        'cache.enabled': True,
        'debug': False,
        'trace_errors.enable': False,
        'errorpage.enabled': False,
        'tm.enabled': sql,
        **database,
    }


def make_app(
    conf: dict[str, Any],
    configure: Callable[[FullStackApplicationConfigurator], None] | None = None,
    **plug_options: Any,
) -> Any:
    """The WSGI app configured by ``conf``, activitystream plugged with ``plug_options``.

    ``configure(cfg)`` runs on the configurator before ``plug()``.
    """
    cfg = FullStackApplicationConfigurator()
    cfg.update_blueprint(conf)
    if configure is not None:
        configure(cfg)
    plug(cfg, 'activitystream', **plug_options)
    return cfg.make_wsgi_app({}, {})


class Host:
    """A running host app on ``backend`` (sqlite, postgresql, ming, mongodb) and its model."""

    sql: bool

    def __init__(self, backend: str, app: Any, model: ModuleType) -> None:
        self.backend = backend
        self.app = app
        self.model = model

    @property
    def session(self) -> Any:
        return self.model.DBSession


class SQLAHost(Host):
    sql = True  # a transaction spans the writes (Ming on mim:// or a server: False)

    @property
    def engine(self) -> Any:
        return tg.config['tg.app_globals'].sa_engine

    def commit(self) -> None:
        transaction.commit()

    def close(self) -> None:
        transaction.abort()
        self.session.remove()
        self.engine.dispose()

    def count_queries(self) -> contextlib.AbstractContextManager[spy.Statements]:
        """The SQL statements sent while the block runs (parameters: ``.params``)."""
        return spy.sql_statements(self.engine)


class MingHost(Host):
    sql = False

    @property
    def db(self) -> Any:
        return self.session.impl.db

    def commit(self) -> None:
        self.session.flush_all()

    def close(self) -> None:
        self.session.close_all()

    def count_queries(self) -> contextlib.AbstractContextManager[list[str]]:
        """The top-level collection operations sent while the block runs."""
        return spy.collection_operations(mim=self.backend == 'ming')
