"""Aggregated and notification feeds: "Alice, Bob and 3 others commented on X".

Stream Framework merges a new activity only into the latest 20 groups of a
feed, reading and rewriting them from Python in several round trips, keeps
15 activities and counts the rest loosely, and trims now and then; its
notification counts stop at 99. Here a group is found by its key wherever it
is in the feed, the merge is one Lua script per feed (atomic, one slot, in
the caller's pipeline), actor counts are exact, the feed is trimmed to
``max_length`` groups on every write, and unseen/unread counts are exact and
uncapped. Writes are idempotent: the feed knows every activity it keeps, so
a replayed chunk changes nothing. The Redis layout is in
:mod:`.aggregated_lua`.

Memory of a group: its newest ``max_group_activities`` activities, its
``max_latest_actors`` latest actors, and one entry per distinct actor (an
exact count needs them all; a HyperLogLog would not be exact). The default
grouping (verb, target, day) bounds the actors of a group to those of a day.
"""

import base64
import binascii
import json
from collections.abc import Iterable
from typing import Any, NamedTuple

from .. import live, model, refs
from ..action import Action, Page
from ..storage.base import ActionRecord, Ref, Storage
from . import aggregated_lua as lua
from .entries import EPOCH, MILLISECOND, Entry, entry_of, member_of
from .pages import WindowQuery, existing_records
from .redis_feed import RedisFeed
from .scripts import Script, execute

MAX_GROUP_KEY = 1000  # characters


ADD, REMOVE = Script(lua.ADD), Script(lua.REMOVE)
MARK_ALL, MARK_ONE, COUNTS = Script(lua.MARK_ALL), Script(lua.MARK_ONE), Script(lua.COUNTS)


def _ref(text: str) -> Ref | None:
    """The Ref of ``Type:id`` text ('' is none)."""
    if not text:
        return None
    type_, _, id_ = text.partition(':')
    return Ref(type_, id_)


def _group_data(raw: bytes) -> list:
    """A group's JSON as stored; cjson writes an empty list as ``{}``."""
    verb, target, activity_count, actor_count, activities, latest = json.loads(raw)
    return [verb, target, activity_count, actor_count, activities or [], latest or []]


def _positive(cls: type, name: str) -> None:
    value = getattr(cls, name)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise TypeError(f'{cls.__name__}.{name} must be a positive integer')


def _flag(value: Any, argname: str) -> str:
    if not isinstance(value, bool):
        raise TypeError(f'{argname} must be True or False, got {value!r}')
    return '1' if value else '0'


class _Row(NamedTuple):
    """A group as Redis holds it: key, score, decoded JSON (see aggregated_lua), (seen, read)."""

    key: str
    score: int
    data: list
    state: tuple

    @property
    def members(self) -> list[str]:
        return self.data[4][1::3]


class AggregatedActivity:
    """One group of a feed: its activities (Actions, newest first) and who did them.

    ``actor_count`` is exact; ``latest_actors`` are the display strings of
    the ``max_latest_actors`` actors who acted last, newest first, and
    ``others`` how many actors they leave out. ``seen`` and ``read`` are
    None outside notification feeds.
    """

    def __init__(self, row: _Row, actions: list[Action], page: Page) -> None:
        verb, target, activity_count, actor_count, _, latest = row.data
        self.key = row.key
        self.verb = verb
        self.target_ref = _ref(target)
        self.updated = EPOCH + row.score * MILLISECOND
        self.activity_count = activity_count
        self.actor_count = actor_count
        self.latest_actor_refs = tuple(_ref(a) for a in latest[1::2])
        self.actions = actions
        self.seen, self.read = row.state
        self._score = row.score
        self._page = page

    def __repr__(self) -> str:
        return f'<AggregatedActivity {self.key} {self.actor_count} actors>'

    @property
    def latest_actors(self) -> list:
        return [refs.display(self._page.shown(ref)) for ref in self.latest_actor_refs]

    @property
    def others(self) -> int:
        return self.actor_count - len(self.latest_actor_refs)

    @property
    def target(self) -> str | None:
        return refs.display(self._page.shown(self.target_ref))

    @property
    def cursor(self) -> str:
        """Where the next page starts: ``feed.before(group.cursor)`` gives older groups."""
        text = f'{self._score}/{self.key}'
        return base64.urlsafe_b64encode(text.encode()).decode().rstrip('=')


def _decode_cursor(text: str) -> Entry:
    try:
        padded = text + '=' * (-len(text) % 4)
        score, key = base64.urlsafe_b64decode(padded.encode()).decode().split('/', 1)
        return Entry(int(score), key)
    except (TypeError, ValueError, UnicodeError, binascii.Error):
        raise ValueError(f'before is not a cursor of this feed: {text!r}') from None


class _GroupsPage(Page):
    """A Page whose entities also include the groups' latest actors and targets."""

    def __init__(self, storage: Storage, records: list[ActionRecord], group_refs: set[Ref]) -> None:
        super().__init__(storage, records)
        self._group_refs = group_refs

    def _refs(self) -> set[Ref]:
        return super()._refs() | (self._group_refs - {None})


class GroupQuery(WindowQuery['AggregatedActivity']):
    """A window of an aggregated feed, read lazily as AggregatedActivities, newest first.

    One round trip for the groups, one query for all their actions, then one
    for their entities on first use (``refs.resolve``). Groups whose
    actions are all gone from the database are skipped (pages from the top or
    a cursor are filled past them).
    """

    noun = 'group'

    def before(self, cursor: Any) -> 'GroupQuery':
        """Only groups older than ``cursor`` (a ``group.cursor`` string, or the group)."""
        if isinstance(cursor, AggregatedActivity):
            position = Entry(cursor._score, cursor.key)
        elif isinstance(cursor, str):
            position = _decode_cursor(cursor)
        else:
            raise TypeError(f'before must be a cursor string or a group, got {cursor!r}')
        return self._copy(self._limit, self._offset, position)

    def all(self) -> list['AggregatedActivity']:
        if self._limit == 0:
            return []
        storage = model.storage()
        entries = self._feed.entries(self._offset, self._limit, self._before)
        kept, records = [], []
        fill = self._limit if self._offset == 0 else None  # fill up to a limit from the top
        while True:
            rows = self._feed._rows(entries)
            found = existing_records(storage, [Entry(0, m) for row in rows for m in row.members])
            records += found
            alive = {member_of(record.id) for record in found}
            kept += [row for row in rows if alive.intersection(row.members)]
            if not (fill is not None and len(kept) < fill and len(entries) == fill):
                break
            entries = self._feed.entries(0, self._limit, entries[-1])
        kept = kept[: self._limit]
        texts = [text for row in kept for text in [row.data[1], *row.data[5][1::2]]]
        group_refs = {ref for ref in map(_ref, texts) if ref is not None}
        page = _GroupsPage(storage, records, group_refs)
        by_member = {member_of(action.id): action for action in page.actions}
        return [
            AggregatedActivity(row, [by_member[m] for m in row.members if m in by_member], page)
            for row in kept
        ]


class AggregatedRedisFeed(RedisFeed):
    """A user's feed of groups: ``feed[:25]`` are AggregatedActivities, newest first.

    Subclasses name their key (``key_format``) and may change the grouping
    (``group_key``), the number of groups kept (``max_length``), of
    activities kept per group (``max_group_activities``, the count stays
    exact) and of latest actors shown (``max_latest_actors``).
    """

    key_format = 'feed:aggregated:%(user_id)s'
    max_length = 100
    scripts: tuple[Script, ...] = (ADD, REMOVE)
    max_group_activities = 25
    max_latest_actors = 3

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _positive(cls, 'max_group_activities')
        _positive(cls, 'max_latest_actors')

    def group_key(self, entry: Entry) -> str:
        """The group of ``entry``: its verb, target and UTC day by default.

        Override it to group otherwise; the key is text of at most 1000
        characters without NUL.
        """
        day = (EPOCH + entry.score * MILLISECOND).date().isoformat()
        return json.dumps([entry.verb, entry.target, day], separators=(',', ':'))

    def _group_of(self, entry: Entry) -> str:
        key = self.group_key(entry)
        if not isinstance(key, str):
            raise TypeError(f'group_key() must return a string, got {type(key).__name__}')
        if not key or len(key) > MAX_GROUP_KEY or '\0' in key:
            raise ValueError(f'group_key() must be 1 to 1000 characters without NUL, got {key!r}')
        return key

    def _keys(self) -> list[str]:
        parts = ('groups', 'actors', 'actn', 'acts')
        return [self.key, *(f'{self.key}:{p}' for p in parts), self.built_key]

    def all_keys(self) -> list[str]:
        return self._keys()

    def _live(self) -> list[str]:
        """[channel, feed name] of the live push after a write; none here."""
        return ['', '']

    # -- writing -----------------------------------------------------------

    def _complete(self, entries: list[Entry]) -> list[Entry]:
        """``entries`` with their verb, actor and target: those lacking them are read again.

        Old fan-out payloads and plain feeds' entries carry none; one query
        reads them, and actions gone from the database are left out.
        """
        missing = [entry for entry in entries if entry.verb is None]
        if not missing:
            return entries
        records = existing_records(model.storage(), missing)
        known = {member_of(record.id): entry_of(record) for record in records}
        return [
            known[e.member] if e.verb is None else e
            for e in entries
            if e.verb is not None or e.member in known
        ]

    def queue_add(self, pipe: Any, entries: Iterable[Entry], *, if_built: bool = False) -> None:
        """Queue on ``pipe`` the script merging ``entries`` into their groups, then trimming.

        With ``if_built``, only a feed already built is written (the script
        checks it): the others are written from the database on their next read.
        """
        entries = list(entries)
        for index, entry in enumerate(entries):
            if not isinstance(entry, Entry):
                raise TypeError(f'entries[{index}] must be an Entry, got {type(entry).__name__}')
        flag = _flag(if_built, 'if_built')
        # oldest first: a group keeps its newest activities, and counts every one
        entries = sorted(self._complete(entries))
        if not entries:
            return
        args = [flag, self.max_length, self.max_group_activities, self.max_latest_actors]
        args += self._live()
        for entry in entries:
            args += [self._group_of(entry), entry.score, entry.member]
            args += [entry.actor or '', entry.verb, entry.target or '']
        ADD.queue(pipe, self._keys(), args)

    def queue_remove(self, pipe: Any, members: Iterable[str]) -> None:
        """Queue on ``pipe`` the script taking the activities ``members`` out of their groups."""
        members = list(members)
        if not all(isinstance(m, str) for m in members):
            raise TypeError('members must be strings (entry members)')
        if members:
            args = [*self._live(), self.max_latest_actors, *members]
            REMOVE.queue(pipe, self._keys(), args)

    # -- reading -----------------------------------------------------------

    def count(self) -> int:
        """How many groups the feed holds.

        Pulled feeds (actors too big to fan out) hold single actions, not
        groups: they are not merged into aggregated feeds.
        """
        return self.redis.zcard(self.key)

    def entries(self, offset: int, count: int | None, before: Entry | None = None) -> list[Entry]:
        """The groups as (newest score, group key) entries, newest first: one round trip."""
        return self._own_entries(offset, count, before)

    def _state(self, pipe: Any, groups: list[str]) -> None:
        """Queue what ``_flags`` needs to say seen/read; nothing here."""

    def _flags(self, replies: list, count: int) -> list:
        return [(None, None)] * count

    def _rows(self, entries: list[Entry]) -> list[_Row]:
        """(key, score, data, (seen, read)) of the groups of ``entries``: one round trip."""
        if not entries:
            return []
        groups = [entry.member for entry in entries]
        pipe = self.redis.pipeline(transaction=False)
        pipe.hmget(f'{self.key}:groups', groups)
        self._state(pipe, groups)
        raw, *replies = pipe.execute()
        flags = self._flags(replies, len(groups))
        return [
            _Row(entry.member, entry.score, _group_data(data), state)
            for entry, data, state in zip(entries, raw, flags, strict=True)
            if data is not None
        ]

    # an aggregated feed reads as groups, not actions: not a RedisFeed's FeedQuery
    def query(self) -> GroupQuery:  # type: ignore[override]
        """The feed as a lazy query of groups: ``.limit(n)``, ``.before(cursor)``, ``.all()``..."""
        return GroupQuery(self)

    def before(self, cursor: Any) -> GroupQuery:  # type: ignore[override]  # groups, as query()
        """The groups older than ``cursor`` (a ``group.cursor`` string, or the group)."""
        return self.query().before(cursor)


class NotificationRedisFeed(AggregatedRedisFeed):
    """An aggregated feed with seen and read state, and exact counts of both.

    ``count_unseen()`` and ``count_unread()`` count groups exactly, without a
    cap, in O(log n). ``mark_all()`` is O(1): every change of a group takes
    the next number of a per-feed sequence, and marking all moves a
    watermark to the last one; ``mark_activity()`` marks one group until it
    changes again (a group that gets a new activity is unseen and unread
    again). Each write that changes the counts publishes them on the user's
    live channel (``activitystream.live.channel``), from the same script:
    ``{"feed": ..., "unseen_count": n, "unread_count": m}``; open event
    streams take any message there as "something changed".
    """

    key_format = 'feed:notification:%(user_id)s'
    scripts = (ADD, REMOVE, MARK_ALL, MARK_ONE)
    #: the class name users are stored under (their live channel's name)
    user_type = 'User'

    def _keys(self) -> list[str]:
        parts = ('state', 'touch', 'seenmarks', 'readmarks')
        return [*super()._keys(), *(f'{self.key}:{p}' for p in parts)]

    def _live(self) -> list[str]:
        return [
            live.channel(Ref(self.user_type, self.user_id)),
            self.key_format % {'user_id': self.user_id},
        ]

    def _script(self, script: Script, args: list) -> Any:
        return script(self.redis, self._keys(), args)

    def counts(self) -> tuple[int, int]:
        """(unseen, unread) groups: one round trip, O(log n)."""
        unseen, unread = self._script(COUNTS, [])
        return unseen, unread

    def count_unseen(self) -> int:
        return self.counts()[0]

    def count_unread(self) -> int:
        return self.counts()[1]

    def mark_all(self, seen: bool = True, read: bool = False) -> None:
        """Mark every group seen (and read, with ``read=True``): O(1), one round trip."""
        execute(self.redis, lambda pipe: self.queue_mark_all(pipe, seen, read), [MARK_ALL])

    def queue_mark_all(self, pipe: Any, seen: bool = True, read: bool = False) -> None:
        """Queue ``mark_all`` on ``pipe``: a rebuild marks what its reader had seen so."""
        args = [_flag(seen, 'seen'), _flag(read, 'read'), *self._live()]
        MARK_ALL.queue(pipe, self._keys(), args)

    def mark_activity(self, group: Any, seen: bool = True, read: bool = False) -> bool:
        """Mark one group (an AggregatedActivity, its key, or an action of it) seen / read.

        False when the feed has no such group (say, trimmed since it was read).
        """
        if isinstance(group, AggregatedActivity):
            key = group.key
        elif isinstance(group, str):
            key = group
        elif hasattr(group, 'timestamp') and hasattr(group, 'id'):
            entries = self._complete([entry_of(group, 'group')])
            if not entries:
                return False
            key = self._group_of(entries[0])
        else:
            raise TypeError(f'group must be a group, its key or an action, got {group!r}')
        mark = lambda pipe: self.queue_mark_activity(pipe, key, seen, read)  # noqa: E731
        return bool(execute(self.redis, mark, [MARK_ONE])[0])

    def queue_mark_activity(
        self, pipe: Any, key: str, seen: bool = True, read: bool = False
    ) -> None:
        """Queue ``mark_activity`` of the group ``key`` on ``pipe``: a rebuild marks the
        groups its reader had opened."""
        args = [key, _flag(seen, 'seen'), _flag(read, 'read'), *self._live()]
        MARK_ONE.queue(pipe, self._keys(), args)

    def _state(self, pipe: Any, groups: list[str]) -> None:
        pipe.zmscore(f'{self.key}:touch', groups)
        pipe.zmscore(f'{self.key}:seenmarks', groups)
        pipe.zmscore(f'{self.key}:readmarks', groups)
        pipe.hmget(f'{self.key}:state', ['seen', 'read'])

    def _flags(self, replies: list, count: int) -> list:
        touch, seen_marks, read_marks, marks = replies
        seen_at, read_at = (int(m or 0) for m in marks)
        return [
            (
                touched is None or touched <= seen_at or seen_mark is not None,
                touched is None or touched <= read_at or read_mark is not None,
            )
            for touched, seen_mark, read_mark in zip(touch, seen_marks, read_marks, strict=True)
        ]
