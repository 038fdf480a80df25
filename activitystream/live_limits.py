"""How many ``events`` streams may be open at once, per user and in this process.

Each open stream holds a server thread for its whole lifetime, so without a
cap one user with many tabs (or a script) takes every thread and the site
stops answering. A stream counts from the moment it is admitted until it ends
for any reason: finished, failed, closed by the server when the client went
away, or garbage-collected without ever being read.
"""

import threading
import weakref
from collections import Counter
from collections.abc import Callable, Hashable, Iterator

from . import model

PROCESS_DEFAULT = 4  # when the server's thread count cannot be known
# seconds between pings: the server finds a client gone (a tab closed, a link
# followed) only when its writes fail, so a left stream keeps its place ~3 pings
HEARTBEAT = 2


def server_threads(environ: dict) -> int | None:
    """The request-serving threads of this server, when it tells.

    WSGI has no key for it; waitress puts a method of the request's channel in
    the environ, and that channel's server holds its settings (``threads``).
    """
    check = environ.get('waitress.client_disconnected')
    channel = getattr(check, '__self__', None)
    threads = getattr(getattr(getattr(channel, 'server', None), 'adj', None), 'threads', None)
    return threads if isinstance(threads, int) and threads > 0 else None


def process_cap(option: int | None, environ: dict) -> int:
    """The ``events_per_process`` option, else a quarter of the server's threads, else 4."""
    if option is not None:
        return option
    threads = server_threads(environ)
    return PROCESS_DEFAULT if threads is None else max(1, threads // 4)


class Held:
    """An admitted stream: the WSGI body that gives its place back once, however it ends."""

    def __init__(self, release: Callable[[], object]) -> None:
        self._body: Iterator[bytes] = iter(())
        self._release = weakref.finalize(self, release)

    def serve(self, body: Iterator[bytes]) -> 'Held':
        self._body = body
        return self

    def __iter__(self) -> 'Held':
        return self

    def __next__(self) -> bytes:
        try:
            return next(self._body)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Called by the WSGI server when the response is over (or the client left)."""
        try:
            close = getattr(self._body, 'close', None)
            if close is not None:
                close()
        finally:
            self._release()


class Streams:
    """The open streams of this process, counted per user and in total (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._per_user: Counter = Counter()
        self.total = 0

    def open_for(self, user: Hashable) -> int:
        return self._per_user[user]

    def admit(self, user: Hashable, per_user: int, per_process: int) -> Held | None:
        """A place for a new stream of ``user``; None when either cap is reached."""
        with self._lock:
            if self._per_user[user] >= per_user or self.total >= per_process:
                return None
            self._per_user[user] += 1
            self.total += 1
        return Held(lambda: self._leave(user))

    def _leave(self, user: Hashable) -> None:
        with self._lock:
            self.total -= 1
            self._per_user[user] -= 1
            if not self._per_user[user]:
                del self._per_user[user]


STREAMS = Streams()


def admit(user: Hashable, environ: dict) -> Held | None:
    """A place for a new stream of ``user`` under the plug options; None when full."""
    options = model.options()
    per_process = process_cap(options['events_per_process'], environ)
    return STREAMS.admit(user, options['events_per_user'], per_process)
