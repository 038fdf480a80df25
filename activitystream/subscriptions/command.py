"""``gearbox activitystream-retry -c production.ini``: deliver the kept failed deliveries."""

import os

from gearbox.command import Command


class RetryCommand(Command):
    """Deliver again what subscription backends failed to deliver, each once.

    It loads the application from its config file (so the plug options and
    SMTP settings are the site's), retries the oldest first and exits with 1
    while some still fail (they stay kept for the next run, e.g. from cron).
    """

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
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
        parser.add_argument(
            '--limit', type=int, default=None, help='retry at most this many (default: all)'
        )
        return parser

    def take_action(self, opts):
        from paste.deploy import loadapp

        from . import retry_failed

        path = os.path.abspath(opts.config_file)
        loadapp(f'config:{path}', name=opts.app_name)
        report = retry_failed(limit=opts.limit)
        print(
            f'activitystream-retry: {report.delivered} delivered, {report.failed} failed again, '
            f'{report.dropped} dropped'
        )
        return 1 if report.failed else 0
