"""The hosts' models: one on SQLAlchemy (:mod:`.sqla`), one on Ming (:mod:`.mongo`).

Each is built twice, as :func:`model` gives it: for the tests, whose users keep no
last-seen time of their own (like a quickstarted project's: activitystream keeps it),
and for the bench, whose users do (as the seed README advises; the bench's floor reads
it). A model is a module with what TG asks of a quickstarted project's: ``DBSession``,
``init_model``, and ``DeclarativeBase`` and ``metadata`` on SQLAlchemy.
"""

import functools
from collections.abc import Callable
from types import ModuleType
from typing import Any

from ming import Session
from ming.odm import Mapper, ThreadLocalODMSession
from sqlalchemy.orm import declarative_base, scoped_session, sessionmaker
from zope.sqlalchemy import register


@functools.cache
def model(sql: bool, bench: bool = False) -> ModuleType:
    """The tests' model, or the bench's (``bench``), on SQLAlchemy (``sql``) or Ming."""
    from . import mongo, sqla

    return (sqla if sql else mongo).build(bench)


def as_module(name: str, bench: bool, doc: str | None, **members: Any) -> ModuleType:
    """``members`` as the module ``<name>.tests`` or ``<name>.bench``."""
    module = ModuleType(f'{name}.{"bench" if bench else "tests"}', doc)
    module.__dict__.update(members)
    return module


def sqlalchemy_model(**session_options: Any) -> tuple[Any, Any, Any, Callable[[Any], None]]:
    """``(DBSession, DeclarativeBase, metadata, init_model)`` of a new SQLAlchemy model.

    The session autoflushes and joins the transaction manager (TG's ``tm``);
    ``session_options`` go to its sessionmaker.
    """
    session = scoped_session(sessionmaker(autoflush=True, **session_options))
    register(session)
    base = declarative_base()

    def init_model(engine: Any) -> None:
        session.configure(bind=engine)

    return session, base, base.metadata, init_model


def ming_model() -> tuple[ThreadLocalODMSession, Callable[[Any], None]]:
    """``(DBSession, init_model)`` of a new Ming model: a thread-local ODM session."""
    datastore_session = Session()
    session = ThreadLocalODMSession(datastore_session)

    def init_model(datastore: Any) -> None:
        datastore_session.bind = datastore
        Mapper.compile_all()

    return session, init_model
