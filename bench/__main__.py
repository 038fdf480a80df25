"""``python -m bench``: load, measure, and write the report (see docs/benchmarks.md).

Each (backend, size) runs in its own process: TG's configuration is global to
a process, and a fresh process also starts every backend from the same state.
"""

import argparse
import json
import os
import pathlib
import subprocess
import sys
import time

from .dataset import SIZES

ROOT = pathlib.Path(__file__).resolve().parent.parent
RESULTS = ROOT / 'bench' / 'results'
BACKENDS = ('sqlite', 'postgresql', 'ming', 'mongodb')
SCALING_BACKENDS = ('sqlite', 'postgresql')


def parse(argv):
    p = argparse.ArgumentParser(prog='python -m bench', description=__doc__)
    p.add_argument('--size', choices=list(SIZES), default='seed')
    p.add_argument('--backends', default='sqlite,postgresql,ming')
    p.add_argument('--users', type=int, default=1000, help='users measured (fixed seed)')
    p.add_argument('--rounds', type=int, default=3, help='passes over the users per question')
    p.add_argument('--budget', type=float, default=120, help='seconds at most per question')
    p.add_argument(
        '--ming-size', choices=list(SIZES), help='size for ming on mim:// (default: tiny)'
    )
    p.add_argument('--skip-load', action='store_true', help='reuse a database loaded earlier')
    p.add_argument(
        '--database',
        help='PostgreSQL database name prefix (default activitystream_bench): <prefix>_<size>',
    )
    p.add_argument('--scaling', action='store_true', help='also Q1/Q2 at tiny, small and seed')
    p.add_argument('--report', help='Markdown output (default: docs/benchmarks.md at seed size)')
    p.add_argument(
        '--report-only', action='store_true', help="write the report from the last runs' JSON"
    )
    p.add_argument(
        '--results', type=pathlib.Path, default=RESULTS, help='where run JSON and reports go'
    )
    p.add_argument('--worker', nargs=3, metavar=('BACKEND', 'SIZE', 'MODE'), help=argparse.SUPPRESS)
    return p.parse_args(argv)


def run_path(results, backend, size, mode):
    return results / 'runs' / f'{backend}-{size}-{mode}.json'


def quiet_outbox(host):
    """Do what the load left in the outbox, then stop the outbox's thread.

    Its poll claims work with an UPDATE every few seconds: on SQLite a write
    lock the floors' writes would wait on, on both a thread beside the timed
    calls. Nothing measured is committed, so nothing new is queued.
    """
    from activitystream.delivery import drain, stop_workers

    stop_workers()
    drain()
    host.commit()


def _text_times(host):
    """SQLite: whether the loaded deliveries keep their times as text (made before 0007)."""
    with host.engine.connect() as conn:
        sql = 'SELECT typeof(timestamp) FROM activitystream_deliveries LIMIT 1'
        return conn.exec_driver_sql(sql).scalar() == 'text'


def worker(args):
    """Load (unless reusable) and measure one backend at one size; write its JSON."""
    from .dataset import entities, generate, load
    from .host import build_app
    from .measure import Bench
    from .packed import packed_sizes

    backend, size, mode = args.worker
    started = time.perf_counter()
    database = f'{args.database}_{size}' if args.database and backend == 'postgresql' else None
    host = build_app(backend, size, database)
    data = generate(size)
    out = {'backend': backend, 'size': size, 'mode': mode, 'phases_s': {}}
    out['loadavg_at_start'] = os.getloadavg()  # other work on the machine skews the numbers
    meta = host.read_meta() if args.skip_load else None
    if meta is not None and backend == 'sqlite' and _text_times(host):
        meta = None  # loaded before revision 0007, times as text: today's code reads integers
    wanted = data.summary()
    same = ('seed', 'size', 'deliveries', 'unseen_median', 'kinds')  # unseen: last-seen times
    if meta is None or any(meta.get(k) != wanted[k] for k in same):
        print(f'[{backend}/{size}] loading {wanted}', flush=True)
        meta = load(host, data)
        out['loaded'] = True
        out['phases_s']['load'] = meta['load']['total_s']
        print(f'[{backend}/{size}] loaded in {meta["load"]["total_s"]:.1f}s', flush=True)
    else:
        out['loaded'] = False
        print(f'[{backend}/{size}] reusing the loaded database', flush=True)
    out['dataset'] = meta
    if mode == 'load':
        host.close()
        return
    t0 = time.perf_counter()
    quiet_outbox(host)
    users, posts = entities(host)
    bench = Bench(host, data, users, posts, args.budget, args.rounds)
    out['floor_rows'] = bench.floor.setup()
    if bench.strict is not None:
        # reused with the database only: a reload makes new tables for ours
        out['strict'] = bench.strict.load(data, reuse=not out['loaded'])
        print(f'[{backend}/{size}] strict floor: {out["strict"]}', flush=True)
    bench.floor.vacuum_analyze()
    if out['loaded'] or 'sizes' not in meta:
        # before any write of the measurements: a rolled-back row still takes its space
        meta['sizes'] = dict(bench.sizes(), after_reuse=not out['loaded'])
        host.write_meta(meta)
    out['sizes'] = meta['sizes']
    out['phases_s']['floor_setup'] = time.perf_counter() - t0
    picked = data.pick_users(args.users, data.seed)
    out['users_measured'] = len(picked)
    out['agree'] = bench.agreement(picked)
    t0 = time.perf_counter()
    out['results'] = bench.reads(picked, with_r=mode == 'full')
    out['kinds'] = bench.kinds()
    if mode == 'full':
        out['statements'] = bench.statement_counts(picked)
        out['explain'] = bench.explain(users[picked[0]])
        out['profile'] = bench.profile(picked)
        out['layers'] = bench.layers(picked)
        out['results'].update(bench.writes())  # last: on mim, writes are not taken back
    out['phases_s']['measure'] = time.perf_counter() - t0
    bench.close()
    url = getattr(host, 'engine', None) and host.engine.url
    host.close()
    if mode == 'full' and url is not None:
        t0 = time.perf_counter()
        packed = packed_sizes(backend, url)
        if packed is not None:  # on a copy: what this run measured is the database as loaded
            out['sizes'] = dict(out['sizes'], packed=packed)
            out['phases_s']['packed_sizes'] = time.perf_counter() - t0
    out['phases_s']['total'] = time.perf_counter() - started
    out['loadavg_at_end'] = os.getloadavg()
    path = run_path(args.results, backend, size, mode)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=1, default=str))
    print(f'[{backend}/{size}] {mode} done in {out["phases_s"]["total"]:.1f}s', flush=True)


def jobs(args):
    """(backend, size, mode) to run: the full suite at --size, Q1/Q2 at the other sizes."""
    backends = [b.strip() for b in args.backends.split(',') if b.strip()]
    unknown = set(backends) - set(BACKENDS)
    if unknown:
        sys.exit(f'unknown backend(s): {", ".join(sorted(unknown))}')
    todo = []
    for backend in backends:
        size = args.size
        if backend == 'ming':
            # mim has no query planner: every query matches every document (~25-60 us
            # each here), ~1-3 s per query at tiny, 10x that at small
            size = args.ming_size or 'tiny'
        todo.append((backend, size, 'full'))
    if args.scaling:
        for backend in (b for b in backends if b in SCALING_BACKENDS):
            todo += [(backend, s, 'scaling') for s in SIZES if s != args.size]
    return todo


def main(argv=None):
    args = parse(argv)
    if args.worker:
        return worker(args)
    from . import report

    todo = jobs(args)
    if args.report_only:
        runs = [json.loads(run_path(args.results, *job).read_text()) for job in todo]
        return report.write(args, runs, sum(r['phases_s']['total'] for r in runs))
    passed = [
        '--users', str(args.users), '--rounds', str(args.rounds), '--budget', str(args.budget),
    ] + (['--skip-load'] if args.skip_load else [])  # fmt: skip
    passed += ['--database', args.database] if args.database else []
    passed += ['--results', str(args.results)]
    started = time.perf_counter()
    for backend, size, mode in todo:
        path = run_path(args.results, backend, size, mode)
        path.unlink(missing_ok=True)
        cmd = [sys.executable, '-m', 'bench', '--worker', backend, size, mode] + passed
        if subprocess.run(cmd, cwd=ROOT).returncode != 0:
            sys.exit(f'bench: {backend}/{size} {mode} failed')
    runs = [json.loads(run_path(args.results, *job).read_text()) for job in todo]
    elapsed = time.perf_counter() - started
    report.write(args, runs, elapsed)


if __name__ == '__main__':
    main()
