"""Upgrading from tgapp-activitystream 0.1.1: its MongoDB actions imported through our API.

The documents are built exactly as 0.1.1's Ming model saved them (class
names and ObjectIds, ``extra`` a string, naive UTC timestamps with MongoDB's
millisecond precision, ``_recipients`` a list of ``{_type, _id}``, ``[]`` or
None for a broadcast). On a Ming site the command reads the site's own
database; a SQLAlchemy site reads them from a MongoDB given by ``--from``
(Ming's in-memory one here, as no MongoDB server runs on these machines).
"""

import datetime as dt
import random

import pytest
from bson import ObjectId

from activitystream import am
from activitystream.storage.base import Ref
from activitystream.upgrade_011 import COLLECTION, ImportCommand, connect

from . import clock
from .harness import _state, build_app, environment

SOURCE = 'mim:///legacy011'
BACKENDS = ['sqlite', 'postgresql', 'ming']


def live_app(global_conf, **local_conf):
    return _state['live'].app.app


def run(tmp_path, *args):
    ini = tmp_path / 'site.ini'
    ini.write_text('[app:main]\nuse = call:tests.test_upgrade_from_011:live_app\n')
    command = ImportCommand(None, None)
    return command.run(command.get_parser('gearbox').parse_args(['-c', str(ini), *args]))


class Legacy:
    """0.1.1's database: users, and the actions its ActionManager.create wrote."""

    def __init__(self, database):
        self.db = database
        self.actions = database[COLLECTION]
        self.users = [ObjectId() for _ in range(4)]
        self.docs = []

    def create(self, when, actor, verb, recipients, target=None, obj=None, n=0):
        doc = dict(
            _id=ObjectId(),
            actor_type='User',
            actor_id=actor,
            verb=verb,
            description=f'{verb} #{n}' if n % 3 else None,
            extra=f'{{"n": {n}}}' if n % 2 else None,
            target_type='User' if target else None,
            target_id=target,
            action_obj_type='User' if obj else None,
            action_obj_id=obj,
            timestamp=when,
            _recipients=recipients,
        )
        self.docs.append(doc)
        self.actions.insert_one(doc)

    def inbox(self, user):
        """What 0.1.1 meant ``user`` to get: its actions and the broadcasts, not its own."""
        mine = [
            d
            for d in self.docs
            if d['actor_id'] != user
            and (not d['_recipients'] or user in [r['_id'] for r in d['_recipients']])
        ]
        return sorted(mine, key=lambda d: d['timestamp'], reverse=True)


def millis(when):
    return when.replace(microsecond=when.microsecond // 1000 * 1000)


def fill(legacy):
    """45 actions over two days: targeted, broadcast ([] and None), to the actor itself."""
    rng, start = random.Random(11), clock.recent(days=2)
    users = legacy.users
    for n in range(45):
        when = millis(start + dt.timedelta(minutes=n * 61, microseconds=rng.randrange(10**6)))
        actor = users[n % 4]
        if n % 9 == 0:
            recipients = [] if n % 2 else None  # Ming saved None as [], a raw write kept None
        else:
            recipients = [{'_type': 'User', '_id': u} for u in rng.sample(users, rng.randint(1, 3))]
        target = users[(n + 1) % 4] if n % 4 else None
        legacy.create(
            when, actor, f'verb{n % 5}', recipients, target, users[2] if n % 5 else None, n
        )
    seen = legacy.docs[30]['timestamp']  # user 0 saw everything up to the 31st action
    legacy.db['old_users'].insert_many(
        [
            {'_id': users[0], 'last_activity_seen': seen},
            {'_id': users[1], 'last_activity_seen': None},
        ]
    )
    return seen


def page_by_page(recipient, size=4):
    pages, query = [], am.get_by_recipient(recipient)
    while page := query.limit(size).all():
        pages.append(
            [
                (
                    a.actor_ref.id,
                    a.verb,
                    a.target_ref and a.target_ref.id,
                    a.action_obj_ref and a.action_obj_ref.id,
                    a.description,
                    a.extra,
                    a.timestamp,
                )
                for a in page
            ]
        )
        query = am.get_by_recipient(recipient).before(page[-1].cursor)
    return pages


def expected_pages(docs, size=4):
    rows = [
        (
            str(d['actor_id']),
            d['verb'],
            d['target_id'] and str(d['target_id']),
            d['action_obj_id'] and str(d['action_obj_id']),
            d['description'],
            d['extra'],
            d['timestamp'],
        )
        for d in docs
    ]
    return [rows[i : i + size] for i in range(0, len(rows), size)]


@pytest.fixture(params=BACKENDS)
def site(request):
    env = environment(request.param)
    if not env.sql:
        database, source = env.db, []  # 0.1.1 wrote into the site's own database
    else:
        database, source = connect(SOURCE), ['--from', SOURCE]
        for name in list(database.list_collection_names()):
            database[name].drop()
    return env, Legacy(database), source


def test_import_keeps_every_notification_page_by_page_and_the_seen_times(site, tmp_path, capsys):
    env, legacy, source = site
    seen = fill(legacy)

    assert run(tmp_path, *source, '--seen', 'old_users=User') == 0
    assert 'activitystream-import-011: 45 actions imported, 1 last-seen times copied' in (
        capsys.readouterr().out
    )
    env.clear_session()
    for user in legacy.users:
        recipient = Ref('User', str(user))
        expected = legacy.inbox(user)
        assert len(expected) > 8  # several pages, broadcasts among them
        assert page_by_page(recipient) == expected_pages(expected)
    first = Ref('User', str(legacy.users[0]))
    assert am.last_seen(first) == seen
    after = [d for d in legacy.inbox(legacy.users[0]) if d['timestamp'] > seen]
    assert am.count_not_seen_by_recipient(first) == len(after) > 0
    second = Ref('User', str(legacy.users[1]))
    assert am.count_not_seen_by_recipient(second) == len(legacy.inbox(legacy.users[1]))

    assert run(tmp_path, *source) == 1  # once only, unless --append
    assert 'has actions already' in capsys.readouterr().out
    assert am.get_actions(everything=True).count() == 45


def test_broadcasts_can_be_left_out(site, tmp_path):
    env, legacy, source = site
    fill(legacy)
    assert run(tmp_path, *source, '--skip-broadcasts') == 0
    env.clear_session()
    assert am.get_actions(everything=True).count() == 45 - 5
    user = legacy.users[3]
    targeted = [d for d in legacy.inbox(user) if d['_recipients']]
    assert page_by_page(Ref('User', str(user))) == expected_pages(targeted)


def test_a_recipient_keeping_last_activity_seen_keeps_it_on_ming(tmp_path, capsys):
    """0.1.1's way: the host's recipient has the attribute, and the import leaves it there."""
    env = build_app('ming')
    legacy = Legacy(env.db)
    start = clock.recent(days=1)
    member = env.member('m', last_activity_seen=start + dt.timedelta(hours=2))
    actor = env.user('alice')
    for n in range(6):
        legacy.create(
            start + dt.timedelta(hours=n),
            actor._id,
            'pinged',
            [{'_type': 'Member', '_id': member._id}],
            n=n,
        )
    legacy.db['members_011'].insert_one({'_id': member._id, 'last_activity_seen': start})

    assert run(tmp_path, '--seen', 'members_011=Member') == 0
    assert '6 actions imported, 0 last-seen times copied' in capsys.readouterr().out
    env.clear_session()
    assert am.count_not_seen_by_recipient(member) == 3  # after the host's own time, not 0.1.1's
    got = am.get_by_recipient(member).all()
    assert [(a.actor_entity._id, [r._id for r in a.recipients]) for a in got] == [
        (actor._id, [member._id])
    ] * 6
