"""``python -m bench.purge``: retention on PostgreSQL while the inbox is read (issue 11).

The seed dataset is loaded once into a template database of its own (with a
share of the deliveries marked read or dismissed, written in SQL in the rows
``am.mark_read`` and ``am.dismiss`` leave); each purge (``--repeat`` per batch
size) runs on a fresh copy of it (``CREATE DATABASE ... TEMPLATE``), so every
one starts from the same rows. The cutoff falls between two activities, where the oldest
``--share`` of the deliveries ends.

Three processes per run: this one, a reader asking Q1 (the latest 10) and Q2
(the unseen count) for random users without a pause, and a purger. The reader
first samples a baseline while nothing else runs; then the purger calls
``am.purge`` (each batch its own transaction; every transaction and statement
timed through engine events), and afterwards checks that exactly what was
older than the cutoff went. Latencies during the purge are the reader's
samples between its start and its end.
"""

import argparse
import json
import os
import pathlib
import re
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone

from .common import PG_URL, ROOT, machine, stats, table
from .dataset import SEED, SIZES

RESULTS = ROOT / 'bench' / 'results'
KINDS = ('actions', 'deliveries', 'dismissals', 'read_marks')
TABLES = {
    'actions': 'activitystream_actions',
    'deliveries': 'activitystream_deliveries',
    'dismissals': 'activitystream_dismissals',
    'read_marks': 'activitystream_reads',
}
POLL_S = 0.05


def parse(argv):
    p = argparse.ArgumentParser(prog='python -m bench.purge', description=__doc__)
    p.add_argument('--size', choices=list(SIZES), default='seed')
    p.add_argument('--batches', default='500,5000', help='batch sizes, one run each')
    p.add_argument('--share', type=float, default=0.10, help='share of the deliveries purged')
    p.add_argument('--read-share', type=float, default=0.02, help='deliveries also marked read')
    p.add_argument('--dismiss-share', type=float, default=0.002, help='deliveries dismissed')
    p.add_argument('--users', type=int, default=1000, help='random users the reader cycles over')
    p.add_argument('--baseline', type=float, default=15, help='seconds of reads before a purge')
    p.add_argument('--repeat', type=int, default=5, help='purges of a fresh copy per batch size')
    p.add_argument('--database', default='activitystream_bench_purge', help='name prefix')
    p.add_argument('--reload', action='store_true', help='load the template even if it matches')
    p.add_argument('--out', type=pathlib.Path, default=RESULTS, help='purge.json + purge.md here')
    p.add_argument('--worker', choices=('load', 'read', 'purge'), help=argparse.SUPPRESS)
    p.add_argument('--job', type=pathlib.Path, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    try:
        args.batches = [int(b) for b in args.batches.split(',')]
    except ValueError:
        p.error(f'--batches must be integers separated by commas, got {args.batches!r}')
    if args.repeat < 1:
        p.error(f'--repeat must be at least 1, got {args.repeat}')
    if not 0 < args.share < 1:
        p.error(f'--share must lie between 0 and 1, got {args.share}')
    return args


# -- databases ------------------------------------------------------------------


def _admin():
    import sqlalchemy as sa

    return sa.create_engine(PG_URL, isolation_level='AUTOCOMMIT')


def _url(name):
    return PG_URL.rsplit('/', 1)[0] + '/' + name


def copy_database(template, name):
    """A fresh ``name``, a file copy of ``template``: every run starts from the same rows."""
    import sqlalchemy as sa

    admin = _admin()
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS {name} WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE {name} TEMPLATE {template}'))
    admin.dispose()


def drop_database(name):
    import sqlalchemy as sa

    admin = _admin()
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS {name} WITH (FORCE)'))
    admin.dispose()


def template_meta(name):
    """The bench_meta row of database ``name``, or None (missing, or loaded half-way)."""
    import sqlalchemy as sa

    admin = _admin()
    with admin.connect() as conn:
        found = conn.execute(sa.text('SELECT 1 FROM pg_database WHERE datname = :n'), {'n': name})
        exists = found.first() is not None
    admin.dispose()
    if not exists:
        return None
    engine = sa.create_engine(_url(name))
    try:
        with engine.connect() as conn:
            if not sa.inspect(conn).has_table('bench_meta'):
                return None
            row = conn.execute(sa.text("SELECT value FROM bench_meta WHERE key = 'dataset'"))
            row = row.first()
    finally:
        engine.dispose()
    return None if row is None else json.loads(row[0])


def counts(conn, cutoff=None):
    """Rows per kind in the tables, or (with ``cutoff``) those older than it."""
    import sqlalchemy as sa

    where, params = ('', {}) if cutoff is None else (' WHERE timestamp < :c', {'c': cutoff})
    return {
        kind: conn.execute(sa.text(f'SELECT count(*) FROM {t}{where}'), params).scalar()
        for kind, t in TABLES.items()
    }


# -- the cutoff -------------------------------------------------------------------


def choose_cutoff(data, share):
    """(cutoff, deliveries older): between two activities, where ``share`` of deliveries ends.

    Halfway between two activity timestamps, so that the milliseconds
    between choosing ``older_than`` and the purge's own clock move nothing.
    """
    import numpy as np

    per_action = np.where(data.act_broadcast, 0, data.follower_counts()[data.act_actor])
    older = np.cumsum(per_action)  # activities are oldest first
    k = int(np.searchsorted(older, share * older[-1]))
    while k + 1 < data.n_activities and data.act_ms[k + 1] == data.act_ms[k]:
        k += 1
    ms = (int(data.act_ms[k]) + int(data.act_ms[k + 1])) / 2  # ms before END, older is larger
    return data.timestamp(0) - timedelta(milliseconds=ms), int(older[k]), k + 1


# -- workers ------------------------------------------------------------------------


# the deliveries with their recipients' (type, id), as the read marks and dismissals keep them
NAMED_DELIVERIES = (
    '(SELECT d.*, r.recipient_type, r.recipient_id FROM activitystream_deliveries AS d '
    'JOIN activitystream_recipients AS r ON r.id = d.recipient_key) AS named'
)


def _sample(every, salt):
    """A deterministic share (1 in ``every``) of the deliveries, in SQL."""
    return f'(action_id * {salt} + recipient_key) % {every} = {salt % every}'


def load_worker(job):
    """Load the dataset into the template, mark some deliveries read, dismiss some; analyze."""
    import sqlalchemy as sa

    from .dataset import generate, load
    from .host import build_app

    host = build_app('postgresql', job['size'], database=job['template'])
    data = generate(job['size'])
    meta = load(host, data)
    marked = dismissed = 0
    with host.engine.begin() as conn:
        if job['read_every']:
            marked = conn.execute(sa.text(
                'INSERT INTO activitystream_reads (recipient_type, recipient_id, action_id, '
                'timestamp) SELECT recipient_type, recipient_id, action_id, timestamp '
                f'FROM {NAMED_DELIVERIES} WHERE {_sample(job["read_every"], 7)}'
            )).rowcount  # fmt: skip
        if job['dismiss_every']:
            where = _sample(job['dismiss_every'], 13)
            dismissed = conn.execute(sa.text(
                'INSERT INTO activitystream_dismissals (recipient_type, recipient_id, broadcast, '
                'timestamp, action_id) SELECT recipient_type, recipient_id, false, timestamp, '
                f'action_id FROM {NAMED_DELIVERIES} WHERE {where}'
            )).rowcount  # fmt: skip
            conn.execute(sa.text(f'DELETE FROM activitystream_deliveries WHERE {where}'))
    with host.engine.connect().execution_options(isolation_level='AUTOCOMMIT') as conn:
        conn.execute(sa.text('VACUUM ANALYZE'))
    meta.update(key=job['key'], read_marks=marked, dismissed=dismissed)
    host.write_meta(meta)
    host.close()


def _wait_for(path, timeout_s=3600):
    started = time.monotonic()
    while not path.exists():
        if time.monotonic() - started > timeout_s:
            raise TimeoutError(f'{path} did not appear')
        time.sleep(POLL_S)


def read_worker(job):
    """Q1 and Q2 for random users, one after the other, until told to stop: (t, q1, q2) each."""
    import numpy as np

    from activitystream import am

    from .dataset import entities
    from .host import build_app

    host = build_app('postgresql', job['size'], database=job['database'])
    users, _ = entities(host)
    picked = np.random.default_rng(job['seed']).choice(len(users), job['users'], replace=False)
    picked = [users[int(i)] for i in picked]

    def ask(user):
        t0 = time.perf_counter()
        am.get_by_recipient(user).limit(10).all()
        t1 = time.perf_counter()
        am.count_not_seen_by_recipient(user)
        t2 = time.perf_counter()
        host.abort()  # a request's end: no transaction stays open between samples
        return (t1 - t0) * 1000, (t2 - t1) * 1000

    for user in picked:  # warm-up: both phases then read from the same cache state
        ask(user)
    job['ready'].touch()
    samples, stop, n = [], job['stop'], 0
    while not stop.exists():
        user = picked[n % len(picked)]
        q1, q2 = ask(user)
        samples.append((time.monotonic(), q1, q2))
        n += 1
    job['samples'].write_text(json.dumps(samples))
    host.close()


class Timings:
    """The transactions and statements of this thread on an engine, timed.

    This thread's only: the site's outbox runner polls on a thread of its own.
    """

    def __init__(self, engine):
        from sqlalchemy import event

        self.transactions, self.statements, self._begun = [], {}, {}
        self._thread = threading.get_ident()
        self._engine, self._listeners = engine, []
        for name, fn in (
            ('begin', self._begin), ('commit', self._end), ('rollback', self._end),
            ('before_cursor_execute', self._before), ('after_cursor_execute', self._after),
        ):  # fmt: skip
            event.listen(engine, name, fn)
            self._listeners.append((name, fn))

    def _begin(self, conn):
        if threading.get_ident() == self._thread:
            self._begun[id(conn)] = time.perf_counter()

    def _end(self, conn):
        started = self._begun.pop(id(conn), None)
        if started is not None:
            self.transactions.append((time.perf_counter() - started) * 1000)

    def _before(self, conn, cursor, statement, parameters, context, executemany):
        if threading.get_ident() == self._thread:
            conn.info['t0'] = time.perf_counter()

    def _after(self, conn, cursor, statement, parameters, context, executemany):
        if 't0' not in conn.info:
            return
        ms = (time.perf_counter() - conn.info.pop('t0')) * 1000
        found = re.match(r'\s*(\w+).*?\b(?:FROM|INTO)\s+(\w+)', statement, re.S | re.I)
        label = ' '.join(found.groups()) if found else statement.split()[0]
        entry = self.statements.setdefault(label, {'n': 0, 'total_s': 0.0, 'max_ms': 0.0})
        entry['n'] += 1
        entry['total_s'] += ms / 1000
        entry['max_ms'] = max(entry['max_ms'], ms)

    def close(self):
        from sqlalchemy import event

        for name, fn in self._listeners:
            event.remove(self._engine, name, fn)


def purge_worker(job):
    """Count, wait for the go, purge, verify: exactly what was older than the cutoff went."""
    from activitystream import am

    from .host import build_app

    host = build_app('postgresql', job['size'], database=job['database'])
    cutoff = datetime.fromisoformat(job['cutoff'])
    with host.engine.connect() as conn:
        before, older = counts(conn), counts(conn, cutoff)
    out = {'before': before, 'expected_removed': older}
    out['expected_left'] = {k: before[k] - older[k] for k in KINDS}
    job['ready'].touch()
    _wait_for(job['go'])
    timings = Timings(host.engine)
    older_than = datetime.now(timezone.utc) - cutoff.replace(tzinfo=timezone.utc)
    out['started'] = time.monotonic()
    removed = am.purge(older_than, batch=job['batch'])
    out['ended'] = time.monotonic()
    timings.close()
    out['duration_s'] = out['ended'] - out['started']
    out['removed'] = removed
    out['transactions_ms'] = timings.transactions
    out['statements'] = timings.statements
    with host.engine.connect() as conn:
        out['left'] = counts(conn)
        out['left_older'] = counts(conn, cutoff)
    out['verified'] = (
        removed == out['expected_removed']
        and out['left'] == out['expected_left']
        and not any(out['left_older'].values())
    )
    job['result'].write_text(json.dumps(out, default=str))
    host.close()
    if not out['verified']:
        sys.exit(f'purge left the wrong rows: {json.dumps(out, default=str)}')


# -- the run ------------------------------------------------------------------------


def _spawn(role, job, path):
    path.write_text(json.dumps(job, default=str))
    cmd = [sys.executable, '-m', 'bench.purge', '--worker', role, '--job', str(path)]
    return subprocess.Popen(cmd, cwd=ROOT)


def _check(proc, role):
    if proc.poll() not in (None, 0):
        raise RuntimeError(f'bench.purge: the {role} process failed ({proc.returncode})')


def _await(path, *procs):
    while not path.exists():
        for proc, role in procs:
            _check(proc, role)
        time.sleep(POLL_S)


def ensure_template(args, data, work):
    """The loaded template database (loaded now unless one with the same rows is there)."""
    from activitystream.storage.sqla.schema import DeclarativeBase

    template = f'{args.database}_{args.size}_loaded'
    tables = DeclarativeBase.metadata.sorted_tables
    key = {
        **{k: data.summary()[k] for k in ('seed', 'size', 'deliveries')},
        # today's indexes: a template made by an older create_all is loaded again
        'indexes': sorted(i.name for t in tables for i in t.indexes),
        'read_every': round(1 / args.read_share) if args.read_share else 0,
        'dismiss_every': round(1 / args.dismiss_share) if args.dismiss_share else 0,
    }
    meta = None if args.reload else template_meta(template)
    if meta is not None and meta.get('key') == key:
        print(f'[purge] reusing {template}', flush=True)
        return template, meta, False
    drop_database(template)
    print(f'[purge] loading {args.size} into {template}', flush=True)
    job = dict(key=key, size=args.size, template=template, read_every=key['read_every'],
               dismiss_every=key['dismiss_every'])  # fmt: skip
    proc = _spawn('load', job, work / 'load.json')
    if proc.wait() != 0:
        raise RuntimeError('bench.purge: the load failed')
    return template, template_meta(template), True


def run_once(args, template, cutoff, batch, work):
    """One purge of a fresh copy at ``batch``, the reader running: its figures."""
    database = f'{args.database}_{args.size}'
    t0 = time.perf_counter()
    copy_database(template, database)
    copied_s = time.perf_counter() - t0
    files = {n: work / f'{batch}-{n}' for n in ('ready', 'go', 'result', 'samples', 'stop')}
    files['reader-ready'] = work / f'{batch}-reader-ready'
    for path in files.values():
        path.unlink(missing_ok=True)
    common = dict(size=args.size, database=database)
    purger = _spawn(
        'purge',
        dict(common, batch=batch, cutoff=cutoff.isoformat(), ready=files['ready'],
             go=files['go'], result=files['result']),
        work / f'{batch}-purge.json',
    )  # fmt: skip
    _await(files['ready'], (purger, 'purger'))  # its counts before: nothing else runs yet
    reader = _spawn(
        'read',
        dict(common, users=args.users, seed=SEED, ready=files['reader-ready'],
             stop=files['stop'], samples=files['samples']),
        work / f'{batch}-read.json',
    )  # fmt: skip
    _await(files['reader-ready'], (reader, 'reader'))
    baseline_from = time.monotonic()
    load_start = os.getloadavg()
    time.sleep(args.baseline)
    files['go'].touch()
    _await(files['result'], (purger, 'purger'), (reader, 'reader'))
    files['stop'].touch()
    if purger.wait() != 0 or reader.wait() != 0:
        raise RuntimeError('bench.purge: a worker failed')
    purged = json.loads(files['result'].read_text())
    samples = json.loads(files['samples'].read_text())
    drop_database(database)

    def phase(start, end):
        return [s[1:] for s in samples if start <= s[0] <= end]

    return {
        'copy_s': copied_s,
        'loadavg': [load_start, os.getloadavg()],
        **purged,
        'baseline': phase(baseline_from, purged['started']),
        'during': phase(purged['started'], purged['ended']),
    }


def _phase(samples):
    return {q: stats([s[i] for s in samples]) if samples else None for i, q in enumerate(KEYS)}


KEYS = ('q1', 'q2')
SAME = ('before', 'expected_removed', 'expected_left', 'removed', 'left', 'left_older')


def combine(batch, runs):
    """One batch size's figures over its repeats: durations, pooled transactions and reads."""
    first = runs[0]
    if any(r[k] != first[k] for r in runs for k in SAME):  # copies of one template
        raise RuntimeError(f'bench.purge: repeats of batch {batch} removed different rows')
    durations = sorted(r['duration_s'] for r in runs)
    median = durations[len(durations) // 2]
    transactions = [ms for r in runs for ms in r['transactions_ms']]
    removed = first['removed']
    return {
        'batch': batch,
        **{k: first[k] for k in SAME},
        'repeats': len(runs),
        'verified': all(r['verified'] for r in runs),
        'durations_s': [r['duration_s'] for r in runs],
        'duration_s': median,
        'deliveries_per_s': removed['deliveries'] / median,
        'actions_per_s': removed['actions'] / median,
        'transactions': {
            'n': len(transactions),
            'longest_ms': max(transactions),
            **{k: v for k, v in stats(transactions).items() if k in ('p50', 'p99', 'mean')},
        },
        'statements': first['statements'],  # of the first repeat
        'copy_s': [r['copy_s'] for r in runs],
        'loadavg_at_start': runs[0]['loadavg'][0],
        'loadavg_at_end': runs[-1]['loadavg'][1],
        'baseline': _phase([s for r in runs for s in r['baseline']]),
        'during': _phase([s for r in runs for s in r['during']]),
    }


def main(argv=None):
    args = parse(argv)
    if args.worker:
        job = json.loads(args.job.read_text())
        job.update({k: pathlib.Path(v) for k, v in job.items() if k in PATHS})
        return {'load': load_worker, 'read': read_worker, 'purge': purge_worker}[args.worker](job)
    from .dataset import generate

    started = time.perf_counter()
    work = args.out / 'runs' / 'purge'
    work.mkdir(parents=True, exist_ok=True)
    data = generate(args.size)
    t0 = time.perf_counter()
    template, meta, loaded = ensure_template(args, data, work)
    cutoff, older, acts = choose_cutoff(data, args.share)
    out = {
        'args': {k: v for k, v in vars(args).items() if k not in ('worker', 'job', 'out')},
        'machine': machine(),
        'loadavg_at_start': os.getloadavg(),
        'dataset': meta,
        'loaded_now': loaded,
        'load_s': time.perf_counter() - t0 if loaded else meta['load']['total_s'],
        'cutoff': cutoff.isoformat(),
        'cutoff_dataset': {'activities_older': acts, 'deliveries_older': older},
        'runs': [],
    }
    print(f'[purge] cutoff {cutoff}: {acts} activities, {older} deliveries older', flush=True)
    for batch in args.batches:
        print(f'[purge] batch {batch}', flush=True)
        run = combine(batch, [run_once(args, template, cutoff, batch, work)
                              for _ in range(args.repeat)])  # fmt: skip
        # the dataset's own count of what is older, less the dismissed (no delivery now)
        dismissed = run['expected_removed']['dismissals']
        run['agrees_with_dataset'] = run['expected_removed']['deliveries'] + dismissed == older
        out['runs'].append(run)
        print(f'[purge] batch {batch}: {summary_line(run)}', flush=True)
    out['loadavg_at_end'] = os.getloadavg()
    out['elapsed_s'] = time.perf_counter() - started
    (args.out / 'purge.json').write_text(json.dumps(out, indent=1, default=str))
    (args.out / 'purge.md').write_text(report(out))
    return out


PATHS = ('ready', 'go', 'result', 'samples', 'stop')


def summary_line(run):
    during, base = run['during'], run['baseline']
    return (
        f'{run["duration_s"]:.1f}s, {run["deliveries_per_s"]:,.0f} deliveries/s, '
        f'longest transaction {run["transactions"]["longest_ms"]:.0f} ms, '
        f'Q1 p99 {base["q1"]["p99"]:.1f} -> {during["q1"]["p99"]:.1f} ms, '
        f'verified {run["verified"]}'
    )


def _ms(value):
    return '-' if value is None else f'{value:.1f}'


def report(out):
    """purge.md: the figures of every run, the machine and the loads around them."""
    m, ds = out['machine'], out['dataset']
    lines = [
        '# Retention: `am.purge` on PostgreSQL while the inbox is read',
        '',
        f'`python -m bench.purge --size {out["args"]["size"]}` (`make bench-purge`), commit '
        f'{m["commit"]}{" (dirty)" if m["dirty"] else ""}; {m["cpu"]}, {m["cores"]} cores '
        f'(shared), {m["ram_gib"]} GiB, PostgreSQL {m["postgresql"]}, Python {m["python"]}. '
        f'Load average at start {_load(out["loadavg_at_start"])}, at end '
        f'{_load(out["loadavg_at_end"])}.',
        '',
        f'Dataset: {ds["users"]:,} users, {ds["activities"]:,} activities, '
        f'{ds["deliveries"]:,} deliveries as generated, {ds["read_marks"]:,} of them also '
        f'marked read and {ds["dismissed"]:,} dismissed; '
        + (f'loaded for this run in {out["load_s"]:.0f} s. ' if out['loaded_now'] else
           f'template loaded earlier (in {out["load_s"]:.0f} s) and copied per run. ')
        + f'{out["args"]["repeat"]} purges of a fresh copy per batch size. '
        f'Cutoff {out["cutoff"]}: the oldest {out["cutoff_dataset"]["activities_older"]:,} '
        f'activities and {out["cutoff_dataset"]["deliveries_older"]:,} deliveries '
        f'({out["args"]["share"]:.0%}).',
        '',
    ]  # fmt: skip
    rows = []
    for r in out['runs']:
        t = r['transactions']
        rows.append([
            r['batch'], f'{r["duration_s"]:.1f} ({_range(r["durations_s"])})',
            ' / '.join(f'{r["removed"][k]:,}' for k in KINDS),
            f'{r["deliveries_per_s"]:,.0f}', t['n'],
            f'{t["p50"]:.0f} / {t["p99"]:.0f} / {t["longest_ms"]:.0f}',
            'yes' if r['verified'] else '**no**',
        ])  # fmt: skip
    lines += [
        table(
            [
                'batch',
                'purge (s): median (range)',
                'removed: actions / deliveries / dismissals / read marks',
                'deliveries/s',
                'transactions',
                'transaction p50 / p99 / longest (ms)',
                'exact rows left',
            ],
            rows,
        ),  # fmt: skip
        '',
        'The reader, one process, Q1 then Q2 for random users without a pause; each repeat '
        'has a baseline and a purge, pooled here (ms; n samples):',
        '',
    ]
    rows = []
    for r in out['runs']:
        for q in ('q1', 'q2'):
            b, d = r['baseline'][q], r['during'][q]
            rows.append([
                r['batch'], q.upper(), b['n'], _ms(b['p50']), _ms(b['p99']),
                d['n'] if d else 0, _ms(d and d['p50']), _ms(d and d['p99']),
            ])  # fmt: skip
    lines += [
        table(
            [
                'batch',
                'query',
                'baseline n',
                'baseline p50',
                'baseline p99',
                'during n',
                'during p50',
                'during p99',
            ],
            rows,
        ),  # fmt: skip
        '',
        'Where the purge spends its time (the statements of the first repeat, by kind):',
        '',
    ]
    rows = []
    for r in out['runs']:
        for label, s in sorted(r['statements'].items(), key=lambda kv: -kv[1]['total_s']):
            rows.append([r['batch'], f'`{label}`', s['n'], f'{s["total_s"]:.2f}',
                         f'{s["max_ms"]:.1f}'])  # fmt: skip
    lines += [table(['batch', 'statement', 'n', 'total (s)', 'longest (ms)'], rows), '']
    loads = ', '.join(
        f'batch {r["batch"]}: {_load(r["loadavg_at_start"])} -> {_load(r["loadavg_at_end"])}'
        for r in out['runs']
    )
    lines += [f'Load average around each batch size: {loads}.', '']
    return '\n'.join(lines)


def _range(values):
    return f'{min(values):.1f}-{max(values):.1f}'


def _load(triple):
    return '/'.join(f'{x:.2f}' for x in triple)


if __name__ == '__main__':
    main()
