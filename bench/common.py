"""What the benchmarks share: percentiles, Markdown tables, the machine they ran on.

No numpy or matplotlib here: ``python -m bench.feeds`` (and its smoke test) runs
with the test dependencies only.
"""

import os
import pathlib
import platform
import re
import sqlite3
import statistics
import subprocess
from importlib import metadata

ROOT = pathlib.Path(__file__).resolve().parent.parent
PG_URL = os.environ.get(
    'ACTIVITYSTREAM_PG_URL', 'postgresql+psycopg2://postgres@127.0.0.1:5432/test'
)
PACKAGES = (
    'SQLAlchemy', 'psycopg2-binary', 'Ming', 'pymongo', 'TurboGears2', 'tgext.pluggable',
    'zope.sqlalchemy', 'numpy', 'matplotlib',
)  # fmt: skip


def stats(samples_ms):
    """p50/p95/p99/mean in ms and queries per second of one timed loop."""
    ordered = sorted(samples_ms)

    def pct(p):
        return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]

    return {
        'n': len(ordered),
        'p50': pct(50),
        'p95': pct(95),
        'p99': pct(99),
        'mean': statistics.fmean(ordered),
        'qps': 1000 * len(ordered) / sum(ordered) if sum(ordered) else None,
    }


def table(headers, rows):
    lines = ['| ' + ' | '.join(headers) + ' |', '|' + '---|' * len(headers)]
    lines += ['| ' + ' | '.join(str(c) for c in row) + ' |' for row in rows]
    return '\n'.join(lines)


def _read(path, pattern):
    try:
        found = re.search(pattern, pathlib.Path(path).read_text(), re.M)
    except OSError:
        return None
    return found.group(1).strip() if found else None


def machine():
    """CPU, cores, RAM, OS, Python and the versions of everything on the path."""
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    mem_kb = _read('/proc/meminfo', r'^MemTotal:\s+(\d+)')
    return {
        'cpu': _read('/proc/cpuinfo', r'^model name\s*:\s*(.+)$') or platform.processor(),
        'cores': os.cpu_count(),
        'ram_gib': round(int(mem_kb) / 2**20, 1) if mem_kb else None,
        'os': _read('/etc/os-release', r'^PRETTY_NAME="?([^"\n]+)') or platform.platform(),
        'kernel': platform.release(),
        'python': platform.python_version(),
        'sqlite': sqlite3.sqlite_version,
        'postgresql': _postgresql_version(),
        'packages': versions,
        # BENCH_COMMIT: when measuring a snapshot of the package outside the repository
        'commit': os.environ.get('BENCH_COMMIT') or _git('rev-parse', '--short', 'HEAD'),
        'dirty': bool(_git('status', '--porcelain', '--', 'activitystream')),
    }


def _git(*args):
    try:
        return subprocess.run(
            ['git', *args], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def _postgresql_version():
    try:
        import sqlalchemy as sa

        engine = sa.create_engine(PG_URL)
        with engine.connect() as conn:
            version = conn.exec_driver_sql('SHOW server_version').scalar()
        engine.dispose()
        return version
    except Exception:  # noqa: BLE001 - no server: the report says so
        return None
