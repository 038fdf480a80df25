"""``gearbox activitystream-purge -c production.ini --older-than 180d [--dry-run]``.

Retention from cron: deletes the actions older than the given age with
everything that hangs from them (``am.purge``), a batch per transaction,
and prints what went (or, with ``--dry-run``, what would go).
"""

from __future__ import annotations

import argparse
import re
from datetime import timedelta

from gearbox.command import Command

from .delivery.command import _load_site, _site_arguments
from .manager import DELETE_BATCH

UNITS = {'d': 'days', 'h': 'hours', 'm': 'minutes', 's': 'seconds'}
_AGE = re.compile(r'^(\d+)([dhms]?)$')


def age(text: str) -> timedelta:
    """'180d', '12h', '30m', '90s' or a number of days, as a timedelta."""
    found = _AGE.match(text.strip())
    if found is None or int(found.group(1)) == 0:
        raise argparse.ArgumentTypeError(
            f'--older-than must be a positive age such as 180d, 12h, 30m or 90s, got {text!r}'
        )
    return timedelta(**{UNITS[found.group(2) or 'd']: int(found.group(1))})


def batch(text: str) -> int:
    if not text.isdigit() or int(text) == 0:
        raise argparse.ArgumentTypeError(f'--batch must be a positive integer, got {text!r}')
    return int(text)


def summary(counts: dict[str, int]) -> str:
    return ', '.join(f'{number} {kind.replace("_", " ")}' for kind, number in counts.items())


class PurgeCommand(Command):
    """Delete activitystream's actions older than an age, with their deliveries and marks."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        _site_arguments(parser)
        parser.add_argument(
            '--older-than', type=age, required=True, help='age of what goes: 180d, 12h, 30m, 90s'
        )
        parser.add_argument('--dry-run', action='store_true', help='count, delete nothing')
        parser.add_argument(
            '--batch', type=batch, default=DELETE_BATCH, help='actions per transaction'
        )
        return parser

    def take_action(self, opts: argparse.Namespace) -> int:
        _load_site(opts)
        from . import am

        counts = am.purge(opts.older_than, dry_run=opts.dry_run, batch=opts.batch)
        done = 'would be deleted (dry run)' if opts.dry_run else 'deleted'
        print(f'activitystream-purge: {summary(counts)} {done}')
        return 0
