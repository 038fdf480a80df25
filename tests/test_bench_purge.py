"""``python -m bench.purge`` at the tiny size on PostgreSQL: it loads, purges, reads, and reports.

The purger exits non-zero (and the bench raises) unless exactly the rows
older than the cutoff went, so a run that ends is a run whose purge was right.
"""

import json
import os

from bench import purge

from . import harness


def test_the_purge_bench_runs_at_a_tiny_size(tmp_path):
    prefix = f'activitystream_test_purge_{os.getpid()}'
    # a reachable server (or a skip, a failure under CI=true); the bench loads into it
    template = harness.new_postgresql_database(f'{prefix}_tiny_loaded')
    try:
        out = purge.main([
            '--size', 'tiny', '--batches', '200', '--baseline', '0.5', '--users', '30',
            '--repeat', '2',
            '--read-share', '0.05', '--dismiss-share', '0.01',
            '--database', prefix, '--out', str(tmp_path),
        ])  # fmt: skip
    finally:  # the run's copy too, if a failure left it
        harness.drop_postgresql_database(template)
        harness.drop_postgresql_database(template.removesuffix('_loaded'))
    assert out['loaded_now']
    (run,) = out['runs']
    assert run['verified'] and run['agrees_with_dataset']
    removed, older = run['removed'], out['cutoff_dataset']
    assert removed['actions'] == older['activities_older']
    assert removed['deliveries'] + removed['dismissals'] == older['deliveries_older']
    assert removed['read_marks'] > 0 and removed['dismissals'] > 0
    # ~10% of the deliveries, in ceil(actions / 200) batches and one empty look
    assert 0.09 < older['deliveries_older'] / out['dataset']['deliveries'] < 0.11
    assert run['repeats'] == len(run['durations_s']) == 2
    assert run['transactions']['n'] == 2 * (-(-removed['actions'] // 200) + 1)
    assert run['baseline']['q1']['n'] > 0 and run['baseline']['q2']['n'] > 0
    assert json.loads((tmp_path / 'purge.json').read_text())['runs'][0]['batch'] == 200
    assert '| 200 |' in (tmp_path / 'purge.md').read_text()
