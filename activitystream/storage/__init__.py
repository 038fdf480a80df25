"""Storage: ``base`` is the contract, ``sqla`` and ``ming`` implement it; here one is chosen.

The backend is chosen once, when TG's configuration is ready
(:func:`configure`, on the config_ready milestone plugme registers): the
``backend`` plug option, else the host's ``use_sqlalchemy`` / ``use_ming``.
The same call picks the entity adapter of that ORM (:mod:`activitystream.entities`).
Everything reaches the database through :func:`active` (``model.storage``).
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import tg

from ..options import NOT_PLUGGED, ConfigurationError, current
from .base import Backend

backend: str | None = None  # 'sqlalchemy' or 'ming' once configured
_storage: Backend | None = None
_schema_ready = False


def _chosen_backend(conf: Any) -> str:
    wanted = current().get('backend', 'auto')
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


def configure(conf: Any = None, app: Any = None) -> None:
    """Pick the storage backend and entity adapter from the host's configuration."""
    global backend, _storage, _schema_ready
    from .. import entities, model
    from ..delivery.runner import stop_workers

    stop_workers()  # they worked for the application configured before
    chosen = _chosen_backend(tg.config)
    entities.configure(chosen, current().get('entity_types', {}))
    backend, _schema_ready = chosen, False
    if backend == 'sqlalchemy':
        from .sqla import schema
        from .sqla.storage import SQLAStorage

        model.show_tables(schema)
        _storage = SQLAStorage(model.DBSession)
        _storage.prepare_reads = current().get('prepared_statements', True)
    else:
        from .ming.storage import MingStorage

        model.show_tables(None)
        _storage = MingStorage(model.DBSession)


# a delivery runner's unit of work, while one runs in this thread or task
_working: ContextVar[Backend | None] = ContextVar('activitystream_unit_of_work', default=None)


@contextmanager
def unit_of_work() -> Iterator[Backend]:
    """Run a block in a transaction of its own, outside the host's; commit it when it ends.

    Inside it, :func:`active` (so ``am`` and the backends) is that
    transaction's storage: what a delivery job writes and the job's own end
    commit together, or not at all.
    """
    with active().unit_of_work() as own:
        token = _working.set(own)
        try:
            yield own
        finally:
            _working.reset(token)


def in_unit_of_work() -> bool:
    """Whether this code runs inside :func:`unit_of_work` (a delivery runner)."""
    return _working.get() is not None


def active() -> Backend:
    """The active storage; its schema is ensured on first use in a process."""
    global _schema_ready
    working = _working.get()
    if working is not None:
        return working
    if _storage is None:
        raise ConfigurationError(NOT_PLUGGED)
    if not _schema_ready:
        from ..delivery.runner import start_background

        _storage.ensure_schema()
        _schema_ready = True
        start_background()  # work a process left behind does not wait for new work
    return _storage
