"""RedisFeed: the actions of one user's feed, in one Redis sorted set.

Only action ids live in Redis (see :mod:`.entries`); a read loads the actions
from the database, so a feed never holds a stale copy of one.
"""

import heapq
import itertools
import re
import uuid
from collections.abc import Iterable, Mapping
from functools import cache

from .. import model
from ..redis_client import client
from .entries import Entry, entry_of, member_of
from .pages import FeedQuery
from .scripts import Script, execute

# Entries older than (ARGV[1] score, ARGV[2] member), newest first: ARGV[4] of them
# (-1: all) after skipping ARGV[3]. When the member is in the feed, its rank says
# where to start (O(log n), however many entries share its millisecond); when it
# is gone, its millisecond's entries come back whole for the caller to cut.
BEFORE = Script("""
local offset, count = tonumber(ARGV[3]), tonumber(ARGV[4])
local rank = redis.call('ZREVRANK', KEYS[1], ARGV[2])
if rank then
  local start = rank + 1 + offset
  local stop = -1
  if count >= 0 then stop = start + count - 1 end
  return {0, redis.call('ZREVRANGE', KEYS[1], start, stop, 'WITHSCORES')}
end
local wanted = -1
if count >= 0 then wanted = offset + count end
return {1, redis.call('ZREVRANGEBYSCORE', KEYS[1], ARGV[1], ARGV[1], 'WITHSCORES'),
        redis.call('ZREVRANGEBYSCORE', KEYS[1], '(' .. ARGV[1], '-inf', 'WITHSCORES',
                   'LIMIT', 0, wanted)}
""")
# ZADD the (score, member) pairs of ARGV[2:] and trim to ARGV[1] entries, only if
# KEYS[2] (the feed's built marker: its reader is active) exists; ZADD in slices
# of 500 pairs, under Lua's limit on unpacked values
ADD_IF_BUILT = Script("""
if redis.call('EXISTS', KEYS[2]) == 0 then return 0 end
for first = 2, #ARGV, 1000 do
  redis.call('ZADD', KEYS[1], unpack(ARGV, first, math.min(first + 999, #ARGV)))
end
redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -(tonumber(ARGV[1]) + 1))
return 1
""")
_USER_ID = re.compile(r'^[^\s{}]{1,255}$')


def _entries(flat) -> list[Entry]:
    """Entries of a ``WITHSCORES`` reply ([member, score, ...] or [(member, score), ...])."""
    if flat and not isinstance(flat[0], (tuple, list)):
        flat = zip(flat[::2], flat[1::2], strict=True)
    return [Entry(int(float(score)), member.decode()) for member, score in flat]


@cache  # asked three times per follower of a fan-out: the import once
def key_types() -> tuple[type, ...]:
    """The types a primary key has: int, str, UUID and, with MongoDB, ObjectId."""
    try:
        from bson import ObjectId
    except ImportError:  # pragma: no cover - the package works without pymongo
        return int, str, uuid.UUID
    return int, str, uuid.UUID, ObjectId


def feed_user_id(user_id, argname: str = 'user_id') -> str:
    """``user_id`` (a primary key: int, string, UUID, ObjectId) as the text feed keys hold."""
    if isinstance(user_id, bool) or not isinstance(user_id, key_types()):
        raise TypeError(f'{argname} must be a user id, got {type(user_id).__name__}')
    text = str(user_id)
    if not _USER_ID.match(text):
        raise ValueError(
            f'{argname} must be 1 to 255 characters without spaces or braces, got {user_id!r}'
        )
    return text


class RedisFeed:
    """A user's feed: ``PinFeed(13)`` is user 13's, newest first.

    Subclasses name their key (``key_format``, with ``%(user_id)s``) and how
    many entries they keep (``max_length``): every write trims the feed to it
    exactly, in the same round trip. The key gets the site's ``redis_prefix``
    and is a hash tag, so what a feed keeps lives in one Redis Cluster slot.

    ``feed[:25]``, ``feed[10:20]`` and ``feed.before(cursor)[:25]`` give our
    Actions, hydrated in one batch: one query for the actions, then one per
    entity class on first use. Actions deleted from the database are skipped.
    """

    key_format = 'feed:%(user_id)s'
    max_length = 1000
    #: the scripts ``queue_add`` and ``queue_remove`` may queue on a pipeline
    scripts: tuple[Script, ...] = (ADD_IF_BUILT,)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if not (isinstance(cls.key_format, str) and '%(user_id)s' in cls.key_format):
            raise TypeError(f'{cls.__name__}.key_format must be a string with %(user_id)s')
        if '{' in cls.key_format or '}' in cls.key_format:
            raise ValueError(f'{cls.__name__}.key_format must not hold braces (the hash tag)')
        length = cls.max_length
        if isinstance(length, bool) or not isinstance(length, int) or length < 1:
            raise TypeError(f'{cls.__name__}.max_length must be a positive integer')

    def __init__(self, user_id, *, options: Mapping | None = None):
        """``options``: the plug options, when the caller read them once for many feeds."""
        self.user_id = feed_user_id(user_id)
        options = model.options() if options is None else options
        self.redis = client(options['redis_url'])
        tag = self.key_format % {'user_id': self.user_id}
        self.key = f'{options["redis_prefix"]}:{{{tag}}}'
        # set once the feed was written from the database (same slot as the feed)
        self.built_key = f'{self.key}:built'
        # the user feeds of followed actors too big to fan out: merged when read
        self.pulled: tuple[RedisFeed, ...] = ()

    def __repr__(self):
        return f'<{type(self).__name__} {self.key}>'

    def all_keys(self) -> list[str]:
        """Every key the feed writes (all in its slot): what dropping the feed deletes."""
        return [self.key, self.built_key]

    # -- writing -----------------------------------------------------------

    def queue_add(self, pipe, entries: Iterable[Entry], *, if_built: bool = False) -> None:
        """Queue on ``pipe`` the commands adding ``entries`` and trimming to ``max_length``.

        Adding an entry again changes nothing: writes are safe to repeat. With
        ``if_built``, only a feed whose reader is active (its built marker
        lives) is written: the others are written from the database when read.
        """
        mapping = {entry.member: entry.score for entry in entries}
        if not mapping:
            return
        if if_built:
            pairs = [value for member, score in mapping.items() for value in (score, member)]
            ADD_IF_BUILT.queue(pipe, [self.key, self.built_key], [self.max_length, *pairs])
        else:
            pipe.zadd(self.key, mapping)
            pipe.zremrangebyrank(self.key, 0, -(self.max_length + 1))

    def queue_remove(self, pipe, members: Iterable[str]) -> None:
        """Queue on ``pipe`` the command removing ``members``."""
        pipe.zrem(self.key, *members)

    def add(self, action) -> None:
        """Add one action (an Action, or anything with ``id`` and ``timestamp``)."""
        self.add_many([action])

    def add_many(self, actions) -> None:
        """Add actions and trim to ``max_length``: one round trip."""
        if isinstance(actions, (str, bytes, Mapping)) or not isinstance(actions, Iterable):
            raise TypeError(f'actions must be a list of actions, got {type(actions).__name__}')
        entries = [entry_of(a, f'actions[{i}]') for i, a in enumerate(actions)]
        if entries:
            execute(self.redis, lambda pipe: self.queue_add(pipe, entries), self.scripts)

    def remove(self, action) -> None:
        """Remove an action, given as an Action or its id (it may be gone from the database)."""
        action_id = getattr(action, 'id', action)
        try:
            action_id = model.storage().action_id(action_id)
        except ValueError:
            raise ValueError(f'action is not an action or an action id: {action!r}') from None
        members = [member_of(action_id)]
        execute(self.redis, lambda pipe: self.queue_remove(pipe, members), self.scripts)

    # -- reading -----------------------------------------------------------

    def count(self) -> int:
        """How many entries the feed shows (deleted actions included until removed).

        With pulled feeds: its own and theirs, at most ``max_length``.
        """
        if not self.pulled:
            return self.redis.zcard(self.key)
        pipe = self.redis.pipeline(transaction=False)
        for feed in (self, *self.pulled):
            pipe.zcard(feed.key)
        return min(self.max_length, sum(pipe.execute()))

    def entries(self, offset: int, count: int | None, before: Entry | None = None) -> list[Entry]:
        """``count`` entries (None: all) newest first, skipping ``offset``, older than ``before``.

        One round trip, and one per pulled feed; no database. Pulled feeds
        are merged in, as far as ``max_length`` entries.
        """
        if not self.pulled:
            return self._own_entries(offset, count, before)
        stop = self.max_length if count is None else min(self.max_length, offset + count)
        sources = [feed._own_entries(0, stop, before) for feed in (self, *self.pulled)]
        merged = heapq.merge(*sources, reverse=True)
        unique = (entry for entry, _ in itertools.groupby(merged))  # a copy is adjacent
        return list(itertools.islice(unique, offset, stop))

    def _own_entries(self, offset: int, count: int | None, before: Entry | None) -> list[Entry]:
        if before is None:
            stop = -1 if count is None else offset + count - 1
            return _entries(self.redis.zrevrange(self.key, offset, stop, withscores=True))
        args = [before.score, before.member, offset, -1 if count is None else count]
        found = BEFORE(self.redis, [self.key], args)
        if found[0] == 0:
            return _entries(found[1])
        bucket = [e for e in _entries(found[1]) if e.member < before.member]
        older = (bucket + _entries(found[2]))[offset:]
        return older if count is None else older[:count]

    def query(self) -> FeedQuery:
        """The feed as a lazy query: ``.limit(n)``, ``.before(cursor)``, ``.all()``..."""
        return FeedQuery(self)

    def __getitem__(self, item):
        return self.query()[item]

    def __iter__(self):
        return iter(self.query().all())

    def before(self, cursor) -> FeedQuery:
        """The actions older than ``cursor`` (an ``action.cursor`` string, or the action)."""
        return self.query().before(cursor)
