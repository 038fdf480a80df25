"""The storage contract: what a backend must answer, in plain value types.

A backend (``storage.sqla``, ``storage.ming``) implements :class:`Storage` with
schema and queries only. Validation, reference resolution, seen/read logic and
rendering live above this line, once, in ``manager.py`` and friends.

All datetimes crossing this line are naive UTC with millisecond precision
(MongoDB keeps milliseconds, so both backends are held to that).
"""

import json
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

REF_PART_MAX = 128  # the longest class name, and the longest key string, a backend stores


class Ref(NamedTuple):
    """A host entity as stored: its type name (see ``entities``) and its primary key as a string.

    A named tuple: pages build and hash dozens of these per call, and a tuple
    is built, hashed and compared in C. Public (``activitystream.Ref``): scripts
    pass one wherever an entity is expected, so an import need not load its
    entities (see ``checks.ref``).
    """

    type: str
    id: str


@dataclass
class NewAction:
    """An action about to be written. ``recipients=None`` means a broadcast."""

    actor: Ref
    verb: str
    target: Ref | None
    action_obj: Ref | None
    description: str | None
    extra: str | None  # JSON text
    timestamp: datetime
    recipients: list[Ref] | None
    public: bool = True


@dataclass
class ActionRecord:
    """An action as read back from storage."""

    id: Any
    actor: Ref
    verb: str
    target: Ref | None
    action_obj: Ref | None
    description: str | None
    extra: str | None
    timestamp: datetime
    broadcast: bool
    public: bool = True


@dataclass(frozen=True)
class Cursor:
    """A position in a newest-first list: what comes after it is older than (timestamp, id)."""

    timestamp: datetime
    id: Any


@dataclass(frozen=True)
class StreamFilter:
    """Which actions a stream holds: every given field must match.

    Visibility: with ``everything`` all of them; otherwise the public ones,
    plus, when a ``viewer`` is given, those it did or received.
    """

    actor: Ref | None = None
    target: Ref | None = None
    action_obj: Ref | None = None
    verb: str | None = None
    viewer: Ref | None = None
    everything: bool = False


# what deleting an action takes with it, as counted by Storage.delete_actions
REMOVED = ('actions', 'deliveries', 'dismissals', 'read_marks')


@dataclass
class SeenState:
    """What the package keeps per recipient: the seen and the read watermarks."""

    last_seen: datetime | None = None
    read_until: datetime | None = None


class Storage(ABC):
    """Schema-and-queries contract implemented once per database backend.

    "Visible to R" means: delivered to recipient R, or a broadcast whose actor
    is not R (nobody is notified of their own action).
    """

    #: the name of the backend, 'sqlalchemy' or 'ming'
    name: str

    @abstractmethod
    def ensure_schema(self) -> None:
        """Make sure indexes (Ming) exist; a no-op where the host creates tables."""

    @abstractmethod
    def insert_actions(self, actions: Sequence[NewAction]) -> list:
        """Write actions and their deliveries in bulk; return the new ids in order.

        Either everything is written or nothing is.
        """

    @abstractmethod
    def inbox(
        self, recipient: Ref, limit: int | None, offset: int, before: Cursor | None = None
    ) -> list[ActionRecord]:
        """Actions visible to ``recipient``, newest first (timestamp, then id).

        With ``before``, only those after that cursor.
        """

    @abstractmethod
    def delivered(self, recipient: Ref, limit: int) -> list[ActionRecord]:
        """The ``limit`` newest actions delivered to ``recipient`` (no broadcasts), newest first.

        One range of the deliveries' recipient index: notification feeds are rebuilt from it.
        """

    @abstractmethod
    def inbox_count(self, recipient: Ref, after: datetime | None = None) -> int:
        """How many actions visible to ``recipient`` are newer than ``after``."""

    @abstractmethod
    def stream(
        self, where: StreamFilter, limit: int | None, offset: int, before: Cursor | None = None
    ) -> list[ActionRecord]:
        """Actions matching ``where``, newest first, older than ``before``."""

    @abstractmethod
    def newest_public_by_actors(self, actors: Sequence[Ref], limit: int) -> list[ActionRecord]:
        """The ``limit`` newest public actions done by any of ``actors``, newest first.

        One statement, each actor read through its stream index (a few
        hundred actors at most: callers cut longer lists).
        """

    @abstractmethod
    def stream_count(self, where: StreamFilter) -> int:
        """How many actions match ``where``."""

    @abstractmethod
    def load_actions(self, action_ids: Iterable) -> list[ActionRecord]:
        """The actions of ``action_ids`` that exist, in any order: one query (feeds hydrate so)."""

    @abstractmethod
    def recipients_of(self, action_ids: Iterable) -> dict[Any, list[Ref]]:
        """The delivery recipients of each action (absent for broadcasts)."""

    @abstractmethod
    def visible(self, recipient: Ref, action_ids: Iterable) -> dict[Any, datetime]:
        """Of ``action_ids``, those visible to ``recipient``, with their timestamps."""

    @abstractmethod
    def seen_state(self, recipient: Ref) -> SeenState:
        """The stored watermarks of ``recipient`` (empty when never stored)."""

    @abstractmethod
    def advance_seen_state(
        self, recipient: Ref, field: str, until: datetime, expected: datetime | None
    ) -> bool:
        """Move watermark ``field`` of ``recipient`` to ``until``, atomically; True if moved.

        One conditional write: it moves only while the stored value is still
        ``expected`` (None: no value yet) and ``until`` is later, so two
        requests never undo each other's marks and each knows what it changed.
        """

    @abstractmethod
    def read_marks(self, recipient: Ref, action_ids: Iterable) -> set:
        """Of ``action_ids``, those ``recipient`` marked read one by one."""

    @abstractmethod
    def add_read_marks(self, recipient: Ref, marks: dict[Any, datetime]) -> set:
        """Insert read marks (id -> timestamp) for ``recipient``; return the ids this call added.

        Marks that exist already (a concurrent request) are skipped, not counted.
        """

    @abstractmethod
    def count_read_marks(self, recipient: Ref, after: datetime | None) -> int:
        """How many per-item read marks of ``recipient`` are newer than ``after``."""

    @abstractmethod
    def drop_read_marks(self, recipient: Ref, until: datetime) -> None:
        """Forget read marks at or before ``until`` (a watermark now covers them)."""

    @abstractmethod
    def delete_read_marks(self, recipient: Ref, action_ids: Iterable) -> int:
        """Forget the read marks of ``recipient`` on ``action_ids``; how many there were."""

    @abstractmethod
    def rewind_read_until(self, recipient: Ref, until: datetime | None, expected: datetime) -> bool:
        """Move the read-until watermark of ``recipient`` back to ``until``, atomically.

        Only while it is still ``expected`` (the one write that moves a
        watermark back: ``am.mark_unread``); True if moved.
        """

    @abstractmethod
    def dismiss(self, recipient: Ref, action_ids: Iterable) -> set:
        """Take ``action_ids`` out of the inbox of ``recipient``; return those this call took.

        A delivery moves to the dismissals (the inbox index never holds it
        again); a broadcast visible to ``recipient`` gets a dismissal that the
        inbox skips and its count subtracts. Others are left alone.
        """

    @abstractmethod
    def oldest_actions(self, before: datetime, after: Cursor | None, limit: int) -> list:
        """Up to ``limit`` actions older than ``before``, oldest first, after ``after``.

        Keyset order (timestamp, then id) through the timestamp index: a batch
        of a purge costs the same whatever the table's size.
        """

    @abstractmethod
    def hanging(self, action_ids: Sequence) -> dict[str, int]:
        """{kind: how many}: the rows :meth:`delete_actions` would delete (kinds of REMOVED)."""

    @abstractmethod
    def delete_actions(self, action_ids: Sequence) -> dict[str, int]:
        """Delete actions, their deliveries, dismissals and read marks: {kind: how many}.

        SQL: in the current transaction. MongoDB: read marks, dismissals and
        deliveries first, the actions last, so a crash in between leaves no
        inbox entry, count or read mark of a half-deleted action, only the
        action in its actor/target/object streams; deleting again ends it.
        """

    @abstractmethod
    def delete_recipient(self, recipient: Ref) -> dict[str, int]:
        """Delete what ``recipient`` received or kept: deliveries, dismissals, read marks, seen.

        {kind: how many}. Broadcasts stay (they are everyone's).
        """

    @abstractmethod
    def newest_visible(self, recipient: Ref) -> datetime | None:
        """The timestamp of the newest action visible to ``recipient``."""

    @abstractmethod
    def action_id(self, value: Any) -> Any:
        """The action id given as ``value`` (itself, or its text in a cursor or a URL).

        ValueError when it cannot be one of this storage's ids.
        """

    @abstractmethod
    def load_entities(self, cls: type, ids: list) -> list:
        """Host entities of mapped class ``cls`` whose primary keys are in ``ids``."""

    def load_entities_of(self, wanted: Mapping[type, list]) -> dict[type, list]:
        """:meth:`load_entities` of several classes, {class: [primary key]}: {class: entities}.

        One query per class here; a backend that reads them all in one
        overrides it (a page of notifications names users and posts together).
        """
        return {cls: self.load_entities(cls, ids) for cls, ids in wanted.items() if ids}

    def read_shown(
        self, wanted: Mapping[type, tuple[tuple[str, ...], list]]
    ) -> dict[type, list[tuple]] | None:
        """Attributes of host entities without building them, {class: (attribute names,
        [primary key])}: {class: [a tuple of the values, in the names' order, per entity found]}.

        None when this storage cannot read them all so, as many queries as
        :meth:`load_entities_of` would take: then they load as entities. Here, always None.
        """
        return None

    def held_entities(self, cls: type, keys: Iterable, names: Sequence[str]) -> dict[Any, Any]:
        """{key: entity} of the entities of ``cls`` the host's session holds already with
        attributes ``names`` loaded (a row shows them as the request holds them, changed or
        not; an expired one would be read again, a query each)."""
        return {}

    @abstractmethod
    def entity_attribute(self, entity: Any, attribute: str) -> Any:
        """The value of a host entity's attribute as the database has it now."""

    @abstractmethod
    def advance_entity_attribute(
        self, entity: Any, attribute: str, until: datetime, expected: Any
    ) -> bool:
        """Move a host entity's datetime attribute to ``until`` as :meth:`advance_seen_state` does.

        ``expected`` is the value :meth:`entity_attribute` read. The value is
        written as the column expects it (time-zone aware for a column declared
        with a time zone), and the loaded entity shows it without being dirtied.
        """

    @abstractmethod
    def forget(self) -> None:
        """End this thread's unit of work without writing: later reads see fresh data.

        For work done outside a request (an events stream after its request).
        """


class SubscriptionStorage(ABC):
    """Schema-and-queries contract of subscriptions.

    A subscription is a unique (subscriber, object) pair; lists of either side
    are newest first (subscription time, then reference).
    """

    @abstractmethod
    def subscribe(self, subscriber: Ref, obj: Ref, when: datetime) -> bool:
        """Store the pair unless it exists, also against a concurrent insert; True if stored."""

    @abstractmethod
    def unsubscribe(self, subscriber: Ref, obj: Ref) -> bool:
        """Delete the pair; True if it existed."""

    @abstractmethod
    def subscribed(self, subscriber: Ref, objs: Sequence[Ref]) -> set[Ref]:
        """Of ``objs``, those ``subscriber`` is subscribed to."""

    @abstractmethod
    def subscribers(self, obj: Ref, limit: int | None, offset: int) -> list[Ref]:
        """The subscribers of ``obj``, newest first."""

    @abstractmethod
    def subscriber_count(self, obj: Ref) -> int:
        """How many subscribers ``obj`` has."""

    @abstractmethod
    def subscriptions(self, subscriber: Ref, limit: int | None, offset: int) -> list[Ref]:
        """The objects ``subscriber`` is subscribed to, newest first."""

    @abstractmethod
    def subscription_count(self, subscriber: Ref) -> int:
        """How many objects ``subscriber`` is subscribed to."""

    @abstractmethod
    def delete_subscriptions(self, ref: Ref) -> int:
        """Delete the subscriptions of ``ref`` and those to it; how many."""

    @abstractmethod
    def after_commit(self, callback: Callable[[], None]) -> None:
        """Call ``callback()`` once the host's transaction has committed, never if not.

        Without a transaction manager (Ming) it runs at once.
        """

    @abstractmethod
    def commit(self) -> None:
        """Commit what was written so far, for scripts (a request commits by itself)."""


@dataclass
class NewDigestItem:
    """A notification held for a recipient's next digest (the ``digest`` channel)."""

    recipient: Ref
    kind: str
    verb: str
    actor: Ref | None
    target: Ref | None
    text: str
    timestamp: datetime  # the emit's

    def fields(self, now: datetime) -> dict:
        """The stored fields of the item, as both backends write them (but the id)."""
        return dict(
            recipient_type=self.recipient.type,
            recipient_id=self.recipient.id,
            kind=self.kind,
            verb=self.verb,
            actor_type=self.actor and self.actor.type,
            actor_id=self.actor and self.actor.id,
            target_type=self.target and self.target.type,
            target_id=self.target and self.target.id,
            text=self.text,
            timestamp=self.timestamp,
            created=now,
        )


@dataclass
class DigestItem(NewDigestItem):
    """A held notification as stored: ``created`` is when it was held."""

    id: Any = None
    created: datetime | None = None


class PreferenceStorage(ABC):
    """Schema-and-queries contract of notification preferences and digests.

    A preference is a recipient's channels for one kind, as text (``'email,web'``;
    ``''`` is off). Digest items wait per recipient, oldest first; a digest mark
    is the key of the last period a recipient was sent a digest for.
    """

    @abstractmethod
    def preferences(self, recipient: Ref) -> dict[str, str]:
        """{kind: channels} that ``recipient`` stored."""

    @abstractmethod
    def preferences_of(self, kind: str, recipients: Sequence[Ref]) -> dict[Ref, str]:
        """{recipient: channels} of ``kind`` of the ``recipients`` storing one: one query."""

    @abstractmethod
    def set_preference(self, recipient: Ref, kind: str, channels: str, when: datetime) -> None:
        """Store (insert or replace) the channels of ``recipient`` for ``kind``."""

    @abstractmethod
    def add_digest_items(self, items: Sequence[NewDigestItem], now: datetime) -> None:
        """Hold items for digests, in one bulk write."""

    @abstractmethod
    def digest_recipients(self, after: Ref | None, until: datetime, limit: int) -> list[Ref]:
        """Up to ``limit`` recipients holding items created at or before ``until``, after ``after``.

        In (type, id) order, each read through the digest index.
        """

    @abstractmethod
    def digest_items(self, recipient: Ref, until: datetime, limit: int) -> list[DigestItem]:
        """Up to ``limit`` items of ``recipient`` created at or before ``until``, oldest first."""

    @abstractmethod
    def delete_digest_items(self, ids: Sequence) -> int:
        """Delete held items (they were sent); how many."""

    @abstractmethod
    def digest_marks(self, recipients: Sequence[Ref], period: str) -> dict[Ref, str]:
        """{recipient: key of the last ``period`` sent} for those that have one: one query."""

    @abstractmethod
    def advance_digest_mark(
        self, recipient: Ref, period: str, key: str, expected: str | None, when: datetime
    ) -> bool:
        """Set the mark to ``key`` while it is still ``expected`` (None: none yet); True if set."""

    @abstractmethod
    def delete_preferences(self, recipient: Ref) -> int:
        """Delete the preferences of ``recipient`` (erasure); how many."""

    @abstractmethod
    def delete_digests(self, entity: Ref) -> dict[str, int]:
        """Delete the digest items held for ``entity``, of its doing or about it, and its marks.

        For erasure: an item's text, formatted when it was emitted, names its
        actor and its target. {'digest_items': how many, 'digest_marks': how
        many}. Items of its doing or about it are found by a scan: they live
        only until the next digest goes.
        """


# the outbox's queues, claimed in this order: a backlog of LOW work (say, the
# fan-out to inactive followers) never delays HIGH work (mails, live pushes)
PRIORITIES = ('high', 'low')


@dataclass
class NewJob:
    """Outbox work about to be written: a ``kind`` the runner knows and its JSON ``payload``.

    ``key``, when given, is unique: adding a job whose key exists adds nothing,
    so a step that is replayed after a crash does not queue its work twice.
    """

    kind: str
    payload: dict
    key: str | None = None
    available_at: datetime | None = None  # None: at once
    error: str | None = None  # queued because this failed already
    priority: str = 'high'  # one of PRIORITIES: the queue it waits in

    def fields(self, now: datetime, ready: bool) -> dict:
        """The stored fields of a new job, as both backends write them (but the id)."""
        if self.priority not in PRIORITIES:
            raise ValueError(f'priority must be one of {", ".join(PRIORITIES)}: {self.priority!r}')
        return dict(
            key=self.key,
            kind=self.kind,
            priority=self.priority,
            payload=json.dumps(self.payload, sort_keys=True),
            ready=ready,
            dead=False,
            attempts=0,
            available_at=self.available_at or now,
            owner=None,
            error=self.error,
            created=now,
        )


def given_back(available_at: datetime, payload: dict | None, error: str | None, dead: bool) -> dict:
    """The fields a rescheduled job gets, as both backends write them (None keeps a field)."""
    values = dict(available_at=available_at, dead=dead, owner=None)
    if payload is not None:
        values['payload'] = json.dumps(payload, sort_keys=True)
    if error is not None:
        values['error'] = error
    return values


@dataclass
class Job:
    """Outbox work as stored. A claimed job's ``available_at`` is the end of its lease."""

    id: Any
    kind: str
    payload: dict
    key: str | None
    attempts: int
    available_at: datetime
    dead: bool
    error: str | None
    created: datetime
    owner: str | None = None  # who holds its lease, while claimed
    priority: str = 'high'


class OutboxStorage(ABC):
    """Schema-and-queries contract of the outbox: work to do after the commit.

    A job is *pending* while not dead; it can be claimed when it is ready
    and its ``available_at`` has come. Claiming leases it to an owner by
    moving ``available_at`` to the lease's end: a worker that dies leaves a
    job that comes back by itself when the lease expires. Only the owner
    of a live lease finishes or reschedules it.
    """

    #: whether add_jobs and the caller's other writes commit together (SQL);
    #: where not (MongoDB), jobs are added not ready and marked ready after them
    transactional: bool

    @abstractmethod
    def transient(self, error: BaseException) -> bool:
        """Whether ``error`` says the database was busy or out of reach for a moment (a lock
        wait, a timeout, a lost connection), so that trying again later is all there is to
        do: the runner logs it in one line, without the traceback a defect deserves."""

    @abstractmethod
    def add_jobs(self, jobs: Sequence[NewJob], now: datetime, ready: bool = True) -> list:
        """Write jobs; return the ids of those written (a job whose key exists is skipped)."""

    @abstractmethod
    def mark_jobs_ready(self, ids: Sequence) -> None:
        """Make jobs added with ``ready=False`` claimable."""

    @abstractmethod
    def claim_jobs(
        self, owner: str, limit: int, now: datetime, lease_until: datetime, priority: str = 'high'
    ) -> list:
        """Lease up to ``limit`` claimable jobs of ``priority`` to ``owner`` (oldest first).

        ``attempts`` counts the claim. Two workers never get the same job
        while its lease runs (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, one
        atomic ``find_one_and_update`` per job on MongoDB).
        """

    @abstractmethod
    def finish_job(self, job_id: Any, owner: str) -> bool:
        """Delete a done job, if ``owner`` still holds it; True if deleted."""

    @abstractmethod
    def _update_held(self, job_id: Any, owner: str, values: dict) -> bool:
        """Set the columns (fields) ``values`` on a job if ``owner`` holds it; True if it did."""

    def renew_job(self, job_id: Any, owner: str, lease_until: datetime) -> bool:
        """Move the end of a held job's lease to ``lease_until``; True if ``owner`` held it.

        A job claimed in a batch renews its lease when its turn comes, so it
        gets a whole lease however long the jobs before it took.
        """
        return self._update_held(job_id, owner, {'available_at': lease_until})

    def checkpoint_job(self, job_id: Any, owner: str, payload: dict) -> bool:
        """Store what is left of a held job (``payload``), keeping the lease; True if held.

        Where writes are not transactional (MongoDB), a job that did part of
        its work says so before going on, so a replay after a crash skips it.
        """
        return self._update_held(job_id, owner, {'payload': json.dumps(payload, sort_keys=True)})

    def reschedule_job(
        self,
        job_id: Any,
        owner: str,
        available_at: datetime,
        payload: dict | None = None,
        error: str | None = None,
        dead: bool = False,
    ) -> bool:
        """Give a held job back: due at ``available_at``, with a new payload and error if given.

        ``dead`` keeps it as a dead letter, never claimed again until revived.
        True if ``owner`` still held it.
        """
        return self._update_held(job_id, owner, given_back(available_at, payload, error, dead))

    @abstractmethod
    def jobs(
        self, dead: bool | None, limit: int | None, kind: str | None = None, failed: bool = False
    ) -> list:
        """Jobs, oldest first: dead ones, pending ones (``dead=False``) or all (None).

        ``kind``: of that kind only; ``failed``: only those that failed once at least.
        """

    @abstractmethod
    def job_counts(self) -> dict:
        """{'pending': n, 'dead': n}."""

    @abstractmethod
    def revive_jobs(self, ids: Sequence | None, now: datetime) -> int:
        """Make dead jobs (those of ``ids``, or all) pending again, due now, attempts reset."""

    @abstractmethod
    def hasten_jobs(self, ids: Sequence | None, now: datetime) -> int:
        """Make failed jobs waiting out their backoff (of ``ids``, or all) due now.

        Attempts are kept; jobs under a lease are left alone.
        """

    @abstractmethod
    def purge_jobs(self, ids: Sequence | None) -> int:
        """Delete dead jobs (those of ``ids``, or all); pending work is never purged."""

    @abstractmethod
    def job_page(self, after: Any, limit: int) -> list:
        """Up to ``limit`` jobs, dead or not, whose id comes after ``after`` (None: the first)."""

    @abstractmethod
    def delete_jobs(self, ids: Sequence) -> int:
        """Delete the jobs of ``ids``, pending or dead; how many (a leased one's worker
        then fails to finish it, and what it wrote is rolled back on SQL)."""

    @abstractmethod
    def subscriber_page(self, obj: Ref, after: tuple | None, limit: int) -> list:
        """The next ``limit`` subscribers of ``obj`` after keyset position ``after``.

        Returns [(Ref, position)], newest subscription first; a position is a
        JSON-able tuple to pass back as ``after``. Memory stays one page.
        """

    @abstractmethod
    def unit_of_work(self) -> AbstractContextManager['Backend']:
        """A context manager giving a storage whose writes commit together when it exits.

        SQL: a session of its own, committed on success, rolled back on error
        (so a job's effects and its finishing commit together). MongoDB:
        this storage, writing at once.
        """


class Backend(Storage, SubscriptionStorage, OutboxStorage, PreferenceStorage):
    """Every contract at once: what a backend implements and ``model.storage()`` returns."""
