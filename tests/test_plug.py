"""Plugging: options checked at plug time, backend chosen once, mount point, schema."""

import datetime as dt
import logging

import pytest
from tg import FullStackApplicationConfigurator
from tgext.pluggable import plug

from activitystream import ConfigurationError, am, model, storage

from .harness import BACKENDS, blueprint_for, build_app, reset_tg


def plug_into_fresh_config(**options):
    reset_tg()
    cfg = FullStackApplicationConfigurator()
    cfg.update_blueprint(blueprint_for('ming'))
    plug(cfg, 'activitystream', **options)
    return cfg


@pytest.mark.parametrize(
    'options, words',
    [
        (dict(colour='red'), "unknown activitystream option 'colour'"),
        (dict(backend='redis'), 'option backend must be one of auto, sqlalchemy, ming'),
        (dict(seen_attribute='last seen'), 'option seen_attribute must be an attribute name'),
        (dict(seen_attribute=3), 'option seen_attribute must be an attribute name'),
        (dict(prepared_statements='yes'), 'option prepared_statements must be True or False'),
        (dict(appid='no/slashes'), 'option appid must be a dotted Python identifier'),
        (dict(plug_statics='yes'), 'option plug_statics must be True or False'),
        (dict(static_middlewares='gzip'), 'option static_middlewares must be a list'),
    ],
)
def test_bad_options_fail_at_plug_time(options, words):
    with pytest.raises(ConfigurationError, match=words):
        plug_into_fresh_config(**options)


@pytest.mark.parametrize('backend', BACKENDS)
def test_plugged_cleanly(backend, caplog):
    with caplog.at_level(logging.ERROR, logger='tgext.pluggable'):
        env = build_app(backend)
    assert 'Failed to plug' not in caplog.text
    expected = 'ming' if backend in ('ming', 'mongodb') else 'sqlalchemy'
    assert env.app.get('/backend').json['backend'] == expected
    assert model.backend == expected


@pytest.mark.parametrize('backend', BACKENDS)
def test_mounted_at_another_appid(backend):
    env = build_app(backend, appid='notifications')
    bob = env.user('bob')
    am.create(env.user('alice'), 'waved', recipients=[bob])
    env.commit()
    reply = env.app.get('/notifications/', extra_environ=env.login(bob))
    assert reply.json == {'unseen_count': 1, 'unread_count': 1}
    env.app.get('/activitystream/', extra_environ=env.login(bob), status=404)


def test_a_host_without_a_database_is_told_what_to_set():
    with pytest.raises(ConfigurationError, match='set use_sqlalchemy = True .* or use_ming = True'):
        build_app('sqlite', blueprint={'use_sqlalchemy': False})


def test_sqlalchemy_tables_are_merged_into_the_host_metadata():
    env = build_app('sqlite')
    names = set(env.model.metadata.tables)
    wanted = {
        'activitystream_actions',
        'activitystream_deliveries',
        'activitystream_seen',
        'activitystream_reads',
        'activitystream_outbox',
    }
    assert wanted <= names
    from sqlalchemy import inspect

    assert wanted <= set(inspect(env.engine).get_table_names())


def test_ming_indexes_are_ensured():
    env = build_app('ming')
    am.get_by_recipient(env.user('bob')).all()  # first use
    indexes = env.db['activitystream_deliveries'].index_information()
    keys = [tuple(k for k, _ in info['key']) for info in indexes.values()]
    assert ('recipient_type', 'recipient_id', 'timestamp', 'action_id') in keys
    action_keys = [
        tuple(k for k, _ in info['key'])
        for info in env.db['activitystream_actions'].index_information().values()
    ]
    assert ('actor_type', 'actor_id', 'timestamp', '_id', 'public') in action_keys
    outbox = {
        tuple(k for k, _ in info['key']): (info.get('unique'), info.get('sparse'))
        for info in env.db['activitystream_outbox'].index_information().values()
    }
    assert outbox[('key',)] == (True, True)  # jobs without a key leave it out
    assert ('priority', 'available_at', '_id') in outbox  # one queue at a time


def test_seen_attribute_option():
    """The attribute holding last-seen is an option: with another name, Member's is ignored."""
    env = build_app('sqlite', seen_attribute='seen_at')
    mia = env.member('mia', last_activity_seen=dt.datetime(2026, 1, 1))
    assert am.last_seen(mia) is None  # kept by the package, not read from last_activity_seen
    am.create(env.user('alice'), 'hello', recipients=[mia], timestamp=dt.datetime(2026, 3, 1))
    am.mark_seen(mia, until=dt.datetime(2026, 2, 1))
    assert am.last_seen(mia) == dt.datetime(2026, 2, 1)
    assert mia.last_activity_seen == dt.datetime(2026, 1, 1)


def test_the_api_says_when_nothing_is_plugged(monkeypatch):
    monkeypatch.setattr(storage, '_storage', None)
    with pytest.raises(ConfigurationError, match='activitystream is not plugged: call plug'):
        am.get_actions().all()


OPTIONAL_IMPORT = """
import importlib, pkgutil, sys

class Absent:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in ('redis', 'celery'):
            raise ModuleNotFoundError(f'No module named {name!r}')

sys.meta_path.insert(0, Absent())
import activitystream
NEEDS = {'activitystream.delivery.celery', 'activitystream.migration.env'}  # celery; alembic's run
for module in pkgutil.walk_packages(activitystream.__path__, 'activitystream.'):
    if module.name not in NEEDS:
        importlib.import_module(module.name)
print('imported')
"""


def test_every_module_imports_without_the_redis_and_celery_extras():
    """A site installed with ``[sqlalchemy]`` only: the controllers mount, the partials exist.

    (The feeds package once imported redis at the top: the controllers and the
    menu partial vanished from such a site without an error.)
    """
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, '-c', OPTIONAL_IMPORT], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == 'imported'
