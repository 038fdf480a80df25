"""Import the actions of tgapp-activitystream 0.1.1 into this package's storage.

0.1.1 kept one MongoDB document per action in ``activity_stream_action``:
``actor_type``/``actor_id``, ``verb``, ``target_type``/``target_id``,
``action_obj_type``/``action_obj_id`` (class names and primary keys),
``description``, ``extra`` (a string), ``timestamp`` (naive UTC) and
``_recipients``, a list of ``{_type, _id}``. An action created without
recipients, a broadcast, was saved with an empty list (or None), which 0.1.1's
own queries never matched; it is imported as the broadcast it was meant to be
unless ``skip_broadcasts``. Everything is written through ``am.create_many``,
in chunks, timestamps kept; the recipients' ``last_activity_seen`` stays where
0.1.1 had it, on the host's entity, and is copied into our seen state for a
recipient class that no longer holds it.

``gearbox activitystream-import-011 -c site.ini [--from mongodb://host/db] [--seen
user=User] [--skip-broadcasts] [--append]`` runs it on a site; on a Ming site
the source defaults to the site's own database.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from gearbox.command import Command

from .delivery.command import _load_site, _site_arguments
from .storage.base import Ref

COLLECTION = 'activity_stream_action'


def _ref(type_name: str | None, key: Any) -> Ref | None:
    return None if not type_name or key is None else Ref(type_name, str(key))


def legacy_items(collection: Any, skip_broadcasts: bool = False) -> Iterator[dict]:
    """``create_many`` items of 0.1.1's documents, in ``_id`` (creation) order.

    By ``_id``, which every collection has an index on: a sort on 0.1.1's
    unindexed ``timestamp`` would be one in memory, which MongoDB refuses past 100 MB.
    """
    for doc in collection.find({}).sort('_id', 1):
        recipients = [Ref(r['_type'], str(r['_id'])) for r in doc.get('_recipients') or ()]
        if not recipients and skip_broadcasts:
            continue
        yield dict(
            actor=_ref(doc.get('actor_type'), doc.get('actor_id')),
            verb=doc.get('verb'),
            target=_ref(doc.get('target_type'), doc.get('target_id')),
            action_obj=_ref(doc.get('action_obj_type'), doc.get('action_obj_id')),
            description=doc.get('description'),
            extra=doc.get('extra'),
            recipients=recipients or None,
            timestamp=doc['timestamp'],
        )


@dataclass
class Imported:
    actions: int
    seen: int


def copy_seen(entities: Any, type_name: str) -> int:
    """Copy ``last_activity_seen`` of 0.1.1's ``entities`` collection into our seen state.

    Only when the site's ``type_name`` class does not hold the seen attribute
    itself (then the value already is where 0.1.1 left it). Returns how many moved.
    """
    from . import am, model, refs

    attribute = model.options().get('seen_attribute', 'last_activity_seen')
    cls = refs.entity_class(type_name)
    if cls is not None and hasattr(cls, attribute):
        return 0
    moved = 0
    for doc in entities.find({'last_activity_seen': {'$ne': None}}):
        recipient = Ref(type_name, str(doc['_id']))
        if am.mark_seen(recipient, until=doc['last_activity_seen']) != am.last_seen(recipient):
            moved += 1
    return moved


def import_011(
    database: Any,
    collection: str = COLLECTION,
    seen: Iterable[tuple[str, str]] = (),
    skip_broadcasts: bool = False,
) -> Imported:
    """Write 0.1.1's actions of ``database[collection]`` through our API, then seen times.

    ``seen`` pairs a collection of 0.1.1's database with the type name of its
    entities, e.g. ``[('tg_user', 'User')]``. The caller commits.
    """
    from . import am

    count = am.create_many(legacy_items(database[collection], skip_broadcasts))
    moved = sum(copy_seen(database[name], type_name) for name, type_name in seen)
    return Imported(count, moved)


def connect(url: str) -> Any:
    """The database of a ``mongodb://host/db`` URL (or ``mim:///db``, Ming's in-memory one)."""
    if url.startswith('mim://'):
        from ming import create_datastore

        return create_datastore(url).db
    from pymongo import MongoClient

    return MongoClient(url).get_default_database()


def _seen_pair(value: str) -> tuple[str, str]:
    name, sep, type_name = value.partition('=')
    if not (sep and name and type_name):
        raise ValueError(f'--seen wants COLLECTION=Type, got {value!r}')
    return name, type_name


class ImportCommand(Command):
    """Import tgapp-activitystream 0.1.1's actions (MongoDB) into the site's activitystream."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        _site_arguments(parser)
        parser.add_argument(
            '--from',
            dest='source',
            default=None,
            help="0.1.1's MongoDB, mongodb://host/db (default: a Ming site's own database)",
        )
        parser.add_argument('--collection', default=COLLECTION, help="0.1.1's collection")
        parser.add_argument(
            '--seen',
            action='append',
            type=_seen_pair,
            default=[],
            help='COLLECTION=Type: copy last_activity_seen of these entities (repeatable)',
        )
        parser.add_argument(
            '--skip-broadcasts', action='store_true', help='leave out actions without recipients'
        )
        parser.add_argument(
            '--append', action='store_true', help='import even if the site has actions already'
        )
        return parser

    def take_action(self, opts: argparse.Namespace) -> int:
        _load_site(opts)
        from . import am, model

        if opts.source:
            database = connect(opts.source)
        elif model.backend == 'ming':
            database = model.DBSession.impl.db
        else:
            raise SystemExit('activitystream-import-011: --from mongodb://host/db is needed')
        if not opts.append and am.get_actions(everything=True).limit(1).all():
            print('activitystream-import-011: the site has actions already; --append to import')
            return 1
        done = import_011(database, opts.collection, opts.seen, opts.skip_broadcasts)
        model.storage().commit()
        print(
            f'activitystream-import-011: {done.actions} actions imported, '
            f'{done.seen} last-seen times copied'
        )
        return 0
