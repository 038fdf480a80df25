"""The storage contract: what a backend must answer, in plain value types.

A backend (``storage.sqla``, ``storage.ming``) implements :class:`Storage` with
schema and queries only. Validation, reference resolution, seen/read logic and
rendering live above this line, once, in ``manager.py`` and friends.

All datetimes crossing this line are naive UTC with millisecond precision
(MongoDB keeps milliseconds, so both backends are held to that).
"""

from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True, order=True)
class Ref:
    """A host entity as stored: its class name and its primary key as a string."""

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


@dataclass(frozen=True)
class Cursor:
    """A position in a newest-first list: what comes after it is older than (timestamp, id)."""

    timestamp: datetime
    id: Any


@dataclass(frozen=True)
class StreamFilter:
    """Which actions a stream holds: every given field must match."""

    actor: Ref | None = None
    target: Ref | None = None
    action_obj: Ref | None = None
    verb: str | None = None


@dataclass
class SeenState:
    """What the package keeps per recipient: the seen and the read watermarks."""

    last_seen: datetime | None = None
    read_until: datetime | None = None


class Storage(ABC):
    """Schema-and-queries contract implemented once per database backend.

    "Visible to R" means: delivered to recipient R, or a broadcast.
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
    def inbox_count(self, recipient: Ref, after: datetime | None = None) -> int:
        """How many actions visible to ``recipient`` are newer than ``after``."""

    @abstractmethod
    def stream(
        self, where: StreamFilter, limit: int | None, offset: int, before: Cursor | None = None
    ) -> list[ActionRecord]:
        """Actions matching ``where``, newest first, older than ``before``."""

    @abstractmethod
    def stream_count(self, where: StreamFilter) -> int:
        """How many actions match ``where``."""

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
    def save_seen_state(self, recipient: Ref, state: SeenState) -> None:
        """Insert or replace the watermarks of ``recipient``."""

    @abstractmethod
    def read_marks(self, recipient: Ref, action_ids: Iterable) -> set:
        """Of ``action_ids``, those ``recipient`` marked read one by one."""

    @abstractmethod
    def add_read_marks(self, recipient: Ref, marks: dict[Any, datetime]) -> None:
        """Insert read marks (id -> timestamp) for ``recipient``; none of them exists yet."""

    @abstractmethod
    def count_read_marks(self, recipient: Ref, after: datetime | None) -> int:
        """How many per-item read marks of ``recipient`` are newer than ``after``."""

    @abstractmethod
    def drop_read_marks(self, recipient: Ref, until: datetime) -> None:
        """Forget read marks at or before ``until`` (a watermark now covers them)."""

    @abstractmethod
    def newest_visible(self, recipient: Ref) -> datetime | None:
        """The timestamp of the newest action visible to ``recipient``."""

    @abstractmethod
    def action_id(self, text: str) -> Any:
        """The action id written as ``text`` (in a cursor); ValueError when it is none."""

    @abstractmethod
    def load_entities(self, cls: type, ids: list) -> list:
        """Host entities of mapped class ``cls`` whose primary keys are in ``ids``."""

    @abstractmethod
    def flush_entity(self, entity: Any) -> None:
        """Persist a change made to a host entity's attribute, as the backend needs."""
