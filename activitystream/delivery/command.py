"""gearbox commands of the outbox, each run on the site its config file describes.

``gearbox activitystream-outbox -c production.ini <action>``: look at and act on the outbox.
Actions: ``status`` (counts), ``list`` (pending work, or dead letters with
``--dead``), ``drain`` (do what is due now, in this process), ``retry``
(make dead letters pending again and failed jobs due now, then drain) and ``purge`` (delete dead
letters; pending work is never deleted). ``--ids`` limits retry and purge
to some jobs. The exit status is 1 when work failed or stays dead.

``gearbox activitystream-worker -c production.ini [-- celery worker options]``:
a Celery worker of the ``celery`` runner (see :mod:`.celery`).
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from gearbox.command import Command

if TYPE_CHECKING:
    from ..storage.base import Backend

ACTIONS = ('status', 'list', 'drain', 'retry', 'purge')


def _site_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        '-c',
        '--config',
        dest='config_file',
        default='development.ini',
        help='application config file to read (default: development.ini)',
    )
    parser.add_argument(
        '--name',
        dest='app_name',
        default='main',
        help='the application section of the config file (default: main)',
    )


def _load_site(opts: argparse.Namespace) -> None:
    """Configure the TG application of the config file (model, options, templates).

    A command drains the outbox itself, then exits: no ``thread`` worker runs in
    its process, which would be killed at the exit in the middle of its jobs
    (left leased until ``delivery_lease`` ends, a page of mails sent again).
    """
    from paste.deploy import loadapp

    from . import runner

    runner.background = False
    loadapp(f'config:{os.path.abspath(opts.config_file)}', name=opts.app_name)


class OutboxCommand(Command):
    """Look at and act on activitystream's outbox of deliveries."""

    default_action: str | None = None

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        if self.default_action is None:
            parser.add_argument('action', choices=ACTIONS, help='what to do')
        _site_arguments(parser)
        parser.add_argument('--dead', action='store_true', help='list dead letters')
        parser.add_argument('--limit', type=int, default=None, help='at most this many jobs')
        parser.add_argument('--ids', nargs='*', default=None, help='only these jobs')
        return parser

    def take_action(self, opts: argparse.Namespace) -> int:
        _load_site(opts)
        action = self.default_action or opts.action
        return getattr(self, action)(opts)

    def _storage(self) -> Backend:
        from .. import model

        return model.storage()

    def _ids(self, opts: argparse.Namespace) -> Sequence[Any] | None:
        if opts.ids is None:
            return None
        storage = self._storage()
        return [storage.action_id(i) for i in opts.ids]  # job ids are of the same kind

    def status(self, opts: argparse.Namespace) -> int:
        counts = self._storage().job_counts()
        print(f'activitystream-outbox: {counts["pending"]} pending, {counts["dead"]} dead')
        return 1 if counts['dead'] else 0

    def list(self, opts: argparse.Namespace) -> int:
        for job in self._storage().jobs(opts.dead, opts.limit):
            state = 'dead' if job.dead else f'due {job.available_at:%Y-%m-%d %H:%M:%S}'
            error = f' - {job.error}' if job.error else ''
            print(f'{job.id}\t{job.kind}\t{state}\tattempts {job.attempts}{error}')
        return 0

    def drain(self, opts: argparse.Namespace) -> int:
        from . import drain

        report = drain(opts.limit)
        print(
            f'activitystream-outbox: {report.done} done, {report.retried} to retry later, '
            f'{report.dead} dead'
        )
        return 1 if report.retried or report.dead else 0

    def retry(self, opts: argparse.Namespace) -> int:
        from ..timeutil import utcnow

        storage, ids, now = self._storage(), self._ids(opts), utcnow()
        revived = storage.revive_jobs(ids, now)
        hastened = storage.hasten_jobs(ids, now)
        storage.commit()
        print(
            f'activitystream-outbox: {revived} dead letters pending again, '
            f'{hastened} failed jobs due now'
        )
        return self.drain(opts)

    def purge(self, opts: argparse.Namespace) -> int:
        storage = self._storage()
        purged = storage.purge_jobs(self._ids(opts))
        storage.commit()
        print(f'activitystream-outbox: {purged} dead letters deleted')
        return 0


class RetryCommand(OutboxCommand):
    """``gearbox activitystream-retry``: dead deliveries pending again, then drained (0.2 name)."""

    default_action = 'retry'


class WorkerCommand(Command):
    """A Celery worker draining activitystream's outbox, the site of the config file loaded."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        _site_arguments(parser)
        parser.add_argument(
            'celery_args',
            nargs=argparse.REMAINDER,
            help="celery worker's own options, after -- (e.g. -- --concurrency 4)",
        )
        return parser

    def take_action(self, opts: argparse.Namespace) -> int:
        _load_site(opts)
        from .celery import run_worker  # Celery is an optional dependency

        args = opts.celery_args
        return run_worker(args[1:] if args[:1] == ['--'] else args)


class DigestCommand(Command):
    """Send the digests of a period that are due (``gearbox activitystream-digest``)."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        _site_arguments(parser)
        parser.add_argument(
            '--period',
            choices=('daily', 'weekly'),
            default=None,
            help='which digests (default: the digest_period option)',
        )
        return parser

    def take_action(self, opts: argparse.Namespace) -> int:
        _load_site(opts)
        from ..digest import run

        queued, report = run(opts.period)
        print(
            f'activitystream-digest: {queued} digests queued, {report.done} jobs done, '
            f'{report.retried} to retry, {report.dead} dead'
        )
        return 1 if report.retried or report.dead else 0
