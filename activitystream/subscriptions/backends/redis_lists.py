"""The ``redis`` backend: the seed README's per-user stream, in three Redis lists.

Every recipient has ``undelivered``, ``unacknowledged`` and ``acknowledged``
lists of JSON ``[epoch seconds, text]`` items, newest first, each trimmed to
the ``redis_stream_length`` option. ``user_stream(user, clear_undelivered=True)``
moves undelivered items to unacknowledged (they have been shown);
``acknowledge(user)`` moves unacknowledged items to acknowledged. Moves are
atomic Lua scripts, so an item pushed meanwhile is never lost. The three keys
of a user share a hash tag, so they live on one Redis Cluster node.
``am.erase`` drops an erased recipient's lists through the outbox (``streams``
jobs), once the erasure has committed.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from ... import model, refs
from ...delivery.queue import enqueue
from ...redis_client import client, run_script
from ...storage.base import Backend, Job, NewJob, Ref
from .base import BaseBackend

GROUPS = ('undelivered', 'unacknowledged', 'acknowledged')
EPOCH = datetime(1970, 1, 1)

# Move every item of KEYS[1] to the head of KEYS[2], keeping their order; trim KEYS[2].
MOVE = """
local items = redis.call('LRANGE', KEYS[1], 0, -1)
for i = #items, 1, -1 do redis.call('LPUSH', KEYS[2], items[i]) end
redis.call('DEL', KEYS[1])
redis.call('LTRIM', KEYS[2], 0, tonumber(ARGV[1]) - 1)
return #items
"""


# Push ARGV[1] on KEYS[1] and trim it to ARGV[2] items, unless the marker KEYS[2] of
# this delivery exists: a job done again after a crash pushes nothing twice.
PUSH_ONCE = """
if redis.call('SET', KEYS[2], '1', 'NX', 'EX', tonumber(ARGV[3])) then
  redis.call('LPUSH', KEYS[1], ARGV[1])
  redis.call('LTRIM', KEYS[1], 0, tonumber(ARGV[2]) - 1)
  return 1
end
return 0
"""
DONE_TTL = 7 * 24 * 3600  # seconds a delivery is remembered: longer than any retry


@cache
def _move_script(url: str) -> Any:
    return client(url).register_script(MOVE)


@cache
def _push_once_script(url: str) -> Any:
    return client(url).register_script(PUSH_ONCE)


class UserStreams:
    """The lists of the running application's Redis (the ``redis_*`` plug options)."""

    def __init__(self) -> None:
        options = model.options()
        self.url = options['redis_url']
        self.prefix = options['redis_prefix']
        self.length = options['redis_stream_length']
        self.redis = client(self.url)

    def key(self, ref: Ref, group: str) -> str:
        return f'{self.prefix}:stream:{{{ref.type}:{ref.id}}}:{group}'

    def push(
        self, items: Iterable[tuple[Ref, str]], when: datetime, delivery_key: str | None = None
    ) -> None:
        """Add each (recipient Ref, text) to its undelivered list: one round trip for all.

        With ``delivery_key`` (an outbox job's), each push happens once per key.
        """
        stamp = (when - EPOCH) / timedelta(seconds=1)
        pipe = self.redis.pipeline(transaction=False)
        once = _push_once_script(self.url)
        for ref, text in items:
            key, item = self.key(ref, 'undelivered'), json.dumps([stamp, text])
            if delivery_key is None:
                pipe.lpush(key, item)
                pipe.ltrim(key, 0, self.length - 1)
            else:
                marker = self.key(ref, f'done:{delivery_key}')
                run_script(once, [key, marker], [item, self.length, DONE_TTL], pipe)
        pipe.execute()

    def drop(self, ref: Ref) -> int:
        """Delete ``ref``'s three lists (one slot: one command); how many existed."""
        return int(self.redis.delete(*(self.key(ref, group) for group in GROUPS)))

    def move(self, ref: Ref, source: str, destination: str, pipe: Any = None) -> Any:
        keys = [self.key(ref, source), self.key(ref, destination)]
        return run_script(_move_script(self.url), keys, [self.length], pipe)

    def read(self, ref: Ref, clear_undelivered: bool) -> dict[str, list[tuple[datetime, str]]]:
        pipe = self.redis.pipeline(transaction=True)
        if clear_undelivered:
            self.move(ref, 'undelivered', 'unacknowledged', pipe)
        for group in GROUPS:
            pipe.lrange(self.key(ref, group), 0, -1)
        found = pipe.execute()[-len(GROUPS) :]
        return {
            group: [_item(raw) for raw in items] for group, items in zip(GROUPS, found, strict=True)
        }


def _item(raw: bytes | str) -> tuple[datetime, str]:
    stamp, text = json.loads(raw)
    return EPOCH + timedelta(milliseconds=round(stamp * 1000)), text


class RedisBackend(BaseBackend):
    """Pushes each message onto the recipient's ``undelivered`` list (see the module)."""

    def emit(self, recipient: Any, text: str, **kwargs: Any) -> None:
        self.emit_many([(recipient, text)])

    def emit_many(
        self, deliveries: Iterable[tuple[Any, str]], **kwargs: Any
    ) -> list[tuple[Any, str, Exception]]:
        items = [(refs.ref_of(r, 'recipient'), text) for r, text in deliveries]
        UserStreams().push(items, self.timestamp, getattr(self, 'delivery_key', None))
        return []


def user_stream(
    user: Any, clear_undelivered: bool = False
) -> dict[str, list[tuple[datetime, str]]]:
    """``user``'s stream: {'undelivered', 'unacknowledged', 'acknowledged'} -> [(datetime, text)].

    Newest first; datetimes are naive UTC. With ``clear_undelivered``, the
    undelivered items count as shown: they move to unacknowledged first.
    """
    if not isinstance(clear_undelivered, bool):
        raise TypeError(
            f'clear_undelivered must be True or False, got {type(clear_undelivered).__name__}'
        )
    return UserStreams().read(refs.ref_of(user, 'user'), clear_undelivered)


def acknowledge(user: Any) -> int:
    """Move ``user``'s unacknowledged items to acknowledged; return how many moved."""
    return UserStreams().move(refs.ref_of(user, 'user'), 'unacknowledged', 'acknowledged')


def erased(ref: Ref, backends: Iterable[type[BaseBackend]]) -> None:
    """``am.erase``: queue the removal of ``ref``'s lists when a backend of ``backends`` keeps them.

    In the erasure's transaction, so the lists go once it commits and never
    if it rolls back; a Redis that is down then gets the job again later.
    """
    if any(issubclass(cls, RedisBackend) for cls in backends):
        enqueue([NewJob('streams', {'drop': [ref.type, ref.id]})]).ready()


def streams_job(storage: Backend, job: Job) -> None:
    """The outbox job of :func:`erased` (a Redis error raises: the job is tried again)."""
    UserStreams().drop(Ref(*job.payload['drop']))
