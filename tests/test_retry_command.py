"""``gearbox activitystream-outbox`` and ``activitystream-retry``: load the site, then act."""

import threading
from importlib.metadata import entry_points

import pytest

from activitystream import model, storage, subscriptions
from activitystream.delivery import runner
from activitystream.delivery.command import OutboxCommand
from activitystream.subscriptions.command import RetryCommand

from . import subscription_support as support
from .harness import BACKENDS, _state, build_app

FLAKY = 'tests.subscription_support.FailsForBob'
LATER = 'tests.subscription_support.LaterRecorder'


def live_app(global_conf, **local_conf):
    """The paste app factory of the test ini: the application the test built."""
    return _state['live'].app.app


def run(tmp_path, command_class, *args):
    ini = tmp_path / 'site.ini'
    ini.write_text('[app:main]\nuse = call:tests.test_retry_command:live_app\n')
    command = command_class(None, None)
    options = command.get_parser('gearbox').parse_args([*args, '-c', str(ini)])
    return command.run(options)


def test_gearbox_finds_the_commands():
    [retry] = entry_points(group='gearbox.commands', name='activitystream-retry')
    [outbox] = entry_points(group='gearbox.commands', name='activitystream-outbox')
    assert (retry.load(), outbox.load()) == (RetryCommand, OutboxCommand)


def failing_for_bobs(backend):
    support.deliveries.clear()
    env = build_app(backend, subscription_backends={'flaky': FLAKY})
    doc = env.document('Plan')
    for name in ('bob', 'bobby', 'carol'):
        subscriptions.subscribe(env.user(name), doc)
    subscriptions.emit('x', subscribers_of=doc)
    env.commit()
    return env


@pytest.mark.parametrize('backend', BACKENDS)
def test_retry_delivers_what_failed_and_says_so(backend, tmp_path, capsys, monkeypatch):
    failing_for_bobs(backend)
    failed = subscriptions.failed_deliveries()
    assert len(failed) == 2  # bob and bobby, in one job
    assert {f.error for f in failed} == {'flaky: ValueError: no channel to bob'}

    assert run(tmp_path, RetryCommand) == 1  # still failing: exit 1 for cron
    out = capsys.readouterr().out
    assert '0 dead letters pending again, 1 failed jobs due now' in out
    assert '0 done, 1 to retry later, 0 dead' in out
    assert [f.attempts for f in subscriptions.failed_deliveries()] == [1, 1]

    monkeypatch.setattr(support.FailsForBob, 'emit', support.Recorder.emit)  # bob's works again
    assert run(tmp_path, OutboxCommand, 'retry') == 0
    assert '1 done, 0 to retry later, 0 dead' in capsys.readouterr().out
    assert sorted(support.recorded('flaky')) == [('bob', 'x'), ('bobby', 'x'), ('carol', 'x')]
    assert subscriptions.failed_deliveries() == []


@pytest.mark.parametrize('backend', BACKENDS)
def test_a_command_drains_in_its_own_thread_only(backend, tmp_path, monkeypatch):
    """Its process exits after the drain: a worker thread there would be killed mid-job."""
    monkeypatch.setattr(runner, 'kick', lambda: None)  # the site's process dies after its commit
    support.deliveries.clear()
    env = build_app(backend, subscription_backends={'later': LATER})
    subscriptions.emit('x', send_only_to=[env.user('bob'), env.user('carol')])
    env.commit()
    # the command's process is new: its first use of the storage would start the thread runner
    monkeypatch.setitem(model.options(), 'delivery_runner', 'thread')
    monkeypatch.setitem(model.options(), 'delivery_poll', 0.01)
    monkeypatch.setattr(storage, '_schema_ready', False)
    try:
        assert run(tmp_path, OutboxCommand, 'drain') == 0
        assert [t for t in threading.enumerate() if t.name == 'activitystream-delivery'] == []
    finally:
        runner.stop_workers()
    assert sorted(support.recorded('later')) == [('bob', 'x'), ('carol', 'x')]


@pytest.mark.parametrize('backend', BACKENDS)
def test_status_list_and_purge(backend, tmp_path, capsys):
    failing_for_bobs(backend)
    assert run(tmp_path, OutboxCommand, 'status') == 0
    assert 'activitystream-outbox: 1 pending, 0 dead' in capsys.readouterr().out
    assert run(tmp_path, OutboxCommand, 'list') == 0
    assert '\tdeliver\tdue ' in capsys.readouterr().out
    assert run(tmp_path, OutboxCommand, 'purge') == 0
    assert '0 dead letters deleted' in capsys.readouterr().out  # pending work stays
    assert model.storage().job_counts() == {'pending': 1, 'dead': 0}


@pytest.mark.parametrize('backend', BACKENDS)
def test_retry_brings_entities_back_and_drops_the_gone(backend, monkeypatch):
    support.deliveries.clear()
    env = build_app(backend, subscription_backends={'flaky': FLAKY})
    bob, bobby, carol = env.user('bob'), env.user('bobby'), env.user('carol')
    subscriptions.emit('x', send_only_to=[bob, bobby], about=carol, n=1)
    env.commit()
    env.delete(bobby)
    env.commit()
    monkeypatch.setattr(support.FailsForBob, 'emit', support.Recorder.emit)
    report = subscriptions.retry_failed()
    assert (report.done, report.retried, report.dead) == (1, 0, 0)
    [(_, recipient, text, kwargs)] = support.deliveries
    assert (recipient.user_name, text, kwargs['n']) == ('bob', 'x', 1)
    assert kwargs['about'].user_name == 'carol'  # kept as a reference, loaded again


def test_limits_are_checked(env):
    with pytest.raises(ValueError, match='limit must not be negative'):
        subscriptions.retry_failed(limit=-1)
    with pytest.raises(TypeError, match='limit must be an integer'):
        subscriptions.failed_deliveries(limit='3')
