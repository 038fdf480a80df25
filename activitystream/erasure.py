"""Opt-in: erase what activitystream holds of an entity when the host deletes it.

In ``config/app_cfg.py`` (or wherever the model is imported)::

    from activitystream.erasure import erase_on_delete
    erase_on_delete(model.User)

Then deleting a user through the ORM calls ``am.erase(user)`` first, in the
same unit of work. SQLAlchemy: a ``before_flush`` listener on every Session
erases the entities of the class that ``session.delete()`` marked, in the
flush's transaction. Ming: a mapper extension's ``before_delete`` erases
before the document is deleted, so a crash in between leaves the user, and
deleting it again erases again. Bulk deletes (``query.delete()``,
``Class.query.remove()``) send no per-entity event: call ``am.erase(entity)``
for those yourself.
"""

from __future__ import annotations

from functools import cache
from typing import Any

_sqla_classes: set[type] = set()


def _mapping(cls: type) -> str:
    """'sqlalchemy' or 'ming': how ``cls`` is mapped; TypeError naming ``cls`` otherwise."""
    if not isinstance(cls, type):
        raise TypeError(f'cls must be a mapped class, got {type(cls).__name__}')
    try:
        from sqlalchemy import inspect

        if hasattr(inspect(cls, raiseerr=False), 'primary_key'):
            return 'sqlalchemy'
    except ImportError:  # pragma: no cover - a Ming-only site
        pass
    try:
        from ming.odm import mapper

        mapper(cls)
        return 'ming'
    except (ImportError, KeyError, AttributeError):
        raise TypeError(f'cls must be a mapped class (SQLAlchemy or Ming), got {cls!r}') from None


def _before_flush(session: Any, flush_context: Any, instances: Any) -> None:
    from . import am

    doomed = tuple(_sqla_classes)
    for entity in list(session.deleted):
        if isinstance(entity, doomed):
            am.erase(entity)


@cache
def _ming_extension() -> type:
    """The Ming mapper extension class (made once: Ming is an optional dependency)."""
    from ming.odm.mapper import MapperExtension

    class EraseOnDelete(MapperExtension):
        """Erase an entity's activity before Ming deletes its document."""

        def before_delete(self, instance: Any, state: Any, sess: Any) -> None:
            from . import am

            am.erase(instance)

    return EraseOnDelete


def _ming_extensions(cls: type) -> tuple[Any, list[Any]]:
    from ming.odm import mapper

    found = mapper(cls)
    return found, [e for e in found.extensions if isinstance(e, _ming_extension())]


def erase_on_delete(cls: type) -> None:
    """Erase (``am.erase``) each entity of mapped class ``cls`` the host deletes; idempotent."""
    if _mapping(cls) == 'sqlalchemy':
        from sqlalchemy import event
        from sqlalchemy.orm import Session

        _sqla_classes.add(cls)
        if not event.contains(Session, 'before_flush', _before_flush):
            event.listen(Session, 'before_flush', _before_flush)
        return
    found, ours = _ming_extensions(cls)
    if not ours:
        found.extensions.append(_ming_extension()(found))


def keep_on_delete(cls: type) -> None:
    """Undo :func:`erase_on_delete` for ``cls``."""
    if _mapping(cls) == 'sqlalchemy':
        _sqla_classes.discard(cls)
        return
    found, ours = _ming_extensions(cls)
    for extension in ours:
        found.extensions.remove(extension)
