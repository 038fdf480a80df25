"""Lua scripts inside pipelines at the cost of one round trip.

redis-py's registered scripts ask Redis whether they are loaded (``SCRIPT
EXISTS``) before every pipeline that calls one: a second round trip per
fan-out chunk. Here a pipeline calls ``EVALSHA`` straight away; the rare
reply ``NOSCRIPT`` (a restarted or flushed Redis, a new cluster node) loads
the scripts and runs the pipeline again, which is safe because every feed
write is idempotent.
"""

import hashlib
from collections.abc import Callable, Sequence


class Script:
    """A Lua script known by its SHA1, queued on pipelines with :meth:`queue`."""

    def __init__(self, body: str) -> None:
        self.body = body
        self.sha = hashlib.sha1(body.encode()).hexdigest()

    def queue(self, pipe, keys: list, args: list) -> None:
        """Queue a call on ``pipe`` (every key the script touches is in ``keys``)."""
        pipe.evalsha(self.sha, len(keys), *keys, *args)

    def __call__(self, redis, keys: list, args: list):
        """Run it now: one round trip (two the first time a server sees it)."""
        return execute(redis, lambda pipe: self.queue(pipe, keys, args), [self])[0]


def _missing_script(error: Exception) -> bool:
    # imported here: a site without the redis extra imports the feeds package
    # (the menu falls back to the inbox) but never runs a script
    from redis.exceptions import NoScriptError, ResponseError

    return isinstance(error, NoScriptError) or (
        isinstance(error, ResponseError) and str(error).startswith('NOSCRIPT')
    )


def _run(redis, build: Callable) -> tuple[list, list]:
    pipe = redis.pipeline(transaction=False)
    build(pipe)
    replies = pipe.execute(raise_on_error=False)
    return replies, [reply for reply in replies if isinstance(reply, Exception)]


def execute(redis, build: Callable, scripts: Sequence[Script]) -> list:
    """Queue commands with ``build(pipe)`` on a pipeline of ``redis`` and run them.

    When Redis does not know one of ``scripts``, they are loaded and the
    pipeline is built and run again (its writes must be safe to repeat).
    """
    replies, failed = _run(redis, build)
    if failed and all(_missing_script(error) for error in failed):
        for script in scripts:
            redis.script_load(script.body)  # a cluster loads it on every primary
        replies, failed = _run(redis, build)
    if failed:
        raise failed[0]
    return replies
