"""The ``celery`` runner: the outbox drained by tasks of a Celery app.

A message carries no work, only a wish: the task ``activitystream.drain``,
with at most a priority as argument (plain JSON, Celery's default
serializer). Each outbox priority has its Celery queue: ``celery_queue``
for ``high`` work, and ``<celery_queue>.low`` for ``low`` work only (say,
fan-out to the followers a manager ranks low), so a worker can be given to
each. A drain on the high queue does high work first, then low work when
no high work is due. A thread of the committing process sends a drain to
the high queue after a commit (``runner.kick``), so a slow broker never
holds a request. The
outbox stays the source of truth, so a lost message loses nothing and a
duplicate finds the work claimed already; every worker also asks for a
drain when it starts and every ``delivery_poll`` seconds, which finds what
a lost message, a dead worker's lease or a failure's backoff left waiting.
Not one task per job: jobs are also made by jobs (an emit's next page) and
come due later (backoff, leases) where no message is sent, and leased
claims already keep two workers off one job.

A task does one job and, when it found one, asks for two more drains: one
goes on with the outbox, the other lets an idle worker process join in, so
a backlog spreads over every process and the chain ends once the outbox is
empty. ``acks_late`` and ``reject_on_worker_lost``: the message of a task
whose worker died is delivered again; a task that cannot reach the
database is retried with a backoff.
"""

from __future__ import annotations

import logging
import threading
import weakref
from typing import Any

import tg
from celery import Celery, bootsteps
from celery.signals import worker_process_init

from .. import model
from ..options import ConfigurationError
from ..storage.base import PRIORITIES
from .runner import drain

log = logging.getLogger('activitystream.delivery')

TASK = 'activitystream.drain'
# the Celery beat task of digests: schedule it with args ('daily',) or ('weekly',)
DIGEST_TASK = 'activitystream.digest'
# publishing a drain: a few quick tries, then the outbox keeps the work for the next one
PUBLISH_RETRY = {'max_retries': 2, 'interval_start': 0, 'interval_step': 0.2, 'interval_max': 0.2}

_own_apps: dict = {}
_registered: weakref.WeakSet = weakref.WeakSet()
_lock = threading.Lock()


def _drain(task: Any, priority: str | None = None) -> None:
    if drain(limit=1, priority=priority).jobs:
        send(task.app, priority)
        send(task.app, priority)


def _digest(period: str | None = None) -> int:
    """The beat task ``activitystream.digest``: queue the period's digests and drain."""
    from ..digest import run

    queued, _ = run(period)
    return queued


def queue_of(priority: str | None) -> str:
    """The Celery queue of an outbox priority (None, as 'high': any work, high first)."""
    name = model.options()['celery_queue']
    return name if priority in (None, PRIORITIES[0]) else f'{name}.{priority}'


def _own_app(url: str) -> Celery:
    app = Celery('activitystream', broker=url, set_as_current=False)
    app.conf.update(
        task_serializer='json',
        accept_content=['json'],
        # a process holds no message it is not working on: an idle one takes it
        worker_prefetch_multiplier=1,
        broker_connection_retry_on_startup=True,
    )
    return app


def celery_app() -> Celery:
    """The runner's Celery app, the drain task registered: the host's (``celery_app``) or ours."""
    options = model.options()
    app = options['celery_app']
    with _lock:
        if app is None:
            url = options['celery_broker_url']
            if url not in _own_apps:
                _own_apps[url] = _own_app(url)
            app = _own_apps[url]
        if app not in _registered:
            app.task(
                name=TASK,
                shared=False,
                bind=True,
                acks_late=True,
                reject_on_worker_lost=True,
                ignore_result=True,
                autoretry_for=(Exception,),
                retry_backoff=True,
                retry_backoff_max=60,
                max_retries=3,  # polls ask again anyway: retries only bridge a short outage
            )(_drain)
            app.task(name=DIGEST_TASK, shared=False, acks_late=True, ignore_result=True)(_digest)
            _registered.add(app)
    return app


def send(app: Celery | None = None, priority: str | None = None) -> bool:
    """Ask for a drain; False (logged) when the broker cannot be reached: the work waits.

    ``priority`` None drains any work, high first; 'low' only low work.
    """
    try:
        app = app or celery_app()
        args = () if priority in (None, PRIORITIES[0]) else (priority,)
        app.send_task(TASK, args, queue=queue_of(priority), retry_policy=PUBLISH_RETRY)
    except Exception as exc:  # noqa: BLE001 - the next drain (poll, kick, command) finds it
        log.warning('activitystream: no drain task sent to Celery, the work waits: %s', exc)
        return False
    return True


def send_all(app: Celery) -> None:
    """A drain on every priority's queue."""
    for priority in PRIORITIES:
        send(app, priority)


class Poll(bootsteps.StartStopStep):
    """A worker asks for drains when it starts, then every ``delivery_poll`` seconds."""

    requires = {'celery.worker.components:Timer'}

    def __init__(self, worker: Any, **kwargs: Any) -> None:
        super().__init__(worker, **kwargs)
        self.timer = None

    def start(self, worker: Any) -> None:
        send_all(worker.app)
        every = model.options()['delivery_poll']
        self.timer = worker.timer.call_repeatedly(every, send_all, (worker.app,), priority=10)

    def stop(self, worker: Any) -> None:
        if self.timer is not None:
            self.timer.cancel()


def _fresh_connections(**_: Any) -> None:
    """A forked pool process opens database connections of its own, never its parent's."""
    engine = getattr(tg.config.get('tg.app_globals'), 'sa_engine', None)
    if engine is not None:
        engine.dispose(close=False)


def run_worker(argv: list[str]) -> int:
    """``celery worker`` in this process (its TG app configured) on the runner's app and queues.

    It listens to every priority's queue unless ``argv`` names its own (``-Q``/``--queues``).
    """
    options = model.options()
    if options['delivery_runner'] != 'celery':
        raise ConfigurationError(
            f'activitystream option delivery_runner is {options["delivery_runner"]!r}: '
            "a Celery worker needs 'celery'"
        )
    with model.unit_of_work() as storage:  # a database that is away fails here, at once
        counts = storage.job_counts()
    print(f'activitystream-worker: {counts["pending"]} pending, {counts["dead"]} dead jobs')
    app = celery_app()
    app.steps['worker'].add(Poll)
    worker_process_init.connect(_fresh_connections, weak=False)  # the count's connection
    chosen = {'-Q', '--queues'} & {arg.split('=')[0] for arg in argv}
    queues = [] if chosen else ['--queues', ','.join(queue_of(p) for p in PRIORITIES)]
    return app.worker_main(['worker', *queues, *argv]) or 0
