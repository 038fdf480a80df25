"""``gearbox activitystream-migrate -c site.ini <action> [revision]``: the site's schema.

On SQLAlchemy it runs alembic on our revisions (the ones tgext.pluggable's
``migrate-pluggable`` finds too): ``upgrade [rev]`` (default: the newest),
``downgrade [rev]`` (default: one step back), ``current``, ``history`` and
``stamp rev``. On Ming, ``upgrade`` runs the steps not done yet and
``current`` tells the last one done; Ming steps only go forward.
"""

from __future__ import annotations

import argparse
from typing import Any

from gearbox.command import Command

from ..delivery.command import _load_site, _site_arguments

ACTIONS = ('upgrade', 'downgrade', 'current', 'history', 'stamp')
DEFAULT_REVISION = {'upgrade': 'head', 'downgrade': '-1'}


class MigrateCommand(Command):
    """Migrate activitystream's tables (alembic) or collections (Ming steps) of a site."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument('action', choices=ACTIONS, help='what to do')
        parser.add_argument('revision', nargs='?', default=None, help='target revision')
        _site_arguments(parser)
        return parser

    def take_action(self, opts: argparse.Namespace) -> int:
        _load_site(opts)
        from .. import model

        if model.backend == 'ming':
            return self._ming(opts.action, model.DBSession.impl.db)
        import tg

        from . import alembic_command

        revision = opts.revision or DEFAULT_REVISION.get(opts.action)
        if opts.action == 'stamp' and revision is None:
            raise SystemExit('activitystream-migrate: stamp needs a revision')
        args = () if revision is None else (revision,)
        with tg.config['tg.app_globals'].sa_engine.begin() as connection:
            alembic_command(connection, opts.action, *args)
        return 0

    def _ming(self, action: str, db: Any) -> int:
        from ..storage.ming import migrations

        say = 'activitystream-migrate:'
        if action == 'upgrade':
            ran = migrations.upgrade(db)
            print(say, f'Ming steps done: {ran or "none, up to date"}')
        elif action == 'current':
            print(say, f'Ming step {migrations.current(db)} of {migrations.HEAD}')
        else:
            print(say, f'{action} does not apply to Ming (its steps only go forward)')
            return 2
        return 0
