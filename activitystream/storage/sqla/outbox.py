"""The outbox on SQLAlchemy: jobs written in the host's transaction, leased to workers.

A lease is the claim's ``owner`` plus ``available_at`` moved to its end; the
claim is one ``UPDATE`` of rows picked ``FOR UPDATE SKIP LOCKED`` (PostgreSQL),
so concurrent workers pass each other's rows by instead of waiting on them.
SQLite writes one statement at a time, which is as safe.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, false, func, insert, select, true, update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from ..base import Job, NewJob, OutboxStorage
from .schema import OutboxJob
from .session import OnSession

if TYPE_CHECKING:
    from sqlalchemy import ColumnElement, Executable, Row

outbox = OutboxJob.__table__
NO_SYNC = {'synchronize_session': False}
# SQLite's result codes of a database another connection holds (sqlite3's sqlite_errorname)
SQLITE_BUSY = ('SQLITE_BUSY', 'SQLITE_LOCKED')
# PostgreSQL's SQLSTATEs: classes 08 (connection) and 40 (deadlock, serialization), a lock
# not available (lock_timeout, NOWAIT), a cancelled statement (statement_timeout)
PG_CLASSES, PG_CODES = ('08', '40'), ('55P03', '57014')


def _job(row: Row) -> Job:
    return Job(
        id=row.id,
        kind=row.kind,
        payload=json.loads(row.payload),
        key=row.key,
        attempts=row.attempts,
        available_at=row.available_at,
        dead=row.dead,
        error=row.error,
        created=row.created,
        owner=row.owner,
        priority=row.priority,
    )


def _dead(ids: Sequence | None) -> list:
    """Clauses: dead jobs, those of ``ids`` when given."""
    where = [outbox.c.dead == true()]
    return where if ids is None else where + [outbox.c.id.in_(list(ids))]


def _held(job_id: Any, owner: str) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    """Clauses: job ``job_id`` while ``owner`` holds it (until another claim or a reschedule)."""
    return outbox.c.id == job_id, outbox.c.owner == owner


class SQLAOutbox(OnSession, OutboxStorage):
    """The :class:`OutboxStorage` half of ``SQLAStorage``."""

    transactional = True

    def transient(self, error: BaseException) -> bool:
        if isinstance(error, PoolTimeout):  # no connection free in the pool
            return True
        if not isinstance(error, DBAPIError):
            return False
        if error.connection_invalidated:
            return True
        name = getattr(error.orig, 'sqlite_errorname', None)
        if name is not None:
            return str(name).startswith(SQLITE_BUSY)
        code = getattr(error.orig, 'pgcode', None) or ''
        return code[:2] in PG_CLASSES or code in PG_CODES

    def _write(self, stmt: Executable) -> int:
        return self.session.execute(stmt, execution_options=NO_SYNC).rowcount

    def add_jobs(self, jobs: Sequence[NewJob], now: datetime, ready: bool = True) -> list:
        rows = [job.fields(now, ready) for job in jobs]
        if not rows:
            return []
        upsert = self._insert_or(OutboxJob)
        if upsert is not None:
            stmt = upsert.on_conflict_do_nothing().returning(OutboxJob.id)
            return sorted(self.session.execute(stmt, rows).scalars())
        ids = []  # no ON CONFLICT here: one savepoint per job
        for row in rows:
            try:
                with self.session.begin_nested():
                    stmt = insert(OutboxJob).values(**row).returning(OutboxJob.id)
                    ids.append(self.session.execute(stmt).scalar_one())
            except IntegrityError:
                pass
        return ids

    def mark_jobs_ready(self, ids: Sequence) -> None:
        if ids:
            self._write(update(OutboxJob).where(outbox.c.id.in_(list(ids))).values(ready=True))

    def _due(self, limit: int, now: datetime, priority: str) -> Any:
        """The ids to claim, oldest first, locked (skipping rows other claims hold).

        PostgreSQL: a MATERIALIZED CTE, evaluated once whatever the plan (a
        subquery scanned again could lock more). Elsewhere a subquery: pysqlite
        begins no transaction for a statement that starts with WITH.
        """
        due = (
            select(outbox.c.id)
            .where(
                outbox.c.ready == true(),
                outbox.c.dead == false(),
                outbox.c.priority == priority,
                outbox.c.available_at <= now,
            )
            .order_by(outbox.c.available_at, outbox.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        if self.session.get_bind().dialect.name != 'postgresql':
            return due
        picked = due.cte('due').prefix_with('MATERIALIZED')
        return select(picked.c.id)

    def claim_jobs(
        self, owner: str, limit: int, now: datetime, lease_until: datetime, priority: str = 'high'
    ) -> list:
        stmt = (
            update(OutboxJob)
            .where(outbox.c.id.in_(self._due(limit, now, priority)))
            .values(available_at=lease_until, owner=owner, attempts=outbox.c.attempts + 1)
            .returning(*outbox.c)
        )
        rows = self.session.execute(stmt, execution_options=NO_SYNC).all()
        return [_job(row) for row in sorted(rows, key=lambda row: row.id)]

    def finish_job(self, job_id: Any, owner: str) -> bool:
        return self._write(delete(OutboxJob).where(*_held(job_id, owner))) == 1

    def _update_held(self, job_id: Any, owner: str, values: dict) -> bool:
        """Set ``values`` on job ``job_id`` if ``owner`` holds it; True if it did."""
        return self._write(update(OutboxJob).where(*_held(job_id, owner)).values(**values)) == 1

    def jobs(
        self, dead: bool | None, limit: int | None, kind: str | None = None, failed: bool = False
    ) -> list:
        stmt = select(outbox).order_by(outbox.c.created, outbox.c.id).limit(limit)
        if dead is not None:
            stmt = stmt.where(outbox.c.dead == dead)
        if kind is not None:
            stmt = stmt.where(outbox.c.kind == kind)
        if failed:
            stmt = stmt.where(outbox.c.error.is_not(None))
        return [_job(row) for row in self.session.execute(stmt)]

    def job_counts(self) -> dict:
        stmt = select(outbox.c.dead, func.count()).group_by(outbox.c.dead)
        counts = dict(self.session.execute(stmt).all())
        return {'pending': counts.get(False, 0), 'dead': counts.get(True, 0)}

    def revive_jobs(self, ids: Sequence | None, now: datetime) -> int:
        stmt = update(OutboxJob).where(*_dead(ids))
        return self._write(stmt.values(dead=False, available_at=now, attempts=0, owner=None))

    def hasten_jobs(self, ids: Sequence | None, now: datetime) -> int:
        where = [
            outbox.c.dead == false(),
            outbox.c.error.is_not(None),
            outbox.c.owner.is_(None),
            outbox.c.available_at > now,
        ]
        if ids is not None:
            where.append(outbox.c.id.in_(list(ids)))
        return self._write(update(OutboxJob).where(*where).values(available_at=now))

    def purge_jobs(self, ids: Sequence | None) -> int:
        return self._write(delete(OutboxJob).where(*_dead(ids)))

    def job_page(self, after: Any, limit: int) -> list:
        stmt = select(outbox).order_by(outbox.c.id).limit(limit)
        if after is not None:
            stmt = stmt.where(outbox.c.id > after)
        return [_job(row) for row in self.session.execute(stmt)]

    def delete_jobs(self, ids: Sequence) -> int:
        ids = list(ids)
        return self._write(delete(OutboxJob).where(outbox.c.id.in_(ids))) if ids else 0
