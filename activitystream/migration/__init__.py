"""Schema migrations: alembic revisions of the SQLAlchemy tables, versioned steps on Ming.

tgext.pluggable's ``gearbox migrate-pluggable -c site.ini activitystream upgrade``
looks for an alembic script directory named ``migration`` inside the
pluggable's package: this one. ``gearbox activitystream-migrate -c site.ini
upgrade`` runs the same revisions (or, on a Ming site, the Ming steps) without
tgext.pluggable's command, and the host's ``gearbox setup-app`` runs them too.

Revisions name every table, index and constraint through :func:`name`, so
they reach the tables a site plugged with ``rename_tables`` actually has. The
version table is ``activitystream_migrate`` (tgext.pluggable's name for it),
prefixed the same way.

A database whose tables were made by ``create_all`` before it had a version
table is *adopted*: stamped with the revision its tables are at (see
:data:`ADOPTABLE`), then upgraded like any other.
"""

from __future__ import annotations

import sys
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

SCRIPT_LOCATION = 'activitystream:migration'
VERSION_TABLE = 'activitystream_migrate'
# the revision of each table layout a site may have without a version table:
# deliveries keyed by (action, recipient) before e3a0c6a, then by the inbox order, then
# (revision 0006) by the inbox order with the recipient's integer key
ADOPTABLE = {'action_id': '0001', 'recipient_type': '0002', 'recipient_key': '0006'}

_prefix: ContextVar[str] = ContextVar('activitystream_migration_prefix', default='')


def name(ours: str) -> str:
    """The site's name of one of our tables, indexes or constraints (``rename_tables``)."""
    return _prefix.get() + ours


def site_prefix() -> str:
    """What ``rename_tables`` put before our table names in the running site ('' if nothing)."""
    from ..storage.sqla import schema

    key, table = next(iter(schema.DeclarativeBase.metadata.tables.items()))
    return table.name.removesuffix(key)


def alembic_config(connection: Connection, prefix: str) -> Any:
    """An alembic Config of our revisions on ``connection``, tables named with ``prefix``."""
    from alembic.config import Config

    config = Config(stdout=sys.stdout)  # its default is the stdout of alembic's import time
    config.set_main_option('script_location', SCRIPT_LOCATION)
    config.attributes.update(connection=connection, table_prefix=prefix)
    return config


def _site_connection(config: Any) -> tuple[Any, str]:
    """Load the site of alembic's config file (as migrate-pluggable gives it): engine, prefix."""
    import os

    import tg
    from paste.deploy import loadapp

    from .. import model

    loadapp(f'config:{os.path.abspath(config.config_file_name)}')
    if model.backend != 'sqlalchemy':
        raise SystemExit(
            'activitystream: this site stores on Ming; its migrations run with '
            '`gearbox activitystream-migrate -c <site.ini> upgrade` or `gearbox setup-app`'
        )
    return tg.config['tg.app_globals'].sa_engine, site_prefix()


def _adopt(context: Any, connection: Connection) -> None:
    """Stamp a database made without migrations with the revision its tables are at."""
    import sqlalchemy as sa

    migration = context.get_context()
    if migration.get_current_heads():
        return
    inspector = sa.inspect(connection)
    deliveries = name('activitystream_deliveries')
    if not inspector.has_table(deliveries):
        return  # nothing of ours yet: the revisions create it all
    first = inspector.get_pk_constraint(deliveries)['constrained_columns'][0]
    migration.stamp(context.script, ADOPTABLE[first])


def run_env(context: Any) -> None:
    """The body of ``env.py``: our revisions on the site's connection and table names."""
    config = context.config
    connection = config.attributes.get('connection')
    prefix = config.attributes.get('table_prefix')
    engine = None
    if connection is None:  # run by tgext.pluggable's migrate-pluggable
        engine, prefix = _site_connection(config)
        connection = engine.connect()
        config.stdout = sys.stdout  # its Config's default is the stdout of alembic's import time
    token = _prefix.set(prefix or '')
    try:
        context.configure(
            connection=connection, target_metadata=None, version_table=name(VERSION_TABLE)
        )
        with context.begin_transaction():
            _adopt(context, connection)
            context.run_migrations()
    finally:
        _prefix.reset(token)
        if engine is not None:
            connection.close()


def alembic_command(connection: Connection, action: str, *args: Any) -> None:
    """Run alembic's ``action`` (upgrade, downgrade, current, history, stamp) on our revisions."""
    from alembic import command

    getattr(command, action)(alembic_config(connection, site_prefix()), *args)


def upgrade_site() -> str:
    """Bring the running site's schema to the newest revision or step; say what was done.

    ``gearbox setup-app`` runs it (activitystream.bootstrap) in the host's transaction.
    """
    from .. import model

    if model.backend == 'ming':
        from ..storage.ming import migrations

        ran = migrations.upgrade(model.DBSession.impl.db)
        return f'Ming steps done: {ran or "none, up to date"}'
    from zope.sqlalchemy import mark_changed

    session = model.DBSession.wrapped_session()
    alembic_command(session.connection(), 'upgrade', 'head')
    mark_changed(session)  # written through the connection: tell the transaction to commit
    return 'SQLAlchemy tables at the newest revision'
