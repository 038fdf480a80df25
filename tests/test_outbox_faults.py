"""The outbox under real faults: processes killed with SIGKILL, workers racing for jobs.

The sample app runs on a fresh PostgreSQL database in processes of its own
(``gearbox serve``, ``gearbox activitystream-outbox drain``), and the mails
are counted at a real SMTP server (aiosmtpd): nothing committed is lost,
and what is done twice is recognizable (the same ``Message-ID``).
"""

import collections
import contextlib
import datetime as dt
import http.cookiejar
import itertools
import os
import re
import signal
import socket
import subprocess
import threading
import time
import urllib.parse
import urllib.request

import pytest
import sqlalchemy as sa

from activitystream import am, delivery, model, subscriptions
from activitystream.delivery import runner
from activitystream.storage.base import NewJob
from activitystream.timeutil import utcnow

from . import harness, sample_server
from . import subscription_support as support

LEASE = 2  # seconds: the sample app's delivery_lease in these tests
PAGE = 100  # its emit_page_size
MESSAGE_ID = re.compile(r'<activitystream\.(?P<root>[^.]+)\.(?P<step>\d+)\.User\.(?P<id>\d+)@')
_databases = itertools.count()
LEASED = (
    'SELECT count(*) FROM activitystream_outbox WHERE owner IS NOT NULL AND available_at > :now'
)


@contextlib.contextmanager
def fresh_database():
    """The URL of a new PostgreSQL database, dropped when the block ends."""
    name = f'activitystream_faults_{os.getpid()}_{next(_databases)}'
    admin = sa.create_engine(harness.PG_URL, isolation_level='AUTOCOMMIT')
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE {name}'))
    except Exception as exc:  # noqa: BLE001 - any connection problem means "not here"
        admin.dispose()
        harness._unavailable('PostgreSQL', exc)
    try:
        yield harness.PG_URL.rsplit('/', 1)[0] + '/' + name
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS {name} WITH (FORCE)'))
        admin.dispose()


def rows(url, query, **params):
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text(query), params).all()
    finally:
        engine.dispose()


def gearbox(*arguments, config, timeout=60):
    """Run ``gearbox <arguments> -c <config>`` to its end: (exit status, its output)."""
    process = sample_server.gearbox(
        *arguments, config=config, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        output, _ = process.communicate(timeout=timeout)
        return process.returncode, output
    finally:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
            process.wait()


def smtp_settings(port, timeout=10):
    return {
        'activitystream.smtp_port': port,
        'activitystream.smtp_timeout': timeout,
        'sampleapp.delivery_lease': LEASE,
        'sampleapp.emit_page_size': PAGE,
    }


def wait_for_leases_to_end(url, seconds=10 * LEASE):
    """Until no job of the outbox at ``url`` is held by a live lease: a dead worker's come back."""
    deadline = time.monotonic() + seconds
    while rows(url, LEASED, now=utcnow()) != [(0,)]:
        assert time.monotonic() < deadline, f'jobs still leased after {seconds} s'
        time.sleep(0.1)


class Browser:
    """A visitor logged in through the sample app's login form, over real HTTP."""

    def __init__(self, site, user_name, password='demo'):
        self.site = site
        cookies = urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        self.opener = urllib.request.build_opener(cookies)
        page = self.post(
            '/login_handler?came_from=/&__logins=0', login=user_name, password=password
        )
        assert 'Welcome back' in page, f'{user_name} could not log in'

    def post(self, path, **fields):
        """POST the form ``fields``; the page it leads to (redirects followed)."""
        data = urllib.parse.urlencode(fields).encode()
        with self.opener.open(self.site + path, data=data, timeout=30) as response:
            assert response.status == 200
            return response.read().decode()


def mails(mailbox):
    """(To, Subject, Message-ID) of every mail received, in order."""
    return [
        (str(m['To']), str(m['Subject']), str(m['Message-ID']).strip()) for m in mailbox.messages
    ]


def test_mails_committed_by_a_killed_web_process_are_all_sent_by_the_next_drain(tmp_path):
    """The site commits comments (notifications and their mail jobs), then is SIGKILLed.

    Its mail server accepts connections and never answers, so the site's
    background worker is stuck on its first mail until the kill: every mail
    was still to send when the process died.
    """
    smtp_port = support.free_port()
    mute = socket.create_server(('127.0.0.1', smtp_port), backlog=64)  # accepts, never answers
    try:
        with fresh_database() as url:
            settings = smtp_settings(smtp_port, timeout=60)
            config, port = sample_server.site_config(tmp_path, database=url, **settings)
            status, output = gearbox('setup-app', config=config)
            assert status == 0, output
            [(post_id,)] = rows(url, "SELECT id FROM posts WHERE text LIKE 'Tea party%'")
            subscribed = rows(
                url,
                'SELECT u.user_name, u.display_name, u.email_address '
                'FROM activitystream_subscriptions s JOIN tg_user u '
                "ON s.subscriber_type = 'User' AND s.subscriber_id = CAST(u.user_id AS TEXT) "
                "WHERE s.object_type = 'Post' AND s.object_id = :post ORDER BY u.user_name",
                post=str(post_id),
            )
            assert len(subscribed) >= 3
            expected = collections.Counter()
            with sample_server.server(config, port) as web:
                site = f'http://127.0.0.1:{port}'
                visitors = {name: Browser(site, name) for name, _, _ in subscribed}
                for number in range(12):
                    name, display, _ = subscribed[number % len(subscribed)]
                    page = visitors[name].post('/comment', post_id=post_id, text=f'Fault {number}')
                    assert f'Fault {number}' in page  # answered: its transaction committed
                    expected.update((address, display) for n, _, address in subscribed if n != name)
                os.kill(web.pid, signal.SIGKILL)
                web.wait(10)
            kinds = collections.Counter(
                kind for (kind,) in rows(url, 'SELECT kind FROM activitystream_outbox')
            )
            assert kinds['emit'] + kinds['deliver'] >= 12  # the work the dead process left
            mute.close()
            with support.smtp_server(smtp_port) as (mailbox, _):
                wait_for_leases_to_end(url)
                status, output = gearbox('activitystream-outbox', 'drain', config=config)
                assert status == 0, output
                got = mails(mailbox)
            assert rows(url, 'SELECT count(*) FROM activitystream_outbox') == [(0,)]
    finally:
        mute.close()
    received = collections.Counter()
    for to, subject, _ in got:
        [display] = [d for _, d, _ in subscribed if subject.startswith(f'{d} commented on')]
        received[to, display] += 1
    assert received == expected  # none lost, none twice
    assert sum(expected.values()) == 12 * (len(subscribed) - 1)
    assert len({message_id for _, _, message_id in got}) == len(got)


def _emit_to_readers(url, smtp_port, readers):
    """The site's code, in this process: ``readers`` subscribe to a post, then one emit.

    Nothing drains here (the caller turns ``runner.background`` off): the emit job
    waits in the outbox.
    """
    import sampleapp.config.app_cfg as app_cfg
    import transaction
    from sampleapp import model as site_model

    harness.reset_tg()
    conf = {
        'sampleapp.backend': 'sqlalchemy',
        'sqlalchemy.url': url,
        'sa_auth.cookie_secret': 't',
        'sampleapp.redis_prefix': f'{support.REDIS_PREFIX}:faults',
        **support.smtp_config(smtp_port),
        **{name: str(value) for name, value in smtp_settings(smtp_port).items()},
    }
    app_cfg.make_base_config().make_wsgi_app({}, conf)
    harness._state['cached'] = None  # the harness's cached app belongs to the old TG config
    try:
        site_model.create_schema()
        author = site_model.User(user_name='author', email_address='author@example.org')
        site_model.save(author)
        post = site_model.Post(author=author, text='Big news')
        site_model.save(post)
        people = [
            site_model.User(user_name=f'r{i:05}', email_address=f'r{i:05}@example.org')
            for i in range(readers)
        ]
        site_model.DBSession.add_all(people)
        site_model.DBSession.flush()
        for person in people:
            subscriptions.subscribe(person, post)
        subscriptions.emit('{actor} wrote a post', subscribers_of=post, actor=author)
        addresses = {p.email_address for p in people}
        transaction.commit()
        return addresses
    finally:
        engine = site_model.DBSession.get_bind()
        transaction.abort()
        site_model.DBSession.remove()  # and no session after: the next app binds its own
        engine.dispose()


def test_a_drain_killed_mid_run_loses_no_mail_and_repeats_only_the_page_it_was_sending(
    tmp_path, monkeypatch
):
    """This process runs the site's code only; the gearbox drains are the only workers.

    (Its thread runner would drain too, then be cut off when the SMTP server
    and the database go at the end, its jobs unsent.)
    """
    monkeypatch.setattr(runner, 'background', False)
    with (
        fresh_database() as url,
        support.smtp_server(mailbox=support.Headers()) as (
            mailbox,
            smtp_port,
        ),
    ):
        config, _ = sample_server.site_config(tmp_path, database=url, **smtp_settings(smtp_port))
        readers = _emit_to_readers(url, smtp_port, 2000)
        first = sample_server.gearbox(
            'activitystream-outbox',
            'drain',
            config=config,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 60
            while len(mailbox.messages) < 7 * PAGE + PAGE // 2 and time.monotonic() < deadline:
                assert first.poll() is None, 'the drain ended before it was killed'
                time.sleep(0.005)
        finally:
            os.kill(first.pid, signal.SIGKILL)
            first.wait(10)
        sent_before = len(mailbox.messages)
        assert PAGE < sent_before < len(readers)  # killed while mails were arriving
        wait_for_leases_to_end(url)
        status, output = gearbox('activitystream-outbox', 'drain', config=config)
        assert status == 0, output  # nothing failed, nothing waits for a retry
        assert rows(url, 'SELECT count(*) FROM activitystream_outbox') == [(0,)]
        got = mails(mailbox)
    by_address = collections.defaultdict(list)
    for to, _, message_id in got:
        by_address[to].append(message_id)
    assert set(by_address) == readers  # none lost
    twice = {to: ids for to, ids in by_address.items() if len(ids) > 1}
    assert all(len(ids) == 2 and ids[0] == ids[1] for ids in twice.values())  # recognizable
    pages = {MESSAGE_ID.match(ids[0])['step'] for ids in twice.values()}
    assert len(pages) <= 1 and len(twice) <= PAGE  # only the page being sent at the kill
    assert len(got) == len(readers) + len(twice)


RECORDERS = {
    'activitystream': 'activitystream.subscriptions.backends.ActivityStreamBackend',
    'later': 'tests.subscription_support.LaterRecorder',
}


@pytest.fixture
def no_kick(monkeypatch):
    """Committed work waits for an explicit drain(), as if no runner were in this process."""
    monkeypatch.setattr(runner, 'kick', lambda: None)
    support.deliveries.clear()


def audience(env, count):
    doc, alice = env.document('Plan'), env.user('alice')
    people = [env.user(f'u{i:04}') for i in range(count)]
    for person in people:
        subscriptions.subscribe(person, doc)
    env.commit()
    return doc, alice, people


def test_racing_workers_on_postgresql_do_each_job_once(no_kick):
    env = harness.build_app('postgresql', subscription_backends=RECORDERS)
    alice = env.user('alice')
    people = [env.user(f'u{i:04}') for i in range(300)]
    for person in people:
        subscriptions.emit('x', send_only_to=person, actor=alice, backends=['later'])
    env.commit()
    assert model.storage().job_counts()['pending'] == 300
    start, reports = threading.Barrier(8), []

    def worker():
        start.wait()
        reports.append(delivery.drain())

    workers = [threading.Thread(target=worker) for _ in range(8)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join(60)
    assert sorted(support.recorded('later')) == sorted((p.user_name, 'x') for p in people)
    assert sum(r.done for r in reports) == 600 and not any(r.errors for r in reports)
    assert sum(1 for r in reports if r.done) > 1  # they did run at once


class Died(BaseException):
    """What a process killed in the middle of a job leaves behind: nothing after this point."""


class Flaky(support.LaterRecorder):
    """Delivers after the ``activitystream`` backend; its first call goes wrong as ``how`` says.

    ``fails``: it raises (the job is given back); ``dies``: the worker dies;
    ``overtime``: it outlives the job's lease, and another worker does the job meanwhile.
    """

    how = None
    calls = 0
    sent = []  # (user name, text): read now, the worker's session may be rolled back later

    def emit_many(self, deliveries, **kwargs):
        Flaky.calls += 1
        if Flaky.calls == 1:
            if Flaky.how == 'fails':
                raise ConnectionError('the server is down')
            if Flaky.how == 'dies':
                raise Died()
            later(delivery.drain)  # another worker, once the lease is over
        Flaky.sent += [(recipient.user_name, text) for recipient, text in deliveries]
        return []


def later(call, hours=7):
    """``call()`` as a runner sees it ``hours`` from now: past any lease and backoff."""
    when = runner.utcnow() + dt.timedelta(hours=hours)
    original = runner.utcnow
    runner.utcnow = lambda: when
    try:
        return call()
    finally:
        runner.utcnow = original


def notified(people):
    return {p.user_name: [a.description for a in am.get_by_recipient(p)] for p in people}


@pytest.mark.parametrize(
    'backend,how',
    [
        *((b, how) for b in ('sqlite', 'postgresql', 'ming') for how in ('fails', 'dies')),
        # SQLite: no other worker can claim a job while the one doing it writes
        ('postgresql', 'overtime'),
        ('ming', 'overtime'),
    ],
)
def test_a_job_done_again_does_not_write_its_notifications_twice(backend, how, no_kick):
    env = harness.build_app(
        backend,
        subscription_backends=dict(RECORDERS, flaky=f'{__name__}.Flaky'),
        emit_inline_limit=0,  # the runner writes the notifications, in the job
    )
    Flaky.how, Flaky.calls, Flaky.sent = how, 0, []
    doc, alice, people = audience(env, 3)
    subscriptions.emit(
        'news', subscribers_of=doc, actor=alice, backends=['activitystream', 'flaky']
    )
    env.commit()
    if how == 'dies':
        with pytest.raises(Died):
            delivery.drain()
    else:
        delivery.drain()
    later(delivery.drain)
    env.commit()  # a new transaction: what the workers committed
    assert notified(people) == {p.user_name: ['news'] for p in people}
    assert model.storage().job_counts() == {'pending': 0, 'dead': 0}
    times = 2 if how == 'overtime' else 1  # at-least-once outside the database
    assert sorted(Flaky.sent) == sorted([(p.user_name, 'news') for p in people] * times)


class Clock:
    """The runners' clock, put forward by hand (``ahead``)."""

    def __init__(self):
        self.real, self.ahead = runner.utcnow, dt.timedelta(0)

    def __call__(self):
        return self.real() + self.ahead


class SlowPages(support.LaterRecorder):
    """Each page takes 0.6 of a lease on ``clock``; during the second, another worker drains."""

    clock = None
    sent = []  # (user name, text), read now as Flaky's

    def emit_many(self, deliveries, **kwargs):
        lease = dt.timedelta(seconds=model.options()['delivery_lease'])
        SlowPages.clock.ahead += lease * 0.6
        if len(SlowPages.sent) == 1:
            delivery.drain()  # 1.2 leases after the claim of the batch it is in
        SlowPages.sent += [(recipient.user_name, text) for recipient, text in deliveries]
        return []


@pytest.mark.parametrize('backend', [b for b in harness.BACKENDS if b != 'sqlite'])  # as overtime
def test_a_job_late_in_its_batch_still_gets_a_whole_lease(backend, no_kick, monkeypatch):
    env = harness.build_app(
        backend, subscription_backends=dict(RECORDERS, slow=f'{__name__}.SlowPages')
    )
    people = [env.user('bob'), env.user('carol')]
    for person in people:
        subscriptions.emit('news', send_only_to=person, backends=['slow'])
    env.commit()
    assert model.storage().job_counts()['pending'] == 2  # two emits: their pages, one batch
    SlowPages.clock, SlowPages.sent = Clock(), []
    monkeypatch.setattr(runner, 'utcnow', SlowPages.clock)
    report = delivery.drain()
    assert SlowPages.sent == [('bob', 'news'), ('carol', 'news')]  # none twice: no page overran
    assert (report.done, report.errors) == (4, [])
    assert model.storage().job_counts() == {'pending': 0, 'dead': 0}


def test_a_checkpoint_keeps_the_lease_and_only_its_owner_writes_it(env, no_kick):
    storage, start = model.storage(), dt.datetime(2026, 3, 1, 12, 0)
    [job_id] = storage.add_jobs([NewJob('deliver', {'pending': {'a': [], 'b': []}})], start)
    env.commit()
    [job] = storage.claim_jobs('w1', 1, start, start + dt.timedelta(minutes=5))
    env.commit()
    assert job.owner == 'w1'
    assert storage.checkpoint_job(job_id, 'w1', {'pending': {'b': []}}) is True
    assert storage.checkpoint_job(job_id, 'w2', {'pending': {}}) is False
    env.commit()
    later_on = start + dt.timedelta(minutes=1)
    assert storage.claim_jobs('w2', 1, later_on, later_on) == []  # still leased to w1
    [kept] = storage.jobs(None, None)
    assert (kept.payload, kept.owner, kept.attempts) == ({'pending': {'b': []}}, 'w1', 1)
    assert storage.finish_job(job_id, 'w1') is True


def test_a_renewal_moves_the_lease_end_and_only_its_owner_renews(env, no_kick):
    storage, start = model.storage(), dt.datetime(2026, 3, 1, 12, 0)
    [job_id] = storage.add_jobs([NewJob('deliver', {'pending': {}})], start)
    [job] = storage.claim_jobs('w1', 1, start, start + dt.timedelta(minutes=5))
    env.commit()
    renewed = start + dt.timedelta(minutes=9)
    assert storage.renew_job(job_id, 'w2', renewed) is False
    assert storage.renew_job(job_id, 'w1', renewed) is True
    env.commit()
    later_on = start + dt.timedelta(minutes=6)  # past the claim's lease, not the renewed one
    assert storage.claim_jobs('w2', 1, later_on, later_on) == []
    [kept] = storage.jobs(None, None)
    assert (kept.available_at, kept.owner, kept.attempts) == (renewed, 'w1', 1)


@pytest.mark.parametrize('backend', ['sqlite', 'postgresql'])  # MongoDB has no rollback
def test_a_rolled_back_request_sends_no_mail(backend):
    with support.smtp_server() as (mailbox, smtp_port):
        env = harness.build_app(
            backend,
            blueprint=support.smtp_config(smtp_port),
            email_address_attribute='user_name',
            subscription_backends={'email': 'activitystream.subscriptions.backends.EmailBackend'},
        )
        doc, alice = env.document('Plan'), env.user('alice')
        subscriptions.subscribe(env.user('bob@example.com'), doc)
        env.commit()
        subscriptions.emit('kept', subscribers_of=doc, actor=alice)
        env.commit()  # the inline runner sends it now
        subscriptions.emit('rolled back', subscribers_of=doc, actor=alice)
        env.clear_session()  # the request failed: its transaction is rolled back
        assert delivery.drain().jobs == 0
        assert [(m['To'], m['Subject']) for m in mailbox.messages] == [('bob@example.com', 'kept')]
