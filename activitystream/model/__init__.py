"""What tgext.pluggable sees: ``DBSession``, ``init_model`` and the active tables.

The backend is chosen once, when TG's configuration is ready
(:func:`configure_models`). For SQLAlchemy the table classes become
attributes of this module, so tgext.pluggable copies them into the host's
metadata; Ming needs no merging, its indexes are ensured on first use.
Everything else reaches the database through :func:`storage`.
"""

from contextlib import contextmanager
from contextvars import ContextVar

import tg
from tgext.pluggable import PluggableSession

from ..options import BLUEPRINT_KEY, DEFAULTS, ConfigurationError
from . import renaming

DBSession = PluggableSession()
backend = None
_storage = None
_schema_ready = False
_SQLA_NAMES = (
    'DeclarativeBase',
    'Action',
    'Delivery',
    'SeenState',
    'ReadMark',
    'Dismissal',
    'Subscription',
    'OutboxJob',
    'Preference',
    'DigestItem',
    'DigestMark',
)


def init_model(app_session):
    """tgext.pluggable calls this once it has copied our tables into the host's metadata."""
    DBSession.configure(app_session)
    if backend == 'sqlalchemy' and options().get('rename_tables'):
        from ..storage.sqla import schema

        host_metadata = tg.config['package'].model.DeclarativeBase.metadata
        renaming.follow_renames(schema.DeclarativeBase.metadata, host_metadata)


def options():
    """The validated plug options of the running application."""
    return tg.config.get(BLUEPRINT_KEY, DEFAULTS)


def _chosen_backend(conf):
    wanted = options().get('backend', 'auto')
    if wanted != 'auto':
        return wanted
    if conf.get('use_sqlalchemy'):
        return 'sqlalchemy'
    if conf.get('use_ming'):
        return 'ming'
    raise ConfigurationError(
        'activitystream needs a database: set use_sqlalchemy = True (with sqlalchemy.url) '
        'or use_ming = True (with ming.url) in your application configuration'
    )


def configure_models(conf=None, app=None):
    """Pick the storage backend from the host's configuration (config_ready milestone)."""
    global backend, _storage, _schema_ready
    from .. import refs
    from ..delivery.runner import stop_workers

    refs.forget_classes()
    stop_workers()  # they worked for the application configured before
    module = globals()
    backend = _chosen_backend(tg.config)
    _schema_ready = False
    if backend == 'sqlalchemy':
        from ..storage.sqla import schema
        from ..storage.sqla.storage import SQLAStorage

        renaming.restore_names(schema.DeclarativeBase.metadata, schema.MODELS)
        module.update({name: getattr(schema, name) for name in _SQLA_NAMES})
        _storage = SQLAStorage(DBSession)
    else:
        from ..storage.ming.storage import MingStorage

        for name in _SQLA_NAMES:
            module.pop(name, None)
        _storage = MingStorage(DBSession)


# a delivery runner's unit of work, while one runs in this thread or task
_working = ContextVar('activitystream_unit_of_work', default=None)


@contextmanager
def unit_of_work():
    """Run a block in a transaction of its own, outside the host's; commit it when it ends.

    Inside it, :func:`storage` (so ``am`` and the backends) is that
    transaction's storage: what a delivery job writes and the job's own end
    commit together, or not at all.
    """
    with storage().unit_of_work() as own:
        token = _working.set(own)
        try:
            yield own
        finally:
            _working.reset(token)


def in_unit_of_work():
    """Whether this code runs inside :func:`unit_of_work` (a delivery runner)."""
    return _working.get() is not None


def storage():
    """The active storage; its schema is ensured on first use in a process."""
    global _schema_ready
    working = _working.get()
    if working is not None:
        return working
    if _storage is None:
        raise ConfigurationError(
            "activitystream is not plugged: call plug(base_config, 'activitystream') "
            'in your config/app_cfg.py and start the application first'
        )
    if not _schema_ready:
        from ..delivery.runner import start_background

        _storage.ensure_schema()
        _schema_ready = True
        start_background()  # work a process left behind does not wait for new work
    return _storage
