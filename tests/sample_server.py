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

from .subscription_support import free_port

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


@contextlib.contextmanager
def serve(here, **settings):
    """http://127.0.0.1:<port> serving the sample app; ``settings`` go to its [app:main]."""
    port = free_port()
    ini = (SAMPLE / 'development.ini').read_text()
    ini = re.sub(r'(?m)^port = .*$', f'port = {port}', ini)
    database = f'sqlalchemy.url = sqlite:///{here}/demo.sqlite'
    ini = re.sub(r'(?m)^sqlalchemy.url = .*$', database, ini)
    ini = re.sub(r'(?m)^cache_dir = .*$', f'cache_dir = {here}', ini)
    extra = ''.join(f'{name} = {value}\n' for name, value in settings.items())
    ini = ini.replace('[app:main]\n', '[app:main]\n' + extra)
    config = here / 'site.ini'
    config.write_text(ini)
    gearbox = Path(sys.executable).parent / 'gearbox'
    subprocess.run(
        [gearbox, 'setup-app', '-c', str(config)], check=True, capture_output=True, cwd=SAMPLE
    )
    with open(here / 'serve.log', 'w') as log:
        server = subprocess.Popen(
            [gearbox, 'serve', '-c', str(config)], stdout=log, stderr=subprocess.STDOUT, cwd=SAMPLE
        )
        try:
            _wait_for(port, server)
            yield f'http://127.0.0.1:{port}'
        finally:
            server.terminate()
            server.wait(10)
