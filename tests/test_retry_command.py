"""``gearbox activitystream-retry``: load the site from its config file, retry, report."""

from importlib.metadata import entry_points

import pytest

from activitystream import subscriptions
from activitystream.subscriptions.command import RetryCommand

from . import subscription_support as support
from .harness import BACKENDS, _state, build_app

FLAKY = 'tests.subscription_support.FailsForBob'


def live_app(global_conf, **local_conf):
    """The paste app factory of the test ini: the application the test built."""
    return _state['live'].app.app


def run(tmp_path, *args):
    ini = tmp_path / 'site.ini'
    ini.write_text('[app:main]\nuse = call:tests.test_retry_command:live_app\n')
    command = RetryCommand(None, None)
    options = command.get_parser('gearbox activitystream-retry').parse_args(['-c', str(ini), *args])
    return command.run(options)


def test_gearbox_finds_the_command():
    [found] = entry_points(group='gearbox.commands', name='activitystream-retry')
    assert found.load() is RetryCommand


@pytest.mark.parametrize('backend', BACKENDS)
def test_the_command_retries_and_reports(backend, tmp_path, capsys, monkeypatch):
    support.deliveries.clear()
    env = build_app(backend, subscription_backends={'flaky': FLAKY})
    doc = env.document('Plan')
    for name in ('bob', 'bobby', 'carol'):
        subscriptions.subscribe(env.user(name), doc)
    subscriptions.emit('x', subscribers_of=doc)
    env.commit()
    assert len(subscriptions.failed_deliveries()) == 2  # bob and bobby

    assert run(tmp_path, '--limit', '1') == 1  # still failing: exit 1 for cron
    assert 'activitystream-retry: 0 delivered, 1 failed again, 0 dropped' in capsys.readouterr().out
    assert sorted(f.attempts for f in subscriptions.failed_deliveries()) == [1, 2]

    monkeypatch.setattr(support.FailsForBob, 'emit', support.Recorder.emit)  # bob's works again
    assert run(tmp_path) == 0
    assert 'activitystream-retry: 2 delivered, 0 failed again' in capsys.readouterr().out
    assert sorted(support.recorded('flaky')) == [('bob', 'x'), ('bobby', 'x'), ('carol', 'x')]
    assert subscriptions.failed_deliveries() == []


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
    assert (report.delivered, report.failed, report.dropped) == (1, 0, 1)
    [(_, recipient, text, kwargs)] = support.deliveries
    assert (recipient.user_name, text, kwargs['n']) == ('bob', 'x', 1)
    assert kwargs['about'].user_name == 'carol'  # kept as a reference, loaded again


def test_limits_are_checked(env):
    with pytest.raises(ValueError, match='limit must not be negative'):
        subscriptions.retry_failed(limit=-1)
    with pytest.raises(TypeError, match='limit must be an integer'):
        subscriptions.failed_deliveries(limit='3')
