"""ActionManager: the public API of activitystream, the same on every backend.

Validation, recipient handling, visibility and the seen/read rules live here,
once; storage backends only store and query.

Seen and read are two watermark-based states per recipient:

- *seen* (the notification menu was opened): every action at or before the
  recipient's last-seen time. The time is the recipient's own
  ``last_activity_seen`` attribute when its class has one (0.1.1's way),
  otherwise it is kept by the package.
- *read* (that notification was clicked): every action at or before the
  read-until watermark, plus those marked read one by one after it. Marking
  all read moves the watermark: one write, whatever the number of actions.

Watermarks only move forward, each by one conditional write, so concurrent
requests never undo each other. Counts look back at most ``unseen_window``
(a plug option): what is older counts as seen and read, so a new user does not
start with every past broadcast unseen, and a count stays a bounded index range.
"""

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from itertools import islice
from typing import Any, overload

from . import checks, live, model, preferences, refs
from .action import Action, Page
from .query import ActionQuery, Source, _non_negative
from .storage.base import (
    REMOVED,
    ActionRecord,
    Backend,
    Cursor,
    NewAction,
    Ref,
    SeenState,
    StreamFilter,
)
from .timeutil import to_utc, utcnow

CREATE_ARGS = (
    'actor',
    'verb',
    'target',
    'action_obj',
    'description',
    'extra',
    'recipients',
    'timestamp',
    'public',
)
MAX_VERB = 255
# a watermark write lost to a concurrent one is tried again this many times
WATERMARK_TRIES = 5
# create_many validates and writes this many items at a time: its memory stays one chunk
CREATE_CHUNK = 1000
# delete, delete_actions, erase and purge remove this many actions per batch by default
DELETE_BATCH = 500
# what erase removes besides the actions and what hangs from them
ERASED = (
    *REMOVED,
    'seen',
    'subscriptions',
    'outbox_jobs',
    'preferences',
    'digest_items',
    'digest_marks',
)
MILLISECOND = timedelta(milliseconds=1)

# a validated action: (what to write, {Ref: entity given}, the recipient entities given or None)
Prepared = tuple[NewAction, dict[Ref, Any], list[Any] | None]
# (limit, offset, before) -> records: one window of a stream
Fetch = Callable[[int | None, int, Cursor | None], list[ActionRecord]]


def _optional_ref(obj: Any, argname: str, flush: bool = False) -> Ref | None:
    return None if obj is None else refs.ref_of(obj, argname, flush)


def _verb(verb: Any, argname: str) -> str:
    checks.text(verb, argname)
    if not verb.strip():
        raise ValueError(f'{argname} must not be empty')
    if len(verb) > MAX_VERB:
        raise ValueError(f'{argname} is {len(verb)} characters long; at most {MAX_VERB} fit')
    return verb


def _extra(extra: Any, argname: str) -> str | None:
    if extra is None:
        return None
    try:
        return json.dumps(extra, allow_nan=False, sort_keys=True)
    except (TypeError, ValueError) as exc:
        raise TypeError(f'{argname} is not JSON-serializable: {exc}') from None


def _public(public: Any, recipients: Any, argname: str) -> bool:
    if public is None:
        return recipients is None  # a broadcast is public, a targeted action private
    if not isinstance(public, bool):
        raise TypeError(f'{argname} must be True, False or None, got {type(public).__name__}')
    return public


def _without(
    actor: Ref, recipient_refs: list[Ref] | None, entities: list[Any] | None
) -> tuple[list[Ref] | None, list[Any] | None]:
    """The recipients but the actor: nobody is notified of their own action."""
    if recipient_refs is None or actor not in recipient_refs:
        return recipient_refs, entities
    index = recipient_refs.index(actor)
    others = recipient_refs[:index] + recipient_refs[index + 1 :]
    return others, entities and entities[:index] + entities[index + 1 :]


def _to_feeds(ids: list[Any], prepared: list[Prepared]) -> None:
    """The site's feed manager (plug option ``feed_manager``) fans the new actions out."""
    manager = model.options().get('feed_manager')
    if manager is not None:
        manager.actions_created((id_, new) for id_, (new, _, _) in zip(ids, prepared, strict=True))


def _batch(batch: int) -> int:
    if _non_negative(batch, 'batch') == 0:
        raise ValueError('batch must be at least 1, got 0')
    return batch


def _without_orphans(storage: Backend, fetch: Fetch, known: dict[Ref, Any]) -> Fetch:
    """``fetch`` leaving out the actions whose actor is gone (plug option ``hide_orphans``).

    A window is filled past them from where it ended, as feeds fill past
    deleted actions: one query for the actors of each window, and the actors
    found go to ``known`` for the page to use.
    """

    def fetch_kept(limit: int | None, offset: int, before: Cursor | None) -> list[ActionRecord]:
        records = fetch(limit, offset, before)
        kept: list[ActionRecord] = []
        known.clear()
        while True:
            actors = refs.resolve(storage, {r.actor for r in records} - set(known))
            known.update(actors)
            kept += [r for r in records if known[r.actor] is not None]
            if limit is None or len(kept) >= limit or len(records) < limit:
                return kept[:limit] if limit is not None else kept
            last = records[-1]
            records = fetch(limit, 0, Cursor(last.timestamp, last.id))

    return fetch_kept


def _told(told: dict[Ref, None] | None, prepared: list[Prepared]) -> dict[Ref, None] | None:
    """``told`` plus the recipients of ``prepared`` (each once); None (everyone) for a broadcast."""
    if told is None or any(new.recipients is None for new, _, _ in prepared):
        return None
    told.update(dict.fromkeys(r for new, _, _ in prepared for r in new.recipients or ()))
    return told


class ActionManager:
    """Create actions and read them back as streams and notifications.

    ``from activitystream import am`` gives the shared instance; creating your
    own ``ActionManager()`` (as the 0.1.1 README does) is the same thing.
    """

    def __init__(self, storage: Backend | None = None) -> None:
        self._storage = storage

    @property
    def storage(self) -> Backend:
        return self._storage or model.storage()

    # -- writing -----------------------------------------------------------

    def _prepare(
        self,
        prefix: str,
        actor: Any = None,
        verb: Any = None,
        target: Any = None,
        action_obj: Any = None,
        description: str | None = None,
        extra: Any = None,
        recipients: Any = None,
        timestamp: datetime | None = None,
        public: bool | None = None,
    ) -> Prepared:
        """Validate one action's arguments; return (NewAction, {Ref: entity}, recipients)."""
        known: dict[Ref | None, Any] = {}
        actor_ref = refs.ref_of(actor, prefix + 'actor', flush=True)
        known[actor_ref] = actor
        if verb is None:
            raise ValueError(f'{prefix}verb is required')
        verb = _verb(verb, prefix + 'verb')
        target_ref = _optional_ref(target, prefix + 'target', flush=True)
        obj_ref = _optional_ref(action_obj, prefix + 'action_obj', flush=True)
        known.update({target_ref: target, obj_ref: action_obj})
        checks.text(description, prefix + 'description', optional=True)
        recipient_refs, recipient_entities = refs.ref_list(
            recipients, prefix + 'recipients', flush=True
        )
        recipient_refs, recipient_entities = _without(actor_ref, recipient_refs, recipient_entities)
        when = utcnow() if timestamp is None else to_utc(timestamp, prefix + 'timestamp')
        new = NewAction(
            actor=actor_ref,
            verb=verb,
            target=target_ref,
            action_obj=obj_ref,
            description=description,
            extra=_extra(extra, prefix + 'extra'),
            timestamp=when,
            recipients=recipient_refs,
            public=_public(public, recipients, prefix + 'public'),
        )
        given = {ref: e for ref, e in known.items() if ref is not None and not isinstance(e, Ref)}
        if recipient_entities and any(isinstance(e, Ref) for e in recipient_entities):
            recipient_entities = None  # given as references: load them when asked
        return new, given, recipient_entities

    def _store(self, prepared: list[Prepared]) -> list[Action]:
        actions = self._insert(prepared)
        live.changed(_told({}, prepared))
        return actions

    def _insert(self, prepared: list[Prepared]) -> list[Action]:
        """Write prepared actions; return them as Actions that read back without a query."""
        storage = self.storage
        ids = storage.insert_actions([new for new, _, _ in prepared])
        records = [
            ActionRecord(
                id=id_,
                actor=new.actor,
                verb=new.verb,
                target=new.target,
                action_obj=new.action_obj,
                description=new.description,
                extra=new.extra,
                timestamp=new.timestamp,
                broadcast=new.recipients is None,
                public=new.public,
            )
            for id_, (new, _, _) in zip(ids, prepared, strict=True)
        ]
        page = Page(storage, records)
        # what we were given needs no query to be read back
        page.known_entities({ref: e for _, known, _ in prepared for ref, e in known.items()})
        given = zip(ids, prepared, strict=True)
        page.known_recipients({id_: rs for id_, (_, _, rs) in given if rs is not None})
        _to_feeds(ids, prepared)
        return page.actions

    def create(
        self,
        actor: Any,
        verb: str,
        target: Any = None,
        action_obj: Any = None,
        description: str | None = None,
        extra: Any = None,
        recipients: Any = None,
        timestamp: datetime | None = None,
        public: bool | None = None,
        kind: str | None = None,
    ) -> Action:
        """Store an action and deliver it; return it.

        ``recipients=None`` is a broadcast: every recipient sees it. The actor
        is never one of its own recipients. ``public`` says whether the public
        streams (actor, target, object; AS2, Atom) show it: by default a
        broadcast is public and a targeted action is not. Bad arguments raise
        TypeError/ValueError naming the argument, and then nothing is written.
        Open ``events`` streams of the recipients are told after the commit.
        ``kind`` (default: the verb) is the notification's kind: recipients
        who turned its ``web`` channel off are left out (one query, only for
        a declared kind; see ``activitystream.preferences``).
        """
        if kind is not None:
            preferences.checked_kind(kind)
        prepared = self._prepare(
            '', actor, verb, target, action_obj, description, extra, recipients, timestamp, public
        )
        return self._store([self._for_web(prepared, verb if kind is None else kind)])[0]

    def _for_web(self, prepared: Prepared, kind: str) -> Prepared:
        """``prepared`` without the recipients who turned the web channel of ``kind`` off."""
        new, known, entities = prepared
        if not new.recipients:
            return prepared
        channels = preferences.channels_for(self.storage, kind, new.recipients, ['web'])
        if channels is None:
            return prepared
        kept = [i for i, r in enumerate(new.recipients) if 'web' in channels[r]]
        if len(kept) == len(new.recipients):
            return prepared
        new.recipients = [new.recipients[i] for i in kept]
        return new, known, entities and [entities[i] for i in kept]

    def check(self, **arguments: Any) -> None:
        """Raise what ``create(**arguments)`` would raise for them, writing nothing."""
        self._prepare('', **arguments)

    def _item(self, index: int, item: Any) -> Prepared:
        """``_prepare`` of ``create_many``'s item at ``index``; errors name it."""
        prefix = f'items[{index}].'
        if not isinstance(item, Mapping):
            raise TypeError(f'items[{index}] must be a dict, got {type(item).__name__}')
        unknown = sorted(set(item) - set(CREATE_ARGS))
        if unknown:
            raise TypeError(f'{prefix}{unknown[0]} is not an argument of create()')
        return self._prepare(prefix, **item)

    # a list is validated whole and gives the actions; a generator is streamed and gives a count
    # (a list typed as an Iterable still gives the list at run time: no overload can say so)
    @overload
    def create_many(self, items: Sequence[Mapping[str, Any]]) -> list[Action]: ...  # type: ignore[overload-overlap]

    @overload
    def create_many(self, items: Iterable[Mapping[str, Any]]) -> int: ...

    def create_many(self, items: Iterable[Mapping[str, Any]]) -> list[Action] | int:
        """Store many actions in bulk: each item is a dict of ``create``'s arguments.

        Items are validated and written ``CREATE_CHUNK`` at a time, so memory
        stays one chunk whatever the batch. A list (or tuple) is validated
        whole first: a bad item raises an error naming its index and nothing
        of the batch is written; the created actions are returned. Any other
        iterable (a generator) is streamed: the number of actions written is
        returned, and a bad item raises before its own chunk is written, after
        the chunks before it (the caller's transaction, rolled back, takes
        them back on SQL; on MongoDB they stay). Open ``events`` streams of
        the recipients are told once each, after the commit.
        """
        if isinstance(items, (str, bytes, Mapping)) or not isinstance(items, Iterable):
            raise TypeError(f'items must be a list of dicts, got {type(items).__name__}')
        given = isinstance(items, Sequence)
        if (
            isinstance(items, Sequence) and len(items) > CREATE_CHUNK
        ):  # one chunk is validated whole anyway
            for index, item in enumerate(items):
                self._item(index, item)
        numbered, count = enumerate(items), 0
        created: list[Action] = []
        told: dict[Ref, None] | None = {}
        while chunk := [self._item(index, item) for index, item in islice(numbered, CREATE_CHUNK)]:
            if given:
                created += self._insert(chunk)
            else:
                _to_feeds(self.storage.insert_actions([new for new, _, _ in chunk]), chunk)
            count += len(chunk)
            told = _told(told, chunk)
        if count:
            live.changed(told)
        return created if given else count

    # -- reading -----------------------------------------------------------

    def _query(
        self,
        fetch: Fetch,
        total: Callable[[], int],
        read_state: Callable[[list[Any]], tuple[Any, Any, Any]] | None = None,
    ) -> ActionQuery:
        storage = self.storage
        known: dict[Ref, Any] = {}
        if model.options().get('hide_orphans'):
            fetch = _without_orphans(storage, fetch, known)

        def page(records: list[ActionRecord]) -> Page:
            found = Page(storage, records, read_state)
            if known:
                found.known_entities(known)
            return found

        return ActionQuery(Source(fetch, total, page, storage.action_id))

    def get_by_recipient(self, recipient: Any) -> ActionQuery:
        """Actions delivered to ``recipient`` and broadcasts, newest first.

        Actions read through it tell ``seen`` and ``read`` for that recipient.
        """
        ref = refs.ref_of(recipient, 'recipient')
        storage = self.storage

        def read_state(ids: list[Any]) -> tuple[datetime, datetime, set[Any]]:
            state = storage.seen_state(ref)
            last_seen = self._since(self._last_seen(recipient, state))
            return last_seen, self._since(state.read_until), storage.read_marks(ref, ids)

        return self._query(
            lambda limit, offset, before: storage.inbox(ref, limit, offset, before),
            lambda: storage.inbox_count(ref),
            read_state,
        )

    def get_actions(
        self,
        actor: Any = None,
        target: Any = None,
        action_obj: Any = None,
        verb: str | None = None,
        limit: int | None = None,
        viewer: Any = None,
        everything: bool = False,
    ) -> ActionQuery:
        """The stream of an actor, a target, an object and/or a verb, newest first.

        It holds the public actions, plus those ``viewer`` (an entity, say the
        logged-in user) did or received; ``everything=True`` shows private
        actions too, for code that has checked who may see them.
        """
        if not isinstance(everything, bool):
            raise TypeError(f'everything must be True or False, got {type(everything).__name__}')
        where = StreamFilter(
            actor=_optional_ref(actor, 'actor'),
            target=_optional_ref(target, 'target'),
            action_obj=_optional_ref(action_obj, 'action_obj'),
            verb=None if verb is None else _verb(verb, 'verb'),
            viewer=_optional_ref(viewer, 'viewer'),
            everything=everything,
        )
        storage = self.storage
        query = self._query(
            lambda lim, offset, before: storage.stream(where, lim, offset, before),
            lambda: storage.stream_count(where),
        )
        return query if limit is None else query.limit(limit)

    # -- seen --------------------------------------------------------------

    def _since(self, watermark: datetime | None) -> datetime:
        """Where counting starts: the watermark, but no further back than the window."""
        start = utcnow() - model.options()['unseen_window']
        return start if watermark is None or watermark < start else watermark

    def _seen_attribute(self, recipient: Any) -> str | None:
        name = model.options().get('seen_attribute', 'last_activity_seen')
        return name if hasattr(type(recipient), name) else None

    def _last_seen(self, recipient: Any, state: SeenState | None) -> datetime | None:
        """The recipient's seen attribute, else ``state`` (read only when it has none)."""
        attr = self._seen_attribute(recipient)
        if attr is None:
            assert state is not None, 'a recipient without a seen attribute needs its SeenState'
            return state.last_seen
        return self._seen_value(recipient, attr)

    @staticmethod
    def _seen_value(recipient: Any, attr: str) -> datetime | None:
        """The recipient's own last-seen time, in its attribute ``attr`` (naive UTC)."""
        value = getattr(recipient, attr)
        return None if value is None else to_utc(value, attr)

    def last_seen(self, recipient: Any) -> datetime | None:
        """When ``recipient`` last saw its notifications (naive UTC), or None."""
        return self._last_seen_of(recipient, refs.ref_of(recipient, 'recipient'))

    def _last_seen_of(self, recipient: Any, ref: Ref) -> datetime | None:
        """``last_seen`` of ``recipient`` whose ref is ``ref``: the state is read only when
        the recipient has no seen attribute."""
        attr = self._seen_attribute(recipient)
        if attr is None:
            return self.storage.seen_state(ref).last_seen
        return self._seen_value(recipient, attr)

    def seen_until(self, recipient: Any) -> datetime:
        """Notifications of ``recipient`` at or before this time count as seen (naive UTC).

        Its last-seen time, or the start of the ``unseen_window`` when that is later.
        """
        return self._since(self.last_seen(recipient))

    def _advance(
        self,
        read: Callable[[], Any],
        write: Callable[[datetime, Any], bool],
        until: datetime,
    ) -> tuple[bool, datetime | None]:
        """Move a watermark forward to ``until``: (moved, the value before).

        ``read()`` gives the stored value, ``write(until, expected)`` moves it
        only if it is still ``expected``; lost to a concurrent write, try again.
        """
        for _ in range(WATERMARK_TRIES):
            current = read()
            before = None if current is None else to_utc(current, 'watermark')
            if before is not None and before >= until:
                return False, before
            if write(until, current):
                return True, before
        return False, before

    def _advance_last_seen(
        self, recipient: Any, ref: Ref, until: datetime
    ) -> tuple[bool, datetime | None]:
        storage, attr = self.storage, self._seen_attribute(recipient)
        if attr is not None:
            return self._advance(
                lambda: storage.entity_attribute(recipient, attr),
                lambda when, expected: storage.advance_entity_attribute(
                    recipient, attr, when, expected
                ),
                until,
            )
        return self._advance(
            lambda: storage.seen_state(ref).last_seen,
            lambda when, expected: storage.advance_seen_state(ref, 'last_seen', when, expected),
            until,
        )

    def mark_seen(self, recipient: Any, until: datetime | None = None) -> datetime | None:
        """Mark the notifications of ``recipient`` seen up to ``until``; return the previous time.

        ``until`` (default: now) is capped at the newest notification the
        recipient has, so what arrives later stays unseen, and the last-seen
        time never moves back. Actions at or before it are seen.
        """
        ref = refs.ref_of(recipient, 'recipient')
        until = None if until is None else to_utc(until, 'until')
        newest = self.storage.newest_visible(ref)
        if newest is None:
            return self.last_seen(recipient)
        moved, previous = self._advance_last_seen(
            recipient, ref, newest if until is None else min(until, newest)
        )
        if moved:
            live.changed([ref])
        return previous

    def read_until(self, recipient: Any) -> datetime:
        """Notifications of ``recipient`` at or before this time count as read (naive UTC).

        Its read-until watermark, or the start of the ``unseen_window`` when
        that is later; actions marked read one by one after it are read too.
        """
        ref = refs.ref_of(recipient, 'recipient')
        return self._since(self.storage.seen_state(ref).read_until)

    def count_not_seen_by_recipient(self, recipient: Any) -> int:
        """How many actions visible to ``recipient`` are newer than its last-seen time."""
        ref = refs.ref_of(recipient, 'recipient')
        return self.storage.inbox_count(ref, self._since(self._last_seen_of(recipient, ref)))

    # -- read --------------------------------------------------------------

    def _unread(self, ref: Ref, read_until: datetime | None) -> int:
        storage, since = self.storage, self._since(read_until)
        return storage.inbox_count(ref, since) - storage.count_read_marks(ref, since)

    def count_unread_by_recipient(self, recipient: Any) -> int:
        """How many actions visible to ``recipient`` it has not read. Exact, no cap."""
        ref = refs.ref_of(recipient, 'recipient')
        return self._unread(ref, self.storage.seen_state(ref).read_until)

    def _action_ids(self, actions: Any) -> list[Any]:
        """Storage ids of ``actions`` (Actions or ids); errors name the bad item."""
        if isinstance(actions, Action):
            return [actions.id]
        if isinstance(actions, (str, bytes)) or not isinstance(actions, Iterable):
            raise TypeError(
                f'actions must be a list of actions or None, got {type(actions).__name__}'
            )
        ids = []
        for index, action in enumerate(actions):
            try:
                ids.append(self.storage.action_id(getattr(action, 'id', action)))
            except ValueError:
                raise ValueError(f'actions[{index}] is not an action or an action id') from None
        return ids

    def mark_read(self, recipient: Any, actions: Any = None) -> int:
        """Mark ``actions`` (all when None, broadcasts included) read; return how many changed.

        Only what this very call changed is counted: two requests marking the
        same action count it once. Actions not visible to ``recipient`` are left alone.
        """
        ref = refs.ref_of(recipient, 'recipient')
        storage = self.storage
        if actions is None:
            return self._mark_all_read(ref)
        ids = self._action_ids(actions)
        since = self._since(storage.seen_state(ref).read_until)
        unread = {id_: ts for id_, ts in storage.visible(ref, ids).items() if ts > since}
        new = set(unread) - storage.read_marks(ref, unread)
        return len(storage.add_read_marks(ref, {id_: unread[id_] for id_ in new}))

    def _mark_all_read(self, ref: Ref) -> int:
        storage = self.storage
        newest = storage.newest_visible(ref)
        for _ in range(WATERMARK_TRIES):
            read_until = storage.seen_state(ref).read_until
            if newest is None or (read_until is not None and read_until >= newest):
                return 0
            changed = self._unread(ref, read_until)
            if storage.advance_seen_state(ref, 'read_until', newest, read_until):
                storage.drop_read_marks(ref, newest)
                return changed
        return 0

    def mark_unread(self, recipient: Any, actions: Any) -> int:
        """Mark ``actions`` unread again for ``recipient``; return how many changed.

        A per-item mark is dropped; an action under the read-until watermark
        moves the watermark back to just before it, and the visible actions
        in between that stay read get per-item marks (a write proportional to
        them). Actions older than ``unseen_window`` always count as read.
        """
        ref = refs.ref_of(recipient, 'recipient')
        storage = self.storage
        visible = storage.visible(ref, self._action_ids(actions))
        changed = storage.delete_read_marks(ref, storage.read_marks(ref, visible))
        for _ in range(WATERMARK_TRIES):
            read_until = storage.seen_state(ref).read_until
            if read_until is None:  # nothing was read up to a watermark
                break
            start = self._since(None)
            covered = {id_: ts for id_, ts in visible.items() if start < ts <= read_until}
            if not covered:
                break
            rewound = min(covered.values()) - MILLISECOND
            still = self._read_between(ref, rewound, read_until, set(covered))
            storage.add_read_marks(ref, still)
            if storage.rewind_read_until(ref, rewound, read_until):
                changed += len(covered)
                break
        if changed:
            live.changed([ref])
        return changed

    def _read_between(
        self, ref: Ref, after: datetime, until: datetime, unread: set[Any]
    ) -> dict[Any, datetime]:
        """{id: timestamp} of the actions visible to ``ref`` in (after, until], but ``unread``.

        Read a page at a time from the newest (the inbox index); the marks
        already there are left out.
        """
        storage, before = self.storage, None
        found: dict[Any, datetime] = {}
        while True:
            page = storage.inbox(ref, CREATE_CHUNK, 0, before)
            for record in page:
                if record.timestamp <= after:
                    page = []
                    break
                if record.timestamp <= until and record.id not in unread:
                    found[record.id] = record.timestamp
            if len(page) < CREATE_CHUNK:
                marked = storage.read_marks(ref, found)
                return {id_: ts for id_, ts in found.items() if id_ not in marked}
            before = Cursor(page[-1].timestamp, page[-1].id)

    # -- dismissing and deleting --------------------------------------------

    def dismiss(self, recipient: Any, actions: Any) -> int:
        """Take ``actions`` out of the inbox of ``recipient`` (its counts follow); how many.

        Others keep them, broadcasts included; the actions stay in the
        streams. Actions not in the inbox of ``recipient`` are left alone.
        The site's feed manager takes them out of the recipient's notification
        feed (through the outbox).
        """
        ref = refs.ref_of(recipient, 'recipient')
        ids = self._action_ids(actions)
        storage = self.storage
        storage.delete_read_marks(ref, ids)  # first: a crash leaves an unread action, not a count
        taken = storage.dismiss(ref, ids)
        if taken:
            manager = model.options().get('feed_manager')
            if manager is not None:
                manager.actions_dismissed(ref, taken)
            live.changed([ref])
        return len(taken)

    def _remove(
        self,
        storage: Backend,
        records: list[ActionRecord],
        counts: dict[str, int],
        followers_now: bool = False,
    ) -> set[Ref] | None:
        """Delete ``records`` with what hangs from them, into ``counts``; who was told.

        The site's feed manager gets their removal from the feeds (through the outbox).
        """
        ids = [record.id for record in records]
        broadcast = any(record.broadcast for record in records)
        told = None if broadcast else {r for rs in storage.recipients_of(ids).values() for r in rs}
        manager = model.options().get('feed_manager')
        if manager is not None:  # first: it reads the recipients of the notification feeds
            manager.actions_deleted(records, followers_now)
        for kind, number in storage.delete_actions(ids).items():
            counts[kind] += number
        return told

    def _delete_records(
        self,
        next_batch: Callable[[], list[ActionRecord]],
        counts: dict[str, int],
        followers_now: bool = False,
    ) -> dict[str, int]:
        """Remove the batches ``next_batch()`` gives until it gives none; tell those affected."""
        storage = self.storage
        told: set[Ref] | None = set()
        while records := next_batch():
            found = self._remove(storage, records, counts, followers_now)
            told = None if told is None or found is None else told | found
        if counts['actions']:
            live.changed(told)
        return counts

    def delete(self, actions: Any) -> dict[str, int]:
        """Delete actions (an Action, or a list of Actions or ids) and all that hangs from them.

        Their deliveries, dismissals and read marks go in the caller's
        transaction, so counts and pages agree at once; the site's feeds drop
        them through the outbox. Returns {kind: how many} (see ``REMOVED``).
        """
        ids = iter(self._action_ids(actions))
        storage = self.storage

        def next_batch() -> list[ActionRecord]:
            chunk = list(islice(ids, DELETE_BATCH))
            return storage.load_actions(chunk) if chunk else []

        return self._delete_records(next_batch, dict.fromkeys(REMOVED, 0))

    def delete_actions(
        self,
        actor: Any = None,
        target: Any = None,
        action_obj: Any = None,
        batch: int = DELETE_BATCH,
    ) -> dict[str, int]:
        """Delete every action of ``actor``, ``target`` and/or ``action_obj``, as ``delete`` does.

        "This post was removed: its activities go too". At least one is
        required; ``batch`` actions are deleted at a time (memory stays one batch).
        """
        where = StreamFilter(
            actor=_optional_ref(actor, 'actor'),
            target=_optional_ref(target, 'target'),
            action_obj=_optional_ref(action_obj, 'action_obj'),
            everything=True,
        )
        if where.actor is where.target is where.action_obj is None:
            raise ValueError('delete_actions() needs actor, target or action_obj')
        batch, storage = _batch(batch), self.storage
        return self._delete_records(
            lambda: storage.stream(where, batch, 0), dict.fromkeys(REMOVED, 0)
        )

    def erase(self, entity: Any, batch: int = DELETE_BATCH) -> dict[str, int]:
        """Erase ``entity`` (the right to erasure): {kind: how many} were removed (``ERASED``).

        Every action it did (with what hangs from them), every delivery to it,
        its seen state, read marks and dismissals, its subscriptions both
        ways, the outbox work of its emits and of emits to its subscribers,
        its notification preferences, the digest items held for it, of its
        doing or about it (their texts name it) and its digest marks. Its
        feeds and the ``redis`` backend's lists of it are dropped, and its
        actions leave its followers' feeds, through the outbox once this
        commits. In the caller's transaction (call it where the host deletes
        the entity, or see ``erase_on_delete``), ``batch`` actions and jobs at
        a time.
        """
        from .subscriptions.backends import configured_backends, redis_lists  # they import am

        ref = refs.ref_of(entity, 'entity')
        batch, storage = _batch(batch), self.storage
        counts = dict.fromkeys(ERASED, 0)
        where = StreamFilter(actor=ref, everything=True)
        # its followers are read now, while its subscriptions are still there
        self._delete_records(lambda: storage.stream(where, batch, 0), counts, followers_now=True)
        for kind, number in storage.delete_recipient(ref).items():
            counts[kind] += number
        counts['subscriptions'] = storage.delete_subscriptions(ref)
        counts['outbox_jobs'] = self._erase_jobs(storage, ref, batch)
        counts['preferences'] = storage.delete_preferences(ref)
        counts.update(storage.delete_digests(ref))
        redis_lists.erased(ref, configured_backends().values())
        manager = model.options().get('feed_manager')
        if manager is not None:
            manager.user_erased(ref)
        return counts

    def _erase_jobs(self, storage: Backend, ref: Ref, batch: int) -> int:
        """Delete the outbox jobs of emits by ``ref`` or to its subscribers, a page at a time.

        Their texts name it. Other jobs stay: deliveries to an entity the host
        deleted are dropped when done, and feed jobs of deleted actions leave
        nothing shown.
        """
        pair, after, gone = [ref.type, ref.id], None, 0
        while page := storage.job_page(after, batch):
            named = [j.id for j in page if pair in (j.payload.get('actor'), j.payload.get('obj'))]
            gone += storage.delete_jobs(named)
            after = page[-1].id
        return gone

    def purge(
        self, older_than: timedelta, dry_run: bool = False, batch: int = DELETE_BATCH
    ) -> dict[str, int]:
        """Delete the actions older than ``older_than`` (a timedelta) with all that hangs from them.

        For retention (a Celery beat task, ``gearbox activitystream-purge``):
        the oldest first through the timestamp index, ``batch`` at a time,
        each batch in a transaction of its own (no long locks; it commits, so
        call it outside a request). ``dry_run`` counts what would go and
        deletes nothing. Returns {kind: how many} (see ``REMOVED``).
        """
        if not isinstance(older_than, timedelta):
            raise TypeError(f'older_than must be a timedelta, got {type(older_than).__name__}')
        if older_than <= timedelta(0):
            raise ValueError(f'older_than must be positive, got {older_than}')
        if not isinstance(dry_run, bool):
            raise TypeError(f'dry_run must be True or False, got {type(dry_run).__name__}')
        batch, cutoff = _batch(batch), utcnow() - older_than
        counts, after = dict.fromkeys(REMOVED, 0), None
        while True:
            with model.unit_of_work() as storage:
                records = storage.oldest_actions(cutoff, after, batch)
                if not records:
                    break
                if dry_run:
                    for kind, number in storage.hanging([r.id for r in records]).items():
                        counts[kind] += number
                else:
                    self._remove(storage, records, counts)
            after = Cursor(records[-1].timestamp, records[-1].id)
        if counts['actions'] and not dry_run and model.options().get('feed_manager'):
            from .delivery import kick

            kick()  # the feeds' removals were queued in the batches' own transactions
        return counts


am = ActionManager()
