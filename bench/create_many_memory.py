"""``python -m bench.create_many_memory``: the peak memory of one ``am.create_many`` call.

Measured with tracemalloc (Python allocations, the driver's C buffers aside)
for ``--items`` actions of ``--recipients`` recipients each, given as a list
(built before the measure starts) and as a generator, on an empty database
of the bench host (``--backend``); the time is measured in another run,
untraced. Each run is a process of its own.
"""

import argparse
import json
import subprocess
import sys
import time
import tracemalloc

USERS = 1000


def parse(argv):
    p = argparse.ArgumentParser(prog='python -m bench.create_many_memory', description=__doc__)
    p.add_argument('--backend', default='sqlite', choices=('sqlite', 'postgresql', 'ming'))
    p.add_argument('--items', type=int, default=100_000)
    p.add_argument('--recipients', type=int, default=5)
    p.add_argument('--given', choices=('list', 'generator'), help=argparse.SUPPRESS)
    p.add_argument('--traced', action='store_true', help=argparse.SUPPRESS)
    return p.parse_args(argv)


def items(users, count, recipients):
    for i in range(count):
        yield dict(
            actor=users[i % USERS],
            verb='posted',
            recipients=[users[(i + k) % USERS] for k in range(1, recipients + 1)],
        )


def measure(args):
    """One create_many call in this process: its peak (MB, when traced), its time, actions."""
    from activitystream import am

    from .host import build_app

    host = build_app(args.backend, 'memory')
    host.reset_schema()
    host.bulk_insert(host.model.User, [{'user_name': f'u{i}'} for i in range(USERS)])
    host.commit()
    users = host.all(host.model.User)
    given = items(users, args.items, args.recipients)
    if args.given == 'list':
        given = list(given)
    if args.traced:
        tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    started = time.perf_counter()
    am.create_many(given)
    seconds = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    host.commit()
    written = am.get_actions(everything=True).count()
    host.close()
    return {'given': args.given, 'peak_mb': (peak - before) / 2**20, 's': seconds, 'n': written}


def main(argv=None):
    args = parse(sys.argv[1:] if argv is None else argv)
    if args.given:
        print(json.dumps(measure(args)))
        return
    common = ['--backend', args.backend, '--items', str(args.items)]
    common += ['--recipients', str(args.recipients)]
    print(f'create_many of {args.items:,} items x {args.recipients} recipients, {args.backend}')
    for given in ('list', 'generator'):
        traced, untraced = (_run(common, given, traced) for traced in (True, False))
        print(
            f'  as a {given:9}: peak {traced["peak_mb"]:7.1f} MB over the items, '
            f'{untraced["s"]:6.1f} s untraced, {untraced["n"]:,} actions written'
        )


def _run(common, given, traced):
    command = [sys.executable, '-m', 'bench.create_many_memory', *common, '--given', given]
    out = subprocess.run(
        command + (['--traced'] if traced else []), check=True, capture_output=True, text=True
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


if __name__ == '__main__':
    main()
