"""Live unseen counts: a change for a recipient reaches its open ``events`` streams.

Writers publish "something changed for R" on R's Redis channel (a broadcast
on one channel for everyone), after the host's transaction commits so a
reader finds the new rows; each open stream then recounts for its own user.
Across processes this needs Redis (the ``redis_url`` option); without it, or
while it is down, nothing is pushed and the browser polls instead.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from . import model, redis_client
from .storage.base import Job, NewJob, Ref, Storage

log = logging.getLogger(__name__)

EVERYONE = '*'
RETRY_AFTER = 30  # seconds to leave a Redis that failed alone
PUSH_CHUNK = 1000  # channels per push job

_down_until: dict[str | None, float] = {}  # Redis URL -> when to try it again (time.monotonic)


def channel(ref: Ref | str) -> str:
    """The channel of ``ref`` (or EVERYONE) under the ``redis_prefix`` option.

    Sites sharing a Redis do not hear each other.
    """
    name = f'{ref.type}:{ref.id}' if isinstance(ref, Ref) else EVERYONE
    return _prefix() + name


def _prefix() -> str:
    return f'{model.options().get("redis_prefix", "activitystream")}:changed:'


def _url() -> str | None:
    return model.options().get('redis_url')


def client() -> Any:
    """A Redis client for the configured URL; None without Redis or while it is down."""
    url = _url()
    if not url or _down_until.get(url, 0) > time.monotonic():
        return None
    try:
        return redis_client.client(url)
    except ImportError:  # the redis extra is not installed
        return None


def _failed(exc: Exception) -> None:
    _down_until[_url()] = time.monotonic() + RETRY_AFTER
    log.warning('activitystream: no live updates, Redis failed: %s', exc)


def _publisher(redis: Any) -> Any:
    """Where PUBLISH goes: ``redis``, or with a Redis Cluster one of its nodes.

    A cluster passes a message published on any node to the subscribers of
    every node, and redis-py's cluster pipelines refuse PUBLISH. The node is
    the client's default one, which a failed push replaces.
    """
    if redis_client.is_cluster(redis):
        return redis.get_redis_connection(redis.get_default_node())
    return redis


def _publish(channels: Iterable[str]) -> None:
    redis = client()
    if redis is None:
        return
    try:
        with _publisher(redis).pipeline(transaction=False) as pipe:
            for name in channels:
                pipe.publish(name, '1')
            pipe.execute()
    except Exception as exc:  # noqa: BLE001 - a missing push must never fail a write
        if redis_client.is_cluster(redis):
            redis.replace_default_node()  # that node may be down: the next push tries another
        _failed(exc)


def changed(refs: Iterable[Ref] | None) -> None:
    """Tell the streams of ``refs`` (None: of everyone) that their counts may have moved.

    A push job in the outbox, done after the commit: a rolled-back write
    pushes nothing, and a long list of recipients is pushed in chunks.
    """
    from .delivery import enqueue

    if not _url():
        return
    rows = [[EVERYONE]] if refs is None else [[r.type, r.id] for r in refs]
    chunks = range(0, len(rows), PUSH_CHUNK)
    enqueue([NewJob('push', {'to': rows[i : i + PUSH_CHUNK]}) for i in chunks]).ready()


def push_job(storage: Storage, job: Job) -> None:
    """The outbox job of :func:`changed`: publish (a repeated push only causes a recount)."""
    prefix = _prefix()
    _publish([f'{prefix}{":".join(row)}' for row in job.payload['to']])


def subscribe(ref: Ref) -> Any:
    """A pub/sub listening for changes of ``ref``; None when nothing can be pushed."""
    redis_client = client()
    if redis_client is None:
        return None
    try:
        pubsub = redis_client.pubsub(ignore_subscribe_messages=True)
        pubsub.subscribe(channel(ref), channel(EVERYONE))
        return pubsub
    except Exception as exc:  # noqa: BLE001
        _failed(exc)
        return None


def event(count: int) -> str:
    return f'event: unseen\ndata: {json.dumps({"unseen_count": count})}\n\n'


def stream(
    pubsub: Any, recount: Callable[[], int], first: int, lifetime: float, heartbeat: float = 10
) -> Iterator[bytes]:
    """Server-sent events: the count now, then whenever it changes, for ``lifetime`` seconds.

    The browser reconnects by itself after the stream ends, so no server
    thread is held for long; comments keep proxies from closing it meanwhile.
    """
    end = time.monotonic() + lifetime
    try:
        yield ('retry: 2000\n\n' + event(first)).encode()
        while (left := end - time.monotonic()) > 0:
            message = pubsub.get_message(timeout=min(heartbeat, left))
            if message is None:
                yield b': ping\n\n'
                continue
            while pubsub.get_message(timeout=0.05) is not None:
                pass  # one recount for a burst of changes
            count = recount()
            if count == first:  # a change of someone else's (a broadcast of theirs)
                yield b': ping\n\n'
                continue
            first = count
            yield event(count).encode()
    except Exception as exc:  # noqa: BLE001 - the browser will poll instead
        _failed(exc)
    finally:
        pubsub.close()
