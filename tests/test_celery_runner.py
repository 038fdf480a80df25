"""The ``celery`` runner with real worker processes on RabbitMQ (once Redis), PostgreSQL and SMTP.

Each test builds the sample app in this process (the web side: its requests
only queue work) and writes an ini of the same site, from which the worker
processes it starts (``gearbox activitystream-worker``) build their own; both
share a new PostgreSQL database. Mails are counted at a real SMTP server.
"""

import contextlib
import json
import os
import signal
import statistics
import subprocess
import sys
import time
import uuid
from importlib.metadata import entry_points
from pathlib import Path

import pytest
import transaction
from celery import Celery

from activitystream import ConfigurationError, model
from activitystream.delivery import celery as celery_runner
from activitystream.delivery import stop_workers
from activitystream.delivery.command import WorkerCommand

from . import celery_site, harness
from . import subscription_support as support
from .test_outbox import SilentSMTP
from .test_sample_app import PASSWORD, browser

ROOT = Path(__file__).parent.parent
GEARBOX = Path(sys.executable).parent / 'gearbox'
BROKERS = {
    'rabbitmq': os.environ.get('ACTIVITYSTREAM_AMQP_URL', 'amqp://guest:guest@127.0.0.1:5672//'),
    'redis': os.environ.get('ACTIVITYSTREAM_CELERY_REDIS_URL', 'redis://127.0.0.1:6379/13'),
}
HOST_CELERY = Celery('host', broker=BROKERS['rabbitmq'], set_as_current=False)


def test_gearbox_finds_the_worker_command():
    [worker] = entry_points(group='gearbox.commands', name='activitystream-worker')
    assert worker.load() is WorkerCommand


def test_celery_options_are_checked_at_plug_time():
    def refused(match, **options):
        with pytest.raises(ConfigurationError, match=match):
            harness.build_app('sqlite', delivery_runner='celery', **options)

    refused(r'celery_app \(your Celery app or its dotted path\) or celery_broker_url')
    refused(r"celery_app: cannot import 'tests.nowhere:app'", celery_app='tests.nowhere:app')
    refused('celery_app must be a Celery app', celery_app=object())
    refused('celery_broker_url cannot go with celery_app', celery_app=HOST_CELERY, **_url())
    refused('celery_broker_url must be a broker URL', celery_broker_url='rabbit')
    refused('celery_queue must be a queue name', celery_queue=' ', **_url())


def _url():
    return {'celery_broker_url': BROKERS['rabbitmq']}


def test_the_hosts_celery_app_by_its_dotted_path_gets_the_drain_task():
    harness.build_app(
        'sqlite', delivery_runner='celery', celery_app='tests.test_celery_runner:HOST_CELERY'
    )
    assert model.options()['celery_app'] is HOST_CELERY
    assert celery_runner.celery_app() is HOST_CELERY
    task = HOST_CELERY.tasks[celery_runner.TASK]
    assert (task.acks_late, task.reject_on_worker_lost, task.max_retries) == (True, True, 3)


def test_a_worker_needs_a_site_of_the_celery_runner():
    harness.build_app('sqlite')  # inline
    with pytest.raises(ConfigurationError, match="delivery_runner is 'inline'"):
        celery_runner.run_worker([])


@pytest.fixture(scope='module')
def database():
    """A new PostgreSQL database for the sample app's tables, shared with the workers."""
    url = harness.new_postgresql_database(f'activitystream_celery_{os.getpid()}')
    yield url
    from sampleapp import model as site_model

    transaction.abort()  # this process's last session ends before its database does
    site_model.DBSession.remove()
    harness.drop_postgresql_database(url)


@pytest.fixture
def queues():
    """(broker URL, queue) pairs a test used: deleted from their broker afterwards."""
    import redis
    from kombu import Connection

    used = []
    yield used
    stop_workers(timeout=1)  # this process's sending thread: no late drain declares one again
    for url, queue in used:
        if url.startswith('redis://'):
            client = redis.Redis.from_url(url)
            client.delete(queue, *client.scan_iter(match=f'_kombu.*.{queue}'))
            for tag, kept in client.hscan_iter('unacked'):  # a killed worker's messages
                if json.loads(kept)[-1] == queue:  # [message, exchange, routing key]
                    client.hdel('unacked', tag)
                    client.zrem('unacked_index', tag)
            client.close()
        else:
            with Connection(url) as connection:
                connection.default_channel.queue_delete(queue)


def broker(name):
    """The URL of a running broker, or skip (fail under CI=true)."""
    from kombu import Connection

    url = BROKERS[name]
    try:
        with Connection(url, connect_timeout=2) as connection:
            connection.ensure_connection(max_retries=1)
    except Exception as exc:  # noqa: BLE001 - whatever the transport says, it is not there
        harness._unavailable(name, exc)
    return url


class Site:
    """The sample app on the celery runner: its WSGI app here, its ini for the workers."""

    def __init__(self, here, database, smtp, broker, queues, web_broker=None, **plug):
        import sampleapp.config.app_cfg as app_cfg
        from sampleapp import model as site_model

        queue = f'activitystream-test-{uuid.uuid4().hex[:8]}'
        queues.extend([(broker, queue), (broker, f'{queue}.low')])  # one per priority
        plug = dict(
            delivery_runner='celery',
            celery_broker_url=broker,
            celery_queue=queue,
            delivery_poll=1,
            **plug,
        )
        settings = {
            'sampleapp.backend': 'sqlalchemy',
            'sqlalchemy.url': database,
            'sa_auth.cookie_secret': 't',
            'cache_dir': str(here),
            'sampleapp.redis_prefix': plug.get('redis_prefix', f'{support.REDIS_PREFIX}:celery'),
            **support.smtp_config(smtp),
        }
        self.ini = here / 'site.ini'
        lines = [f'{k} = {v}' for k, v in settings.items()]
        lines.append(f'{celery_site.SETTING} = {json.dumps(plug)}')
        factory = 'use = call:tests.celery_site:make_app'
        self.ini.write_text('\n'.join(['[app:main]', factory, *lines]))

        harness.reset_tg()
        if hasattr(site_model, 'DBSession'):  # the last site's session, bound to its engine
            site_model.DBSession.remove()
        cfg = app_cfg.make_base_config()
        celery_site.configure(cfg, dict(plug, celery_broker_url=web_broker or broker))
        self.wsgi = cfg.make_wsgi_app({}, settings)
        harness._state['cached'] = None  # the harness's cached app belongs to the old TG config
        self.model = site_model
        site_model.create_schema()
        with site_model.DBSession.get_bind().begin() as conn:
            for table in reversed(site_model.metadata.sorted_tables):
                conn.execute(table.delete())

    def user(self, name, password=None, email=True):
        user = self.model.User(
            user_name=name, email_address=f'{name}@example.org' if email else None
        )
        if password:
            user.set_password(password)
        self.model.DBSession.add(user)
        return user

    def post(self, subscribers, email=True):
        """A new post and ``subscribers`` more subscribers: its path, and who gets mail.

        Its author (subscribed by posting) and subscribers have addresses, or
        with ``email=False`` none of them has one.
        """
        from sampleapp.lib import social

        from activitystream import subscriptions

        people = [self.user(f'r{uuid.uuid4().hex[:12]}', email=email) for _ in range(subscribers)]
        post = social.publish(people[0], f'Party {uuid.uuid4().hex[:6]}')
        for person in people[1:]:
            subscriptions.subscribe(person, post)
        path = f'/posts/{post.id}'
        addresses = {p.email_address for p in people if email}
        transaction.commit()
        return path, addresses


def commenter(site):
    site.user('bob', PASSWORD)
    transaction.commit()
    return browser(site.wsgi, 'bob')


def comment(bob, path, text='Count me in'):
    """Bob's comment, posted through the post's form: (the response, seconds it took)."""
    form = bob.get(path).forms['comment']
    form['text'] = text
    started = time.perf_counter()
    response = form.submit(status=302)
    return response, time.perf_counter() - started


def pending_kinds():
    transaction.abort()  # read what the workers committed
    return [job.kind for job in model.storage().jobs(False, None)]


def addressees(mailbox):
    return {m['To'] for m in list(mailbox.messages)}


def all_mailed(mailbox, addresses):
    """Whether every address got its mail (headers parsed only once there are enough mails)."""
    return len(mailbox.messages) >= len(addresses) and addressees(mailbox) == addresses


def wait_until(condition, seconds, what):
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f'{what}: not within {seconds} s')
        time.sleep(0.1)


def stop(process):
    """Stop a worker by its pid (terminate, then kill), and its pool processes with it."""
    if process.poll() is None:
        process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(3)  # or it is killed: at-least-once delivery makes that safe
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)  # its own process group (start_new_session)
    process.wait()


@contextlib.contextmanager
def worker(site, name='worker', queues=()):
    """``gearbox activitystream-worker`` of the site, two pool processes, while the block runs.

    It listens to ``queues`` (Celery queue names) only, when given.
    """
    arguments = [GEARBOX, 'activitystream-worker', '-c', str(site.ini), '--']
    arguments += ['--queues', ','.join(queues)] if queues else []
    arguments += ['--concurrency', '2', '--loglevel', 'INFO', '--hostname', f'{name}@%h']
    arguments += ['--without-gossip', '--without-mingle', '--without-heartbeat']
    environment = dict(os.environ, PYTHONPATH=str(ROOT))
    with open(site.ini.parent / f'{name}.log', 'w') as log:
        process = subprocess.Popen(
            arguments,
            cwd=ROOT,
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            yield process
        finally:
            stop(process)


@pytest.mark.parametrize('name', ['rabbitmq', 'redis'])
def test_the_request_queues_and_a_worker_delivers(name, tmp_path, database, queues):
    url = broker(name)
    with support.smtp_server() as (mailbox, port):
        site = Site(tmp_path, database, port, url, queues)
        bob = commenter(site)
        path, addresses = site.post(20)
        comment(bob, path)
        assert 'emit' in pending_kinds() and mailbox.messages == []  # queued, nothing sent
        with worker(site):
            wait_until(lambda: all_mailed(mailbox, addresses), 20, 'the first comment')
            comment(bob, path, 'And a cake')  # now with the worker running
            wait_until(lambda: len(mailbox.messages) >= 2 * 20, 20, 'the second comment')
        assert pending_kinds() == [] and len(mailbox.messages) == 2 * 20


def test_a_worker_killed_mid_emit_loses_no_mail(tmp_path, database, queues):
    with support.smtp_server(mailbox=support.Headers()) as (mailbox, port):
        url = broker('rabbitmq')
        site = Site(tmp_path, database, port, url, queues, emit_page_size=50, delivery_lease=3)
        bob = commenter(site)
        path, addresses = site.post(2000)
        with worker(site, 'first') as first:
            comment(bob, path)
            wait_until(lambda: len(mailbox.messages) >= 200, 30, 'the first mails')
            os.killpg(first.pid, signal.SIGKILL)  # the worker and its pool processes, mid-job
            first.wait()
        killed_at = len(mailbox.messages)
        assert killed_at < len(addresses) and pending_kinds()  # work was left
        with worker(site, 'second'):
            wait_until(lambda: all_mailed(mailbox, addresses), 40, 'every mail')
    ids = {}
    for message in mailbox.messages:
        ids.setdefault(message['To'], set()).add(message['Message-ID'])
    assert len(ids) == 2000 and all(len(found) == 1 for found in ids.values())
    print(f'killed at {killed_at} mails; {len(mailbox.messages) - 2000} sent twice')


def test_a_mute_smtp_server_never_slows_a_request(tmp_path, database, queues):
    silent = SilentSMTP()
    try:
        site = Site(tmp_path, database, silent.port, broker('rabbitmq'), queues)
        bob = commenter(site)
        mailed, _ = site.post(5)
        unmailed, _ = site.post(5, email=False)
        with worker(site):
            times = {mailed: [], unmailed: []}
            for _ in range(4):
                for path, took in times.items():
                    took.append(comment(bob, path)[1])
            with_mail, without = (statistics.median(times[p]) for p in (mailed, unmailed))
            assert with_mail < 1.5 * without + 0.05, times  # inline, each would wait 5 s
            silent.listener.settimeout(10)
            connection, _ = silent.listener.accept()  # the worker did try, meanwhile
            connection.close()
    finally:
        silent.close()


def test_an_unreachable_broker_fails_no_request_and_loses_nothing(tmp_path, database, queues):
    mute = SilentSMTP()  # a broker that accepts connections and never answers: worse than down
    try:
        with support.smtp_server() as (mailbox, port):
            down = f'amqp://guest:guest@127.0.0.1:{mute.port}//'
            site = Site(tmp_path, database, port, broker('rabbitmq'), queues, web_broker=down)
            bob = commenter(site)
            path, addresses = site.post(10)
            _, took = comment(bob, path)
            assert took < 1  # sending in the request would wait out the connect timeout (4 s)
            assert 'emit' in pending_kinds() and mailbox.messages == []
            with worker(site):  # on the broker that is up: it looks at the outbox when it starts
                wait_until(lambda: all_mailed(mailbox, addresses), 20, 'the mails')
    finally:
        stop_workers(timeout=0.1)  # this process's sending thread, waiting for the mute broker
        mute.close()


def test_fan_out_chunks_wait_in_their_priority_queue_for_its_workers(tmp_path, database, queues):
    from activitystream import am
    from activitystream.feeds.entries import member_of

    from . import celery_feeds

    redis = support.redis_client()
    prefix = f'{support.REDIS_PREFIX}:celery-feeds:{uuid.uuid4().hex[:8]}'
    site = Site(
        tmp_path,
        database,
        1,  # no mail is sent
        broker('rabbitmq'),
        queues,
        feed_manager='tests.celery_feeds:Followers',
        redis_url=support.REDIS_URL,
        redis_prefix=prefix,
    )
    high_queue, low_queue = (queue for _, queue in queues[-2:])
    timelines = [celery_feeds.Timeline(user) for user in celery_feeds.HIGH + celery_feeds.LOW]
    pipe = redis.pipeline(transaction=False)
    for feed in timelines:  # every follower read the site lately
        pipe.set(feed.built_key, 1)
    pipe.execute()
    try:
        member = member_of(am.create(site.user('alice'), 'joined').id)  # public: fanned out
        transaction.commit()

        def written(feeds):
            pipe = redis.pipeline(transaction=False)
            for feed in feeds:
                pipe.zscore(feed.key, member)
            return [score is not None for score in pipe.execute()]

        from activitystream import delivery

        assert delivery.drain(limit=2, priority='high').done == 2  # the push, the fan-out
        assert sorted(pending_kinds()) == ['feed'] * 3  # 2 HIGH chunks, 1 LOW
        with worker(site, 'low', queues=[low_queue]):
            wait_until(lambda: all(written(timelines[2000:])), 30, 'the LOW followers')
            time.sleep(1)  # a while for a HIGH chunk to be done, were it done by mistake
            assert not any(written(timelines[:2000])) and pending_kinds() == ['feed'] * 2
        with worker(site, 'high', queues=[high_queue]):
            wait_until(lambda: all(written(timelines[:2000])), 30, 'the HIGH followers')
        assert pending_kinds() == []
    finally:
        support.drop_redis_keys(redis, prefix)
