"""SQLAlchemy tables of activitystream.

These classes have their own declarative base: tgext.pluggable copies each
table into the host's metadata, so the host's ``gearbox setup-app`` (or
``metadata.create_all``) creates them. Referenced host entities are stored as
(type, id-as-string) pairs, so any primary key type works and no foreign key
to the host is needed.
"""

from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Unicode,
    UnicodeText,
    UniqueConstraint,
)
from sqlalchemy.orm import declarative_base
from sqlalchemy.sql import and_, false, true

from ..base import REF_PART_MAX
from .types import Timestamp

# Any: a base made at run time is no class to mypy (these are 1.x-style Column models)
DeclarativeBase: Any = declarative_base()

# SQLite only autoincrements an INTEGER PRIMARY KEY.
ActionId = BigInteger().with_variant(Integer(), 'sqlite')
RecipientKey = ActionId  # the same 64-bit integer key
TYPE_LEN = ID_LEN = REF_PART_MAX


class Action(DeclarativeBase):
    """One activity: ``actor verb [action_obj] [target]`` at ``timestamp``."""

    __tablename__ = 'activitystream_actions'

    id = Column(ActionId, primary_key=True, autoincrement=True)
    actor_type = Column(String(TYPE_LEN), nullable=False)
    actor_id = Column(String(ID_LEN), nullable=False)
    verb = Column(Unicode(255), nullable=False)
    target_type = Column(String(TYPE_LEN))
    target_id = Column(String(ID_LEN))
    action_obj_type = Column(String(TYPE_LEN))
    action_obj_id = Column(String(ID_LEN))
    description = Column(UnicodeText)
    extra = Column(UnicodeText)
    timestamp = Column(Timestamp, nullable=False)
    broadcast = Column(Boolean, nullable=False, default=False)
    # shown in the public streams (actor, target, object; AS2, Atom)
    public = Column(Boolean, nullable=False, default=True)

    # ``public`` closes each stream index: a public stream skips private rows
    # inside the index, in the index's own newest-first order
    __table_args__ = (
        Index('ix_activitystream_actions_actor', actor_type, actor_id, timestamp, id, public),
        Index('ix_activitystream_actions_target', target_type, target_id, timestamp, id, public),
        Index(
            'ix_activitystream_actions_obj', action_obj_type, action_obj_id, timestamp, id, public
        ),
        Index('ix_activitystream_actions_verb', verb, timestamp, id, public),
        # partial: the newest broadcasts, in an index as small as their number; the
        # actor is there to leave out a reader's own broadcasts without a table visit,
        # and ``broadcast`` for SQLite, which reads only an index that holds every column
        # a query names, the partial index's own condition included (revision 0008)
        Index(
            'ix_activitystream_actions_broadcast',
            timestamp,
            id,
            actor_type,
            actor_id,
            broadcast,
            postgresql_where=broadcast == true(),
            sqlite_where=broadcast == true(),
        ),
        Index('ix_activitystream_actions_timestamp', timestamp, id, public),
    )


class Recipient(DeclarativeBase):
    """A recipient's integer key: the deliveries name a recipient by it.

    The deliveries are the one table whose size grows with audiences (millions
    of rows), so each row carries eight bytes for its recipient instead of two
    strings, and its inbox index compares integers. A row is added the first
    time something is delivered to a recipient (on PostgreSQL committed at
    once, whatever becomes of that delivery) and never deleted or changed
    (erasing a recipient deletes what was delivered to it, not its key), so a
    key once read stays right for as long as the database lives.
    """

    __tablename__ = 'activitystream_recipients'

    id = Column(RecipientKey, primary_key=True, autoincrement=True)
    recipient_type = Column(String(TYPE_LEN), nullable=False)
    recipient_id = Column(String(ID_LEN), nullable=False)

    __table_args__ = (
        UniqueConstraint(recipient_type, recipient_id, name='uq_activitystream_recipients_ref'),
    )


class Delivery(DeclarativeBase):
    """One row per (action, recipient), with a copy of the action's timestamp.

    The primary key is the inbox order itself, (recipient, timestamp,
    action): "latest N for R" and "how many since T for R" are range scans
    of it, and a write to N recipients maintains one narrow index, not two.
    It is unique exactly when (action, recipient) is, the timestamp being the
    action's. The recipient is its integer key in ``activitystream_recipients``.
    No foreign keys: the package is the only writer, and a check per delivered
    row would slow the fan-out.
    """

    __tablename__ = 'activitystream_deliveries'

    recipient_key = Column(RecipientKey, nullable=False)
    timestamp = Column(Timestamp, nullable=False)
    action_id = Column(ActionId, nullable=False)

    __table_args__ = (
        PrimaryKeyConstraint(
            recipient_key, timestamp, action_id, name='pk_activitystream_deliveries'
        ),
        Index('ix_activitystream_deliveries_action', action_id),
        {'sqlite_with_rowid': False},
    )


class SeenState(DeclarativeBase):
    """Watermarks per recipient: last seen (unless the host keeps it) and read-until."""

    __tablename__ = 'activitystream_seen'

    recipient_type = Column(String(TYPE_LEN), primary_key=True)
    recipient_id = Column(String(ID_LEN), primary_key=True)
    last_seen = Column(Timestamp)
    read_until = Column(Timestamp)


class ReadMark(DeclarativeBase):
    """One action read by one recipient after its read-until watermark."""

    __tablename__ = 'activitystream_reads'

    recipient_type = Column(String(TYPE_LEN), primary_key=True)
    recipient_id = Column(String(ID_LEN), primary_key=True)
    # the column, not its name: a copy renamed by rename_tables follows the table
    action_id = Column(ActionId, ForeignKey(Action.id, ondelete='CASCADE'), primary_key=True)
    timestamp = Column(Timestamp, nullable=False)

    __table_args__ = (
        Index('ix_activitystream_reads_time', recipient_type, recipient_id, timestamp),
        # deleting actions (purge, delete, erase) finds their marks here; without it, the
        # foreign key's cascade scanned the whole table once per deleted action
        Index('ix_activitystream_reads_action', action_id),
    )


class Dismissal(DeclarativeBase):
    """An action one recipient took out of its inbox (``am.dismiss``); others keep it.

    A dismissed delivery is moved here from ``activitystream_deliveries``, so
    the inbox index never holds it; a dismissed broadcast (which has no
    delivery) gets a row with ``broadcast`` true, which the inbox count
    subtracts with one range of the primary key and the inbox page skips.
    """

    __tablename__ = 'activitystream_dismissals'

    recipient_type = Column(String(TYPE_LEN), nullable=False)
    recipient_id = Column(String(ID_LEN), nullable=False)
    broadcast = Column(Boolean, nullable=False)
    timestamp = Column(Timestamp, nullable=False)
    action_id = Column(ActionId, nullable=False)

    __table_args__ = (
        PrimaryKeyConstraint(
            recipient_type,
            recipient_id,
            broadcast,
            timestamp,
            action_id,
            name='pk_activitystream_dismissals',
        ),
        Index('ix_activitystream_dismissals_action', action_id),
        {'sqlite_with_rowid': False},
    )


class Subscription(DeclarativeBase):
    """A subscriber (any host entity) subscribed to an object (any host entity).

    The primary key makes a pair unique; the two indexes read either side
    newest first without touching the table.
    """

    __tablename__ = 'activitystream_subscriptions'

    subscriber_type = Column(String(TYPE_LEN), primary_key=True)
    subscriber_id = Column(String(ID_LEN), primary_key=True)
    object_type = Column(String(TYPE_LEN), primary_key=True)
    object_id = Column(String(ID_LEN), primary_key=True)
    created = Column(Timestamp, nullable=False)

    __table_args__ = (
        Index(
            'ix_activitystream_subscriptions_object',
            object_type,
            object_id,
            created,
            subscriber_type,
            subscriber_id,
        ),
        Index(
            'ix_activitystream_subscriptions_subscriber',
            subscriber_type,
            subscriber_id,
            created,
            object_type,
            object_id,
        ),
    )


class OutboxJob(DeclarativeBase):
    """Work to do after the commit (see ``OutboxStorage``): a kind, its JSON payload, a lease.

    ``available_at`` is when the job is due, or, while claimed, when the lease
    of ``owner`` ends.
    """

    __tablename__ = 'activitystream_outbox'

    id = Column(ActionId, primary_key=True, autoincrement=True)
    key = Column(String(255))
    kind = Column(String(64), nullable=False)
    priority = Column(String(8), nullable=False, default='high')
    payload = Column(UnicodeText, nullable=False)
    ready = Column(Boolean, nullable=False)
    dead = Column(Boolean, nullable=False, default=False)
    attempts = Column(Integer, nullable=False, default=0)
    available_at = Column(Timestamp, nullable=False)
    owner = Column(String(64))
    error = Column(UnicodeText)
    created = Column(Timestamp, nullable=False)

    __table_args__ = (
        # an index, not a constraint: its name follows rename_tables like the others
        Index('ix_activitystream_outbox_key', key, unique=True),
        # partial: only claimable work, per queue, in the order it is claimed
        Index(
            'ix_activitystream_outbox_due',
            priority,
            available_at,
            id,
            postgresql_where=and_(ready == true(), dead == false()),
            sqlite_where=and_(ready == true(), dead == false()),
        ),
    )


class Preference(DeclarativeBase):
    """A recipient's channels for one notification kind (``'email,web'``; ``''``: off).

    The primary key reads one recipient's preferences, or one kind for a page
    of recipients (a deliver job's), as ranges of it.
    """

    __tablename__ = 'activitystream_preferences'

    recipient_type = Column(String(TYPE_LEN), primary_key=True)
    recipient_id = Column(String(ID_LEN), primary_key=True)
    kind = Column(Unicode(255), primary_key=True)
    channels = Column(String(64), nullable=False)
    updated = Column(Timestamp, nullable=False)


class DigestItem(DeclarativeBase):
    """A notification held for a recipient's next digest."""

    __tablename__ = 'activitystream_digest_items'

    id = Column(ActionId, primary_key=True, autoincrement=True)
    recipient_type = Column(String(TYPE_LEN), nullable=False)
    recipient_id = Column(String(ID_LEN), nullable=False)
    kind = Column(Unicode(255), nullable=False)
    verb = Column(Unicode(255), nullable=False)
    actor_type = Column(String(TYPE_LEN))
    actor_id = Column(String(ID_LEN))
    target_type = Column(String(TYPE_LEN))
    target_id = Column(String(ID_LEN))
    text = Column(UnicodeText, nullable=False)
    timestamp = Column(Timestamp, nullable=False)
    created = Column(Timestamp, nullable=False)

    __table_args__ = (
        Index(
            'ix_activitystream_digest_items_recipient', recipient_type, recipient_id, created, id
        ),
    )


class DigestMark(DeclarativeBase):
    """The key of the last period (``2024-05-03``, ``2024-W18``) a recipient got a digest for."""

    __tablename__ = 'activitystream_digest_marks'

    recipient_type = Column(String(TYPE_LEN), primary_key=True)
    recipient_id = Column(String(ID_LEN), primary_key=True)
    period = Column(String(16), primary_key=True)
    last_key = Column(String(32), nullable=False)
    sent = Column(Timestamp, nullable=False)


MODELS = (
    Action,
    Recipient,
    Delivery,
    SeenState,
    ReadMark,
    Dismissal,
    Subscription,
    OutboxJob,
    Preference,
    DigestItem,
    DigestMark,
)
