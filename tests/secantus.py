"""SecantusDB, a MongoDB wire-protocol server, for the Ming tests' fourth backend.

``make test`` installs it in a venv of its own (``.venv-secantus``: its
dependencies stay out of ours); the test run starts it on a free port when
no ``ACTIVITYSTREAM_MONGO_URL`` names a server, and stops it by its pid at
the end. Without it the ``mongodb`` backend is left out, which under
``CI=true`` is a failure. Its query planner is simple: the tests use it for
correctness only, never for timings.
"""

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).parent.parent
SERVER = Path(os.environ.get('ACTIVITYSTREAM_SECANTUS', ROOT / '.venv-secantus/bin/secantusd-py'))

_process: subprocess.Popen | None = None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def _answers(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(('127.0.0.1', port)) == 0


def start() -> str | None:
    """The URL of a SecantusDB started for this run, or None (not installed here).

    Under ``CI=true`` a missing or failing server raises: the fourth backend
    is never silently left out there.
    """
    global _process
    if not SERVER.exists():
        if os.environ.get('CI') == 'true':
            raise RuntimeError(f'CI=true and no SecantusDB at {SERVER}: run `make test`')
        return None
    port = _free_port()
    arguments = [SERVER, '--host', '127.0.0.1', '--port', str(port), '--storage-path', ':memory:']
    _process = subprocess.Popen(
        arguments, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    deadline = time.monotonic() + 15
    while not _answers(port):
        if _process.poll() is not None or time.monotonic() > deadline:
            stop()
            raise RuntimeError(f'SecantusDB ({SERVER}) did not start on port {port}')
        time.sleep(0.05)
    return f'mongodb://127.0.0.1:{port}/'


def stop() -> None:
    """Stop the server this run started, by its pid (terminate, then kill)."""
    global _process
    if _process is None:
        return
    if _process.poll() is None:
        _process.send_signal(signal.SIGTERM)
        try:
            _process.wait(5)
        except subprocess.TimeoutExpired:
            _process.kill()
            _process.wait()
    _process = None
