"""``python -m bench.delivery``: the ``celery`` runner's request time and delivery (issue 9).

1. The request: ``social.comment`` (a comment row, ``subscriptions.emit()``) and
   the commit, to posts of 10 to 100,000 subscribers, no worker running: the
   request only queues work, so its time must not grow with the audience.
2. Delivery: a 10,000-recipient emit (and a 1,000 one) from its commit to the
   last mail an SMTP sink accepts, with 1 and 2 worker processes
   (``gearbox activitystream-worker``, ``--concurrency 1`` each), and the
   workers' peak memory (VmHWM), which must not grow with the audience.

The site is the one of tests/test_celery_runner.py (imported from there: the
workers build it from its ini), on a PostgreSQL database of its own and
RabbitMQ; subscribers are inserted in bulk, in SQL.
"""

import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

import sqlalchemy as sa
import transaction

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # tests/ (the site and its helpers) and sample-app, as pytest does

from tests import harness  # noqa: E402
from tests import subscription_support as support  # noqa: E402
from tests.test_celery_runner import BROKERS, GEARBOX, Site, stop  # noqa: E402

RESULTS = ROOT / 'bench' / 'results' / 'delivery.json'
REQUEST_SIZES = (10, 1_000, 10_000, 100_000)
DELIVERY_RUNS = ((1_000, 1), (10_000, 1), (10_000, 2))  # (audience, worker processes)


class Sink(support.Headers):
    """The header-only mailbox, with the time the last mail was accepted."""

    last = None

    async def handle_DATA(self, server, session, envelope):
        answer = await super().handle_DATA(server, session, envelope)
        self.last = time.perf_counter()
        return answer


def audience(site, size, email=True):
    """A new post by a new author, and ``size`` more subscribers inserted in bulk: its id."""
    from sampleapp.lib import social

    author = site.user(f'a{uuid.uuid4().hex[:12]}')
    post = social.publish(author, f'Party {uuid.uuid4().hex[:6]}')
    site.model.DBSession.flush()
    author_id, post_id = author.user_id, post.id
    transaction.commit()
    prefix = f's{uuid.uuid4().hex[:8]}_'
    address = ":p || g || '@example.org'" if email else 'NULL'
    with site.model.DBSession.get_bind().begin() as conn:
        conn.execute(
            sa.text(
                f'INSERT INTO tg_user (user_name, email_address, created) '
                f'SELECT :p || g, {address}, now() FROM generate_series(1, :n) g'
            ),
            {'p': prefix, 'n': size},
        )
        # the author's own row (subscribed by posting) gives the refs' types and the post's id
        conn.execute(
            sa.text(
                'INSERT INTO activitystream_subscriptions (subscriber_type, subscriber_id, '
                'object_type, object_id, created) '
                'SELECT s.subscriber_type, u.user_id::text, s.object_type, s.object_id, now() '
                'FROM activitystream_subscriptions s, tg_user u '
                "WHERE s.subscriber_id = :author AND u.user_name LIKE :p || '%'"
            ),
            {'author': str(author_id), 'p': prefix},
        )
    return post_id


def comment(site, bob, post, text):
    """Bob's comment on the post of id ``post``, committed: what the request does."""
    from sampleapp.lib import social

    model = site.model
    bob, post = model.DBSession.get(model.User, bob), model.DBSession.get(model.Post, post)
    started = time.perf_counter()
    social.comment(bob, post, text)
    transaction.commit()
    return started, time.perf_counter() - started


def bob_id(site):
    """The commenter, who has no address: his id."""
    bob = site.user('bob', email=False)
    site.model.DBSession.flush()
    found = bob.user_id
    transaction.commit()
    return found


def request_times(site, bob, reps):
    """p50 (and all) seconds of comment + commit, per audience size."""

    warm = audience(site, 10)
    for i in range(3):
        comment(site, bob, warm, f'warm-up {i}')
    out = {}
    for size in REQUEST_SIZES:
        post = audience(site, size)
        took = []
        for i in range(reps):
            took.append(comment(site, bob, post, f'Count me in {i}')[1])
        out[size] = {'p50_ms': statistics.median(took) * 1000, 'ms': [t * 1000 for t in took]}
        print(f'request, {size:>7,} subscribers: p50 {out[size]["p50_ms"]:.1f} ms', flush=True)
    return out


def group_hwm_kib(leader):
    """VmHWM (KiB) of each live process of a worker's process group: {pid: KiB}."""
    found = {}
    for entry in pathlib.Path('/proc').iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if os.getpgid(int(entry.name)) != leader:
                continue
            status = (entry / 'status').read_text()
        except (ProcessLookupError, FileNotFoundError, PermissionError):
            continue
        for line in status.splitlines():
            if line.startswith('VmHWM:'):
                found[int(entry.name)] = int(line.split()[1])
    return found


def start_worker(site, name):
    """A worker of one pool process, its log in the site's directory: (process, log path)."""
    log = site.ini.parent / f'{name}.log'
    arguments = [GEARBOX, 'activitystream-worker', '-c', str(site.ini), '--']
    arguments += ['--concurrency', '1', '--loglevel', 'INFO', '--hostname', f'{name}@%h']
    arguments += ['--without-gossip', '--without-mingle', '--without-heartbeat']
    with open(log, 'w') as out:
        process = subprocess.Popen(
            arguments,
            cwd=ROOT,
            env=dict(os.environ, PYTHONPATH=str(ROOT)),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return process, log


def wait(condition, seconds, what, sample=lambda: None):
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f'{what}: not within {seconds} s')
        sample()
        time.sleep(0.05)


def delivery(here, database, size, workers, queues):
    """Seconds from the emit's commit to the last mail, and the workers' peak memory."""

    from activitystream.delivery import stop_workers

    sink = Sink()
    with support.smtp_server(mailbox=sink) as (_, port):
        site = Site(here, database, port, BROKERS['rabbitmq'], queues)
        bob = bob_id(site)
        post = audience(site, size)
        expected = size + 1  # and the post's author; bob, who comments, gets none
        started = [start_worker(site, f'w{size}x{workers}n{i}') for i in range(workers)]
        peaks = {}

        def sample():
            for process, _ in started:
                for pid, kib in group_hwm_kib(process.pid).items():
                    peaks[pid] = max(peaks.get(pid, 0), kib)

        try:
            ready = lambda: all('ready.' in log.read_text() for _, log in started)  # noqa: E731
            wait(ready, 60, 'the workers start')
            sample()
            at_ready = dict(peaks)
            begun, _ = comment(site, bob, post, 'Count me in')
            wait(lambda: len(sink.messages) >= expected, 600, 'every mail', sample)
            took = sink.last - begun
            sample()
        finally:
            for process, _ in started:
                stop(process)
            stop_workers(timeout=1)
    leaders = {process.pid for process, _ in started}
    result = {
        'audience': size,
        'workers': workers,
        'mails': len(sink.messages),
        'seconds_to_last_mail': took,
        'mails_per_s': len(sink.messages) / took,
        'peak_kib': {
            'main': max(v for p, v in peaks.items() if p in leaders),
            'pool': max(v for p, v in peaks.items() if p not in leaders),
            'pool_at_ready': max((v for p, v in at_ready.items() if p not in leaders), default=0),
        },
    }
    print(
        f'delivery, {size:,} recipients, {workers} worker(s): {took:.1f} s to the last mail '
        f'({result["mails_per_s"]:.0f}/s); peak MiB main {result["peak_kib"]["main"] / 1024:.0f}, '
        f'pool {result["peak_kib"]["pool"] / 1024:.0f} '
        f'(at ready {result["peak_kib"]["pool_at_ready"] / 1024:.0f})',
        flush=True,
    )
    return result


def delete_queues(queues):
    from kombu import Connection

    for url, queue in queues:
        with Connection(url) as connection:
            connection.default_channel.queue_delete(queue)


def main(argv=None):
    p = argparse.ArgumentParser(prog='python -m bench.delivery', description=__doc__)
    p.add_argument('--reps', type=int, default=9, help='requests per audience size')
    args = p.parse_args(argv)
    database = harness.new_postgresql_database(f'activitystream_bench_delivery_{os.getpid()}')
    queues = []
    started = time.monotonic()
    try:
        with tempfile.TemporaryDirectory() as here:
            here = pathlib.Path(here)
            site = Site(here, database, support.free_port(), BROKERS['rabbitmq'], queues)
            bob = bob_id(site)
            requests = request_times(site, bob, args.reps)
            runs = [delivery(here, database, size, n, queues) for size, n in DELIVERY_RUNS]
    finally:
        from sampleapp import model as site_model

        from activitystream.delivery import stop_workers

        stop_workers(timeout=1)
        transaction.abort()
        site_model.DBSession.remove()
        harness.drop_postgresql_database(database)
        delete_queues(queues)
    flat = requests[REQUEST_SIZES[-1]]['p50_ms'] / requests[REQUEST_SIZES[0]]['p50_ms']
    out = {
        'date': time.strftime('%Y-%m-%d'),
        'elapsed_s': time.monotonic() - started,
        'request': requests,
        'request_ratio_largest_to_smallest': flat,
        'delivery': runs,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(out, indent=1))
    print(f'request p50 at 100,000 / at 10: {flat:.2f}x; written {RESULTS.relative_to(ROOT)}')


if __name__ == '__main__':
    main()
