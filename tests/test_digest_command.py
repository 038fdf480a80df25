"""``gearbox activitystream-digest`` and the Celery beat task ``activitystream.digest``.

The command runs in this process through its parser and PasteDeploy's
``loadapp`` of an ini naming the app the test built; the task runs through
Celery's ``apply`` (in this process, as a worker would call it), its app the
runner's own on Kombu's in-memory broker.
"""

from importlib.metadata import entry_points

import pytest

from activitystream import model
from activitystream.delivery import celery as celery_runner
from activitystream.delivery import drain, stop_workers
from activitystream.delivery.command import DigestCommand

from . import subscription_support as support
from .harness import BACKENDS
from .test_digest import digest_app, smtp, story  # noqa: F401 - smtp: a fixture
from .test_retry_command import run


def test_gearbox_finds_the_digest_command():
    [found] = entry_points(group='gearbox.commands', name='activitystream-digest')
    assert found.load() is DigestCommand


@pytest.mark.parametrize('backend', BACKENDS)
def test_the_command_sends_the_periods_digests_once(backend, smtp, tmp_path, capsys):  # noqa: F811
    mailbox, port = smtp
    mailbox.messages.clear()
    story(digest_app(backend, port))  # bob holds 4 items; his period is the default, daily
    assert run(tmp_path, DigestCommand, '--period', 'weekly') == 0
    assert '0 digests queued, 0 jobs done' in capsys.readouterr().out
    assert mailbox.messages == []
    assert run(tmp_path, DigestCommand) == 0
    assert 'activitystream-digest: 1 digests queued, 1 jobs done, 0 to retry, 0 dead' in (
        capsys.readouterr().out
    )
    assert [(m['To'], m['Subject']) for m in mailbox.messages] == [
        ('bob@example.com', 'Your daily digest: 4 notifications')
    ]
    assert run(tmp_path, DigestCommand, '--period', 'daily') == 0  # the same day: nothing
    assert '0 digests queued' in capsys.readouterr().out
    assert len(mailbox.messages) == 1


@pytest.mark.parametrize('backend', BACKENDS)
def test_a_failed_send_exits_1_for_cron_and_keeps_the_items(backend, tmp_path, capsys):
    story(digest_app(backend, support.free_port()))  # nobody listens on the SMTP port
    assert run(tmp_path, DigestCommand) == 1
    assert '1 digests queued, 0 jobs done, 1 to retry, 0 dead' in capsys.readouterr().out
    assert model.storage().job_counts() == {'pending': 1, 'dead': 0}


def test_a_bad_period_is_refused_by_the_parser(tmp_path, capsys):
    with pytest.raises(SystemExit):
        run(tmp_path, DigestCommand, '--period', 'monthly')
    assert "invalid choice: 'monthly'" in capsys.readouterr().err


@pytest.mark.parametrize('backend', BACKENDS)
def test_the_runners_celery_app_has_the_digest_task(backend, smtp):  # noqa: F811
    mailbox, port = smtp
    mailbox.messages.clear()
    story(digest_app(backend, port, delivery_runner='celery', celery_broker_url='memory://'))
    try:
        app = celery_runner.celery_app()
        task = app.tasks[celery_runner.DIGEST_TASK]
        assert (task.acks_late, task.ignore_result) == (True, True)
        assert drain().done >= 1  # a worker's drain: the emits hold bob's items
        assert task.apply(args=('daily',)).get() == 1  # what beat would have a worker do
        assert [m['To'] for m in mailbox.messages] == ['bob@example.com']
        assert task.apply(args=('daily',)).get() == 0
    finally:
        stop_workers(timeout=1)
