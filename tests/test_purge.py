"""Retention: ``am.purge`` and ``gearbox activitystream-purge`` delete old actions in batches."""

import datetime as dt
from importlib.metadata import entry_points

import pytest
from sqlalchemy import event

from activitystream import am, subscriptions
from activitystream.retention import PurgeCommand
from activitystream.timeutil import utcnow

from .harness import BACKENDS, _state, build_app


def days_ago(days, minutes=0):
    return utcnow() - dt.timedelta(days=days, minutes=minutes)


def seed(env):
    """Bob gets 5 old and 2 recent actions (one broadcast each) and reads the old ones."""
    alice, bob, carol = env.user('alice'), env.user('bob'), env.user('carol')
    old = am.create_many(
        [dict(actor=alice, verb=f'old{i}', recipients=[bob, carol], timestamp=days_ago(200, i))
         for i in range(4)]
        + [dict(actor=alice, verb='old-broadcast', timestamp=days_ago(190))]
    )  # fmt: skip
    am.create_many(
        [
            dict(actor=alice, verb='new', recipients=[bob], timestamp=days_ago(1)),
            dict(actor=alice, verb='new-broadcast', timestamp=days_ago(2)),
        ]
    )
    am.mark_read(bob, old)  # beyond the unseen window: nothing to mark
    am.dismiss(carol, old[:1])
    subscriptions.subscribe(bob, alice)
    env.commit()
    return alice, bob, carol


def verbs(recipient):
    query = am.get_by_recipient(recipient)
    found = [a.verb for a in query.all()]
    assert query.count() == len(found)
    return found


ALL_OLD = {'actions': 5, 'deliveries': 7, 'dismissals': 1, 'read_marks': 0}


def test_purge_deletes_old_actions_with_what_hangs_from_them(env):
    alice, bob, carol = seed(env)
    assert len(verbs(bob)) == 7
    assert am.purge(dt.timedelta(days=180), dry_run=True, batch=2) == ALL_OLD
    assert len(verbs(bob)) == 7  # a dry run deletes nothing
    assert am.purge(dt.timedelta(days=180), batch=2) == ALL_OLD
    env.clear_session()
    assert verbs(bob) == ['new', 'new-broadcast']
    assert verbs(carol) == ['new-broadcast']
    assert am.count_not_seen_by_recipient(bob) == 2
    assert am.get_actions(everything=True).count() == 2
    assert subscriptions.subscribers_of(alice).count() == 1  # subscriptions are not activity
    assert am.purge(dt.timedelta(days=180)) == dict.fromkeys(ALL_OLD, 0)


def test_purge_deletes_read_marks_of_what_it_deletes(env):
    alice, bob = env.user('alice'), env.user('bob')
    made = am.create_many(
        [
            dict(actor=alice, verb=f'v{i}', recipients=[bob], timestamp=days_ago(3, i))
            for i in (1, 2)
        ]
    )
    am.mark_read(bob, made)
    env.commit()
    removed = am.purge(dt.timedelta(days=3), batch=1)
    assert removed == {'actions': 2, 'deliveries': 2, 'dismissals': 0, 'read_marks': 2}
    assert am.count_unread_by_recipient(bob) == 0 and verbs(bob) == []


def test_purge_takes_one_batch_per_transaction(sqla_env):
    env = sqla_env
    alice, bob = env.user('alice'), env.user('bob')
    am.create_many(
        [dict(actor=alice, verb='v', recipients=[bob], timestamp=days_ago(10, i)) for i in range(7)]
    )
    env.commit()
    commits = []
    with env.count_queries() as sent:

        def committed(conn):  # how many batches were deleted when this commit came
            commits.append(sum(s.startswith('DELETE FROM activitystream_actions') for s in sent))

        event.listen(env.engine, 'commit', committed)
        try:
            assert am.purge(dt.timedelta(days=5), batch=3)['actions'] == 7
        finally:
            event.remove(env.engine, 'commit', committed)
    # each batch commits before the next one is read: no lock is held across batches
    assert commits == [1, 2, 3, 3]  # 3 + 3 + 1, then a last look that finds nothing


def test_bad_arguments_name_themselves(env):
    with pytest.raises(TypeError, match='older_than'):
        am.purge(180)
    with pytest.raises(ValueError, match='older_than'):
        am.purge(dt.timedelta(0))
    with pytest.raises(TypeError, match='dry_run'):
        am.purge(dt.timedelta(days=1), dry_run='yes')
    with pytest.raises(ValueError, match='batch'):
        am.purge(dt.timedelta(days=1), batch=0)
    with pytest.raises(TypeError, match='batch'):
        am.purge(dt.timedelta(days=1), batch='10')


def live_app(global_conf, **local_conf):
    """The paste app factory of the test ini: the application the test built."""
    return _state['live'].app.app


def run(tmp_path, *args):
    ini = tmp_path / 'site.ini'
    ini.write_text('[app:main]\nuse = call:tests.test_purge:live_app\n')
    command = PurgeCommand(None, None)
    return command.run(command.get_parser('gearbox').parse_args([*args, '-c', str(ini)]))


def test_gearbox_finds_the_command():
    [purge] = entry_points(group='gearbox.commands', name='activitystream-purge')
    assert purge.load() is PurgeCommand


@pytest.mark.parametrize('backend', BACKENDS)
def test_the_command_purges_and_reports(backend, tmp_path, capsys):
    env = build_app(backend)
    alice, bob, carol = seed(env)
    assert run(tmp_path, '--older-than', '180d', '--dry-run', '--batch', '2') == 0
    out = capsys.readouterr().out
    assert 'activitystream-purge: 5 actions, 7 deliveries, 1 dismissals, 0 read marks' in out
    assert 'would be deleted (dry run)' in out
    assert len(verbs(bob)) == 7
    assert run(tmp_path, '--older-than', str(195 * 24) + 'h') == 0
    out = capsys.readouterr().out
    assert 'activitystream-purge: 4 actions, 7 deliveries, 1 dismissals, 0 read marks' in out
    assert out.rstrip().endswith(' deleted')
    env.clear_session()
    assert verbs(bob) == ['new', 'new-broadcast', 'old-broadcast']


@pytest.mark.parametrize('value', ['0d', '-3d', '180y', 'soon'])
def test_the_command_refuses_a_bad_age(value, capsys):
    command = PurgeCommand(None, None)
    with pytest.raises(SystemExit):
        command.get_parser('gearbox').parse_args([f'--older-than={value}'])
    assert '--older-than must be a positive age' in capsys.readouterr().err
