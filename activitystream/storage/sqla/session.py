"""What the SQLAlchemy storage halves share: the host's session and two statement helpers."""

from typing import Any


class OnSession:
    """Holds the host's session; ``SQLAStorage``, ``SQLAOutbox`` and ``SQLAPreferences`` use it."""

    def __init__(self, session: Any) -> None:
        # Any: the host's Session or scoped_session, and SQLAlchemy types what
        # execute() returns as a Result, which lacks the rowcount a DML statement has
        self.session = session

    def _run(self, stmt: Any, params: Any = None) -> Any:
        """Run ``stmt`` in the host's transaction; a SELECT without flushing the host's session.

        Our statements are Core ones, written when run: a read never needs
        the host's pending objects, and must not write them.
        """
        if stmt.is_select:
            with self.session.no_autoflush:
                return self.session.execute(stmt, params)
        return self.session.execute(stmt, params)

    def _insert_or(self, model: Any) -> Any:
        """An INSERT that can skip or update rows already there, where the dialect has one.

        Two requests of one user may mark the same things at once; the loser
        must not fail on the primary key. ``None`` on other dialects.
        """
        dialect = self.session.get_bind().dialect.name
        if dialect == 'postgresql':
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            return pg_insert(model)
        if dialect == 'sqlite':
            from sqlalchemy.dialects.sqlite import insert as sqlite_insert

            return sqlite_insert(model)
        return None
