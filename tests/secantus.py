"""SecantusDB, a MongoDB wire-protocol server, for the Ming tests' fourth backend.

``make test`` installs it in a venv of its own (``.venv-secantus``: its
dependencies stay out of ours); the test run starts it on a free port when
no ``ACTIVITYSTREAM_MONGO_URL`` names a server. A small guard process (this
file run as a script) starts the server and stops it by its pid once the
test process is gone: its last Ming clients close at interpreter exit, and a
client whose server is already gone waits 30 s to end its sessions. Without
SecantusDB the ``mongodb`` backend is left out, which under ``CI=true`` is a
failure. Its query planner is simple: the tests use it for correctness only,
never for timings.
"""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).parent.parent
SERVER = Path(os.environ.get('ACTIVITYSTREAM_SECANTUS', ROOT / '.venv-secantus/bin/secantusd-py'))

_guard: subprocess.Popen | None = None


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
    global _guard
    if not SERVER.exists():
        if os.environ.get('CI') == 'true':
            raise RuntimeError(f'CI=true and no SecantusDB at {SERVER}: run `make test`')
        return None
    port = _free_port()
    _guard = subprocess.Popen(
        [sys.executable, __file__, str(SERVER), str(port)],
        stdin=subprocess.PIPE,
        start_new_session=True,
    )
    deadline = time.monotonic() + 15
    while not _answers(port):
        if _guard.poll() is not None or time.monotonic() > deadline:
            stop()
            raise RuntimeError(f'SecantusDB ({SERVER}) did not start on port {port}')
        time.sleep(0.05)
    return f'mongodb://127.0.0.1:{port}/'


def stop() -> None:
    """Stop the server now: its guard sees its input close and stops it."""
    global _guard
    if _guard is not None:
        _guard.stdin.close()
        _guard.wait(10)
        _guard = None


def _guard_server(server: str, port: str) -> None:
    """Run the server until our input closes (the test process ended), then stop it by pid."""
    arguments = [server, '--host', '127.0.0.1', '--port', port, '--storage-path', ':memory:']
    process = subprocess.Popen(arguments, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        sys.stdin.buffer.read()  # EOF: the test process is gone, or stop() was called
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


if __name__ == '__main__':
    _guard_server(*sys.argv[1:])
