"""Host entities: one adapter per ORM, and the names references store for them.

:func:`configure` (called when the application is configured, with the
backend) imports the adapter of that backend's ORM only and builds the
:class:`~.registry.EntityTypes` of the application; :func:`active` is it.
"""

from collections.abc import Mapping

from ..options import ConfigurationError
from .base import COMPOSITE, EntityAdapter
from .registry import TYPE_ATTRIBUTE, EntityTypes

__all__ = ['COMPOSITE', 'TYPE_ATTRIBUTE', 'EntityAdapter', 'EntityTypes', 'active', 'configure']

_active: EntityTypes | None = None


def _adapter(backend: str) -> EntityAdapter:
    if backend == 'sqlalchemy':
        from .sqla import SQLAEntities

        return SQLAEntities()
    from .ming import MingEntities

    return MingEntities()


def configure(backend: str, named: Mapping[str, type]) -> None:
    """Register the host's classes for ``backend``; ConfigurationError on a name taken twice."""
    global _active
    from tgext.pluggable import app_model

    _active = None  # the last application's classes are not this one's
    _active = EntityTypes(_adapter(backend), named, app_model)


def active() -> EntityTypes:
    """The entity types of the configured application."""
    if _active is None:
        raise ConfigurationError(
            "activitystream is not plugged: call plug(base_config, 'activitystream') "
            'in your config/app_cfg.py and start the application first'
        )
    return _active
