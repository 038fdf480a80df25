"""What tgext.pluggable sees: ``DBSession``, ``init_model`` and the active tables.

The backend is chosen in :mod:`activitystream.storage` (``configure``, when
TG's configuration is ready). For SQLAlchemy it shows the table classes here
(:func:`show_tables`), so tgext.pluggable copies them into the host's
metadata; Ming needs no merging, its indexes are ensured on first use.
``storage``, ``options``, ``unit_of_work``, ``in_unit_of_work``,
``configure_models`` and ``backend`` are kept here for the code that reads
them from this module.
"""

from typing import Any

import tg
from tgext.pluggable import PluggableSession

from .. import storage as _storage_package
from ..options import current as options
from ..storage import active as storage
from ..storage import configure as configure_models
from ..storage import in_unit_of_work, unit_of_work
from . import renaming

__all__ = [
    'DBSession',
    'configure_models',
    'in_unit_of_work',
    'init_model',
    'options',
    'show_tables',
    'storage',
    'unit_of_work',
]

DBSession = PluggableSession()
_SQLA_NAMES = (
    'DeclarativeBase',
    'Action',
    'Recipient',
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


def __getattr__(name: str) -> Any:
    if name == 'backend':  # chosen in activitystream.storage: 'sqlalchemy', 'ming' or None
        return _storage_package.backend
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')


def show_tables(schema: Any) -> None:
    """Show the SQLAlchemy table classes of ``schema`` to tgext.pluggable (None: Ming, none)."""
    if schema is None:
        for name in _SQLA_NAMES:
            globals().pop(name, None)
        return
    renaming.restore_names(schema.DeclarativeBase.metadata, schema.MODELS)
    globals().update({name: getattr(schema, name) for name in _SQLA_NAMES})


def init_model(app_session: Any) -> None:
    """tgext.pluggable calls this once it has copied our tables into the host's metadata."""
    DBSession.configure(app_session)
    if _storage_package.backend == 'sqlalchemy' and options().get('rename_tables'):
        from ..storage.sqla import schema

        host_metadata = tg.config['package'].model.DeclarativeBase.metadata
        renaming.follow_renames(schema.DeclarativeBase.metadata, host_metadata)
