"""The outbox and its runners: nothing lost, nothing done twice in the database, on every backend.

Work is written with the caller's transaction and done by a runner after the
commit; these tests stop the runner where a crash would, then drain.
"""

import datetime as dt
import socket
import threading
import time

import pytest

from activitystream import am, delivery, model, storage, subscriptions
from activitystream.delivery import runner
from activitystream.timeutil import utcnow

from . import subscription_support as support
from .harness import build_app

BACKENDS = ['sqlite', 'postgresql', 'ming']
RECORDERS = {
    'now': 'tests.subscription_support.Recorder',
    'later': 'tests.subscription_support.LaterRecorder',
    'activitystream': 'activitystream.subscriptions.backends.ActivityStreamBackend',
}


def site(backend, **options):
    support.deliveries.clear()
    options.setdefault('subscription_backends', RECORDERS)
    return build_app(backend, **options)


def followed(env, count, name='Plan'):
    doc, alice = env.document(name), env.user('alice')
    people = [env.user(f'u{i:05}') for i in range(count)]
    for person in people:
        subscriptions.subscribe(person, doc)
    env.commit()
    return doc, alice, people


@pytest.fixture
def no_runner(monkeypatch):
    """The process dies right after its commit: nothing drains until someone calls drain()."""
    monkeypatch.setattr(runner, 'kick', lambda: None)


@pytest.mark.parametrize('backend', BACKENDS)
def test_work_left_by_a_dead_process_is_done_by_the_next_drain(backend, no_runner):
    env = site(backend)
    doc, alice, people = followed(env, 3)
    subscriptions.emit('{actor} wrote', subscribers_of=doc, actor=alice, backends=['later'])
    env.commit()
    assert support.recorded('later') == []
    assert model.storage().job_counts() == {'pending': 1, 'dead': 0}
    report = delivery.drain()
    assert sorted(support.recorded('later')) == [(p.user_name, 'alice wrote') for p in people]
    assert (report.done, report.retried, report.dead) == (2, 0, 0)  # the emit, its page
    assert model.storage().job_counts() == {'pending': 0, 'dead': 0}
    assert delivery.drain().jobs == 0  # nothing twice


@pytest.mark.parametrize('backend', ['sqlite', 'postgresql'])  # Ming has no rollback
def test_a_rolled_back_request_leaves_no_work(backend):
    env = site(backend)
    doc, alice, _ = followed(env, 2)
    subscriptions.emit('x', subscribers_of=doc, actor=alice, backends=['later'])
    am.create(alice, 'posted', recipients=[env.user('zed')])
    env.clear_session()  # rolled back
    assert model.storage().job_counts() == {'pending': 0, 'dead': 0}
    assert delivery.drain().jobs == 0 and support.recorded() == []


@pytest.mark.parametrize('backend', BACKENDS)
def test_a_large_audience_is_expanded_page_by_page(backend, no_runner):
    env = site(backend, emit_page_size=100, emit_inline_limit=50)
    doc, alice, people = followed(env, 250)
    subscriptions.emit(
        'hi', subscribers_of=doc, actor=alice, dont_send_to=people[7], backends=['later', 'now']
    )
    env.commit()
    assert support.recorded() == []  # above emit_inline_limit: even 'now' waits for the runner
    report = delivery.drain()
    assert report.done == 3 + 3  # three steps, three pages
    for name in ('later', 'now'):
        got = [who for who, _ in support.recorded(name)]
        assert sorted(got) == sorted(p.user_name for p in people if p is not people[7])


@pytest.mark.parametrize('backend', BACKENDS)
def test_notifications_of_a_small_audience_are_written_in_the_request(backend, no_runner):
    env = site(backend, emit_inline_limit=5)
    doc, alice, people = followed(env, 5)
    subscriptions.emit('a', subscribers_of=doc, actor=alice, backends=['activitystream'])
    assert am.count_not_seen_by_recipient(people[0]) == 1  # before the commit, no runner
    more = env.user('u99999')
    subscriptions.subscribe(more, doc)
    subscriptions.emit('b', subscribers_of=doc, actor=alice, backends=['activitystream'])
    env.commit()
    assert am.count_not_seen_by_recipient(more) == 0  # 6 > 5: the runner writes them
    delivery.drain()
    assert am.count_not_seen_by_recipient(more) == 1
    assert [a.description for a in am.get_by_recipient(people[0])] == ['b', 'a']


@pytest.mark.parametrize('backend', BACKENDS)
def test_failures_back_off_then_stay_as_dead_letters(backend, no_runner, monkeypatch):
    env = site(
        backend,
        delivery_max_attempts=3,
        delivery_backoff=60,
        subscription_backends={'picky': 'tests.subscription_support.LaterFailsForBob'},
    )
    doc, alice, _ = followed(env, 0)
    bob, carol = env.user('bob'), env.user('carol')
    for person in (bob, carol):
        subscriptions.subscribe(person, doc)
    subscriptions.emit('x', subscribers_of=doc, actor=alice)
    env.commit()
    first = delivery.drain()
    assert (first.done, first.retried) == (1, 1) and support.recorded() == [('carol', 'x')]
    [failed] = subscriptions.failed_deliveries()
    assert (failed.backend, failed.recipient.id, failed.attempts, failed.dead) == (
        'picky',
        str(bob.user_id if hasattr(bob, 'user_id') else bob._id),
        1,
        False,
    )
    assert 'ValueError: no channel to bob' in failed.error
    [job] = model.storage().jobs(False, None)
    assert dt.timedelta(seconds=50) < job.available_at - utcnow() <= dt.timedelta(seconds=60)
    assert delivery.drain().jobs == 0  # not due yet
    for attempt in (2, 3):
        later = utcnow() + dt.timedelta(hours=7 * attempt)  # past any backoff
        monkeypatch.setattr(runner, 'utcnow', lambda when=later: when)
        report = delivery.drain()
        assert (report.retried, report.dead) == ((1, 0) if attempt < 3 else (0, 1))
    [dead] = subscriptions.failed_deliveries()
    assert dead.dead and dead.attempts == 3
    assert support.recorded() == [('carol', 'x')]  # carol once: only what failed is retried
    assert model.storage().revive_jobs([dead.id], utcnow()) == 1  # what `retry` does
    env.commit()
    monkeypatch.undo()
    delivery.drain()
    [again] = subscriptions.failed_deliveries()
    assert (again.dead, again.attempts) == (False, 1)
    assert model.storage().purge_jobs(None) == 0  # pending work is never purged


@pytest.mark.parametrize('backend', BACKENDS)
def test_a_job_whose_worker_died_is_done_after_its_lease(backend, no_runner):
    env = site(backend)
    doc, alice, people = followed(env, 2)
    subscriptions.emit('x', subscribers_of=doc, actor=alice, backends=['later'])
    env.commit()
    now = utcnow()
    with model.unit_of_work() as storage:  # a worker claims it, then dies
        [claimed] = storage.claim_jobs('dead-worker', 10, now, now + dt.timedelta(seconds=1))
    assert delivery.drain().jobs == 0  # its lease still runs
    time.sleep(1.2)
    assert delivery.drain().done == 2
    assert len(support.recorded('later')) == 2


@pytest.mark.parametrize('backend', BACKENDS)
def test_live_pushes_go_through_the_outbox(backend, no_runner):
    env = site(backend)
    alice, bob = env.user('alice'), env.user('bob')
    am.create(alice, 'hi', recipients=[bob])
    env.commit()
    [job] = model.storage().jobs(False, None)
    assert job.kind == 'push' and job.payload['to'] == [['User', str(_key(bob))]]
    assert delivery.drain().done == 1


def _key(user):
    return user.user_id if hasattr(user, 'user_id') else user._id


def test_bad_runner_options_fail_at_plug_time():
    from activitystream import ConfigurationError

    with pytest.raises(ConfigurationError, match='runner must be one of inline, thread, celery'):
        build_app('sqlite', delivery_runner='celery-ish')
    with pytest.raises(ConfigurationError, match='emit_page_size must be a positive integer'):
        build_app('sqlite', emit_page_size=0)
    with pytest.raises(ConfigurationError, match='delivery_backoff must be a positive number'):
        build_app('sqlite', delivery_backoff='soon')


class SilentSMTP:
    """An SMTP server that accepts connections and never answers (the 5-second comments)."""

    def __init__(self):
        self.listener = socket.socket()
        self.listener.bind(('127.0.0.1', 0))
        self.listener.listen(50)
        self.port = self.listener.getsockname()[1]

    def close(self):
        self.listener.close()


# Ming on SecantusDB, not mim: the request and the worker thread use the database at
# once, and mim (an in-process fake) is not thread-safe where a MongoDB client is
@pytest.mark.parametrize('backend', ['sqlite', 'mongodb'])
def test_a_mute_smtp_server_never_slows_the_request_with_the_thread_runner(backend):
    silent = SilentSMTP()
    try:
        env = build_app(
            backend,
            blueprint=dict(
                support.smtp_config(silent.port), **{'activitystream.smtp_timeout': '3'}
            ),
            delivery_runner='thread',
            email_address_attribute='user_name',
            subscription_backends={'email': 'activitystream.subscriptions.backends.EmailBackend'},
        )
        doc, alice = env.document('Plan'), env.user('alice')
        for name in ('bob', 'carol'):
            subscriptions.subscribe(env.user(f'{name}@example.com'), doc)
        env.commit()
        started = time.perf_counter()
        for _ in range(5):
            subscriptions.emit('x', subscribers_of=doc, actor=alice)
            env.commit()
        assert time.perf_counter() - started < 1.0  # inline, each would wait out the timeout
        silent.listener.settimeout(5)
        connection, _ = silent.listener.accept()  # the worker did try, meanwhile
        connection.close()
    finally:
        runner.stop_workers(timeout=0.1)
        silent.close()


@pytest.mark.parametrize('backend', BACKENDS)
def test_the_thread_runner_delivers_after_the_commit(backend):
    env = site(backend, delivery_runner='thread', delivery_poll=30)
    try:
        doc, alice, people = followed(env, 3)
        subscriptions.emit('x', subscribers_of=doc, actor=alice, backends=['later'])
        env.commit()
        deadline = time.monotonic() + 10
        while len(support.recorded('later')) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(support.recorded('later')) == 3
        assert threading.current_thread().name != 'activitystream-delivery'
    finally:
        runner.stop_workers()


@pytest.mark.parametrize('backend', ['sqlite', 'postgresql'])
def test_one_drain_after_a_commit_however_many_jobs_it_queued(backend, monkeypatch):
    env = site(backend)
    drains = []
    real = runner.drain
    monkeypatch.setattr(runner, 'drain', lambda limit=None: drains.append(1) or real(limit))
    alice, bob = env.user('alice'), env.user('bob')
    for n in range(20):
        am.create(alice, f'n{n}', recipients=[bob])
    env.commit()
    assert drains == [1] and model.storage().job_counts()['pending'] == 0


@pytest.mark.parametrize('backend', BACKENDS)
def test_a_job_that_kills_its_worker_every_time_ends_as_a_dead_letter(backend, no_runner):
    env = site(backend, delivery_max_attempts=2)
    doc, alice, _ = followed(env, 1)
    subscriptions.emit('x', subscribers_of=doc, actor=alice, backends=['later'])
    env.commit()
    for _ in range(2):  # two workers claim it and die (their leases end at once)
        now = utcnow()
        with model.unit_of_work() as storage:
            assert len(storage.claim_jobs('doomed', 1, now, now)) == 1
    report = delivery.drain()  # the third claim does not run it
    assert (report.done, report.dead) == (0, 1) and support.recorded() == []
    [dead] = model.storage().jobs(True, None)
    assert dead.error == 'claimed 2 times, never finished'


@pytest.mark.parametrize('backend', BACKENDS)
def test_a_restarted_process_does_the_work_left_behind_without_new_work(backend, monkeypatch):
    env = site(backend)
    monkeypatch.setattr(runner, 'kick', lambda: None)  # the process dies before any drain
    doc, alice, _ = followed(env, 2)
    subscriptions.emit('left behind', subscribers_of=doc, actor=alice, backends=['later'])
    env.commit()
    assert support.recorded('later') == []
    # a new process of the same site (thread runner) starts and serves its first request
    monkeypatch.setitem(model.options(), 'delivery_runner', 'thread')
    monkeypatch.setitem(model.options(), 'delivery_poll', 0.2)
    monkeypatch.setattr(storage, '_schema_ready', False)
    try:
        model.storage()
        deadline = time.monotonic() + 10
        while len(support.recorded('later')) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        runner.stop_workers()
    assert len(support.recorded('later')) == 2


done_jobs = []


def record_job(storage, job):
    """A handler for the priority tests: remembers the jobs it did, in order."""
    done_jobs.append(job.payload['n'])


@pytest.mark.parametrize('backend', BACKENDS)
def test_drains_do_high_work_first_and_a_low_drain_only_low_work(backend, no_runner, monkeypatch):
    from activitystream.storage.base import NewJob

    site(backend, delivery_batch=2)
    monkeypatch.setitem(runner.HANDLERS, 'record', 'tests.test_outbox:record_job')
    done_jobs.clear()
    low = [NewJob('record', {'n': f'low{i}'}, priority='low') for i in range(3)]
    high = [NewJob('record', {'n': f'high{i}'}) for i in range(3)]
    delivery.enqueue(low + high).ready()  # the low work is older
    model.storage().commit()
    assert delivery.drain().done == 6
    assert done_jobs == ['high0', 'high1', 'high2', 'low0', 'low1', 'low2']
    delivery.enqueue(low + high).ready()
    model.storage().commit()
    done_jobs.clear()
    assert delivery.drain(priority='low').done == 3
    assert done_jobs == ['low0', 'low1', 'low2']
    assert model.storage().job_counts() == {'pending': 3, 'dead': 0}
    with pytest.raises(ValueError, match="priority must be None or one of high, low: 'top'"):
        delivery.drain(priority='top')
