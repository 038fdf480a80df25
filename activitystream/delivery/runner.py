"""Draining the outbox: claim, do, finish or give back; and the runners that drain.

``inline`` drains right after the commit, in the thread that committed (the
request waits for its mails: tests and tiny sites). ``thread`` wakes a
background worker of this process instead, which also looks at the outbox
every ``delivery_poll`` seconds, so work left by a process that died is done
too. ``celery`` has a thread of this process send a drain task to Celery
workers (:mod:`.celery`). All call :func:`drain`, as any other runner (cron)
can.
"""

import importlib
import logging
import threading
import uuid
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from .. import model
from ..storage.base import PRIORITIES, Backend, Job
from ..timeutil import utcnow

log = logging.getLogger('activitystream.delivery')

# job kind -> 'module:function' doing it, imported on first use; a handler
# gets (storage, job) inside the job's transaction and returns None when the
# job is done, or a Retry
HANDLERS = {
    'push': 'activitystream.live:push_job',
    'emit': 'activitystream.subscriptions.delivery:emit_job',
    'deliver': 'activitystream.subscriptions.delivery:deliver_job',
    'fanout': 'activitystream.feeds.jobs:fanout_job',
    'feed': 'activitystream.feeds.jobs:feed_job',
    'digest': 'activitystream.digest:digest_job',
    'streams': 'activitystream.subscriptions.backends.redis_lists:streams_job',
}
BACKOFF_CAP = timedelta(hours=6)


@dataclass
class Retry:
    """A job to do again later: what is left of it (``payload``, None: all) and why."""

    error: str
    payload: dict | None = None


class LeaseLost(Exception):
    """The job's lease ran out while it was being done, and another worker holds it now.

    Raised inside the job's unit of work, so what it wrote there is rolled
    back (SQL): the job's effects commit once, with the worker that finishes it.
    """


@dataclass
class DrainReport:
    """What a drain did: jobs done, given back for later, kept as dead letters."""

    done: int = 0
    retried: int = 0
    dead: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def jobs(self) -> int:
        return self.done + self.retried + self.dead


def _handler(kind: str) -> Callable[[Backend, Job], Retry | None] | None:
    path = HANDLERS.get(kind)
    if path is None:
        return None
    module, _, name = path.partition(':')
    return getattr(importlib.import_module(module), name)


def backoff(attempts: int, base: float) -> timedelta:
    """How long a job waits after its ``attempts``-th failure: doubling, capped at 6 hours."""
    return min(timedelta(seconds=base * 2 ** max(0, attempts - 1)), BACKOFF_CAP)


def _give_back(storage: Backend, job: Job, owner: str, retry: Retry, report: DrainReport) -> None:
    options = model.options()
    dead = job.attempts >= options['delivery_max_attempts']
    when = utcnow() + backoff(job.attempts, options['delivery_backoff'])
    if not storage.reschedule_job(job.id, owner, when, retry.payload, retry.error, dead=dead):
        raise LeaseLost(job.id)
    log.warning(
        'activitystream: %s job %s failed (attempt %d%s): %s',
        job.kind,
        job.id,
        job.attempts,
        ', kept as a dead letter' if dead else '',
        retry.error,
    )
    report.errors.append(retry.error)
    if dead:
        report.dead += 1
    else:
        report.retried += 1


def _do(job: Job, owner: str, report: DrainReport) -> None:
    """One job in its own transaction, finished (deleted) in that same transaction."""
    handler = _handler(job.kind)
    try:
        with model.unit_of_work() as storage:
            outcome: Retry | None  # None: done
            if handler is None:
                outcome = Retry(f'no handler for jobs of kind {job.kind!r}')
            elif job.attempts > model.options()['delivery_max_attempts']:
                # claimed again and again, never given back: its worker dies doing it
                outcome = Retry(f'claimed {job.attempts - 1} times, never finished')
            else:
                outcome = handler(storage, job)
            if outcome is None:
                if not storage.finish_job(job.id, owner):
                    raise LeaseLost(job.id)
                report.done += 1
            else:
                _give_back(storage, job, owner, outcome, report)
    except LeaseLost:
        log.warning(
            'activitystream: %s job %s outlived its lease: left to its new worker', job.kind, job.id
        )
    except Exception as exc:  # noqa: BLE001 - rolled back; the job is tried again later
        if not _transient(exc):  # a lock wait, a lost connection: _give_back's warning says it
            log.exception('activitystream: %s job %s raised', job.kind, job.id)
        with suppress(LeaseLost), model.unit_of_work() as storage:
            _give_back(storage, job, owner, Retry(f'{type(exc).__name__}: {exc}'), report)


def _transient(error: Exception) -> bool:
    """Whether the storage calls ``error`` a passing fault of its database (see
    ``OutboxStorage.transient``): worth a line in the log, not a traceback."""
    try:
        return model.storage().transient(error)
    except Exception:  # noqa: BLE001 - no storage to ask: logged as the defect it may be
        return False


def _checked_priority(priority: str | None) -> tuple[str, ...]:
    if priority is None:
        return PRIORITIES
    if priority not in PRIORITIES:
        raise ValueError(f'priority must be None or one of {", ".join(PRIORITIES)}: {priority!r}')
    return (priority,)


def _lease_from(now: datetime) -> datetime:
    """The end of a lease that starts ``now``."""
    return now + timedelta(seconds=model.options()['delivery_lease'])


def _claim(priorities: tuple[str, ...], batch: int) -> tuple[str, list]:
    """Lease a batch of due jobs of the first of ``priorities`` that has some."""
    owner = uuid.uuid4().hex  # one per claim: a lease that ran out is no longer ours
    now = utcnow()
    with model.unit_of_work() as storage:
        for priority in priorities:
            claimed = storage.claim_jobs(owner, batch, now, _lease_from(now), priority)
            if claimed:
                return owner, claimed
    return owner, []


def _renewed(job: Job, owner: str) -> bool:
    """Whether ``owner`` still holds ``job``, whose lease then starts again now.

    The jobs of a batch are claimed at once and done one after the other: a
    job's turn may come when its lease is nearly over, or over and the job
    claimed by another worker (which does it: this one leaves it).
    """
    with model.unit_of_work() as storage:
        if storage.renew_job(job.id, owner, _lease_from(utcnow())):
            return True
    log.warning('activitystream: %s job %s was taken by another worker', job.kind, job.id)
    return False


def drain(limit: int | None = None, priority: str | None = None) -> DrainReport:
    """Do the jobs that are due, oldest first, until none is left (or ``limit`` are done).

    ``priority`` drains one queue only; None drains them all, each batch from
    the highest queue that has due work.
    """
    priorities = _checked_priority(priority)
    report = DrainReport()
    while limit is None or report.jobs < limit:
        batch = model.options()['delivery_batch']
        if limit is not None:
            batch = min(batch, limit - report.jobs)
        owner, claimed = _claim(priorities, batch)
        if not claimed:
            break
        for index, job in enumerate(claimed):
            if index == 0 or _renewed(job, owner):  # the first starts as its lease does
                _do(job, owner, report)
    return report


class Worker(threading.Thread):
    """A thread of this process: runs ``work`` when kicked, and every ``poll`` seconds if given."""

    def __init__(self, name: str, work: Callable[[], object], poll: float | None = None) -> None:
        super().__init__(name=name, daemon=True)
        self.work = work
        self.poll = poll
        self.wake = threading.Event()
        self.stopping = False

    def run(self) -> None:
        while not self.stopping:
            self.wake.wait(self.poll)
            self.wake.clear()  # kicks while it works make one more round, not one each
            if self.stopping:
                break
            try:
                self.work()
            except Exception as exc:  # noqa: BLE001 - the database may be away: try again later
                if _transient(exc):
                    log.warning(
                        'activitystream: the %s thread found its database busy or away '
                        '(tried again at its next round): %s',
                        self.name,
                        exc,
                    )
                else:
                    log.exception('activitystream: the %s thread failed', self.name)


_workers: dict = {}
_workers_lock = threading.Lock()
# False in a process that drains by itself and then exits (the gearbox commands): a ``thread``
# worker there would die with the process, mid-job, its claimed jobs left leased to nobody
background = True


def _new_worker(runner: str) -> Worker:
    if runner == 'thread':
        return Worker('activitystream-delivery', drain, model.options()['delivery_poll'])
    from .celery import send  # Celery is an optional dependency

    return Worker('activitystream-celery', send)  # Celery workers poll the outbox themselves


def _worker(runner: str) -> Worker:
    with _workers_lock:
        worker = _workers.get(runner)
        if worker is None or not worker.is_alive():
            worker = _workers[runner] = _new_worker(runner)
            worker.start()
        return worker


def kick() -> None:
    """Work was committed: the configured runner gets to it.

    ``thread`` and ``celery`` hand it to a thread of this process (which drains,
    or sends Celery a drain task), so a slow database, SMTP server or broker
    never holds the request. Without ``background``, ``thread`` leaves the
    work to this process's own drain.
    """
    runner = model.options()['delivery_runner']
    if runner == 'inline':
        drain()
    elif runner == 'celery' or background:
        _worker(runner).wake.set()


def start_background() -> None:
    """Start this process's ``thread`` worker now, not at the first commit that queues work.

    Its first look at the outbox comes ``delivery_poll`` seconds later: jobs a
    process left when it died are done even if nothing new is queued.
    """
    if background and model.options().get('delivery_runner') == 'thread':
        _worker('thread')


def stop_workers(timeout: float = 10) -> None:
    """Stop this process's background worker (tests, a clean shutdown)."""
    with _workers_lock:
        workers = list(_workers.values())
        _workers.clear()
    for worker in workers:
        worker.stopping = True
        worker.wake.set()
        worker.join(timeout)
