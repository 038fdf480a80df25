"""``python -m bench`` at the tiny size on SQLite and PostgreSQL: both floors, the user kinds.

The bench loads through ``am.create_many`` with references, builds the floor
and the strict floor, checks that both answer as we do (Q1's ids, Q2's
number, every field of R's rows) for users of every kind, and reports ratios
to both. The bench's own SQLite file is bench/results/db/tiny.sqlite (a cache the bench reloads when
its dataset differs); PostgreSQL gets a database of this test's own.
"""

import json
import os
import pathlib
import subprocess
import sys

from bench.dataset import KINDS

from . import harness

ROOT = pathlib.Path(__file__).resolve().parent.parent
QUESTIONS = ('Q1', 'Q2', 'R', 'W_top', 'W_2000')


def test_the_bench_reports_both_floors_and_every_kind_of_user(tmp_path):
    prefix = f'activitystream_test_bench_{os.getpid()}'
    url = harness.new_postgresql_database(f'{prefix}_tiny')  # or a skip (a failure under CI)
    try:
        subprocess.run(
            [sys.executable, '-m', 'bench', '--size', 'tiny', '--backends', 'sqlite,postgresql',
             '--users', '20', '--rounds', '1', '--budget', '5', '--database', prefix,
             '--results', str(tmp_path)],
            cwd=ROOT, check=True, capture_output=True,
        )  # fmt: skip
    finally:
        harness.drop_postgresql_database(url)
    for backend in ('sqlite', 'postgresql'):
        run = json.loads((tmp_path / 'runs' / f'{backend}-tiny-full.json').read_text())
        assert run['loaded'] and run['agree'] == {'floor': True, 'strict': True}
        assert run['strict']['rows']['strict_inbox'] == run['floor_rows']['floor_inbox']
        assert run['strict']['rows']['strict_inbox'] == run['dataset']['deliveries']
        for q in QUESTIONS:
            assert run['results'][q]['strict']['n'] == run['results'][q]['ours']['n'] > 0
            assert run['results'][q]['strict_ratio_p50'] > 0
        assert list(run['kinds']) == list(KINDS)
        assert list(run['layers']) == ['Q1', 'Q2', 'R', 'W_2000']
        for kind, found in run['kinds'].items():
            assert found['users'] == min(100, run['dataset']['kinds'][kind]['users'])
            assert found['Q2']['strict_ratio_p50'] > 0
        sizes = run['sizes']
        assert sizes['ours'] > sizes['strict'] > 0 and not sizes['after_reuse']
        packed = sizes['packed']  # both rebuilt on a copy: never more than as measured
        assert 0 < packed['strict'] and 0 < packed['ours'] <= sizes['ours']
    report = (tmp_path / 'benchmarks-tiny.md').read_text()
    assert 'postgresql tiny Q1 p50 <= 2.5x strict floor' in report
    assert '## What the strict floor is (the target)' in report
    assert '| never seen |' in report
    assert 'both packed (MiB)' in report
