"""The sample app served by ``gearbox serve`` (waitress, 16 threads) in its own process.

On a fresh SQLite demo database (``gearbox setup-app``: users alice, bob, carol,
dave and erin, password ``demo``), so what a test sees crosses real HTTP.
"""

import contextlib
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

from .subscription_support import REDIS_PREFIX, free_port

SAMPLE = Path(__file__).parent.parent / 'sample-app'


def _wait_for(port, process, seconds=60):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if process.poll() is not None:
            raise RuntimeError(f'the sample app exited with {process.returncode}')
        try:
            socket.create_connection(('127.0.0.1', port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError('the sample app did not start')


GEARBOX = Path(sys.executable).parent / 'gearbox'


def site_config(here, database=None, **settings):
    """A copy of development.ini in ``here``: (its path, the port it serves on).

    ``database`` is its ``sqlalchemy.url`` (default: a new SQLite file in
    ``here``); ``settings`` replace or join those of its [app:main].
    """
    port = free_port()
    ini = (SAMPLE / 'development.ini').read_text()
    ini = re.sub(r'(?m)^port = .*$', f'port = {port}', ini)
    database = database or f'sqlite:///{here}/demo.sqlite'
    ini = re.sub(r'(?m)^sqlalchemy.url = .*$', f'sqlalchemy.url = {database}', ini)
    ini = re.sub(r'(?m)^cache_dir = .*$', f'cache_dir = {here}', ini)
    # timelines under this run's Redis prefix, never the demo's (deleted with the run's keys)
    settings.setdefault('sampleapp.redis_prefix', f'{REDIS_PREFIX}:sample:{here.name}')
    for name, value in settings.items():
        line = re.compile(rf'(?m)^{re.escape(name)} = .*$')
        if line.search(ini):
            ini = line.sub(f'{name} = {value}', ini)
        else:
            ini = ini.replace('[app:main]\n', f'[app:main]\n{name} = {value}\n')
    config = here / 'site.ini'
    config.write_text(ini)
    return config, port


def gearbox(*arguments, config, **popen):
    """``gearbox <arguments> -c <config>`` in the sample app's folder, as a new process."""
    return subprocess.Popen([GEARBOX, *arguments, '-c', str(config)], cwd=SAMPLE, **popen)


@contextlib.contextmanager
def server(config, port):
    """``gearbox serve`` of ``config`` while the block runs: yields its process."""
    with open(config.parent / 'serve.log', 'w') as log:
        process = gearbox('serve', config=config, stdout=log, stderr=subprocess.STDOUT)
        try:
            _wait_for(port, process)
            yield process
        finally:
            process.terminate()
            process.wait(10)


@contextlib.contextmanager
def serve(here, **settings):
    """http://127.0.0.1:<port> serving the sample app; ``settings`` go to its [app:main]."""
    config, port = site_config(here, **settings)
    subprocess.run(
        [GEARBOX, 'setup-app', '-c', str(config)], check=True, capture_output=True, cwd=SAMPLE
    )
    with server(config, port):
        yield f'http://127.0.0.1:{port}'
